/* Giving a test's processes a machine with any set of GPUs, with no test
 * switch in the code under test. As root, the test process moves into a
 * mount namespace of its own and mounts a tmpfs over /proc/driver holding
 * nvidia/gpus/<bus id>/information files, as the kernel module writes them;
 * every process it starts then sees them. Otherwise, where the machine has
 * no /proc/driver/nvidia/gpus, the fake NVML library of the fixtures
 * (libnvidia-ml.so.1, which the preload finds through LD_LIBRARY_PATH)
 * lists them, from GL_FAKE_NVML_GPUS. Check's fork mode gives each test a
 * process of its own, so neither outlives the test. */
#ifndef GL_FAKE_GPUS_H
#define GL_FAKE_GPUS_H

#include <stdbool.h>

/* GPU i of the n is at PCI address 0000:(0x18+i):00.0 and has the UUID
 * fake_gpu_uuid(i): the UUIDs sort in the opposite order to the addresses,
 * so that a test can tell the two orders apart. models[i] (NULL: all
 * "NVIDIA H100 80GB HBM3"). Returns false, having reported the test
 * skipped, where neither way is open. */
bool fake_gpus(const char *test, unsigned n, const char *const *models);

/* After fake_gpus with the same n and models: NVML (the fake) tells each
 * GPU's memory, used_mib[i] of total_mib[i] MiB, whichever way the GPUs
 * were given (NVML finds them by UUID). */
void fake_gpus_memory(unsigned n, const char *const *models, const unsigned *used_mib,
                      const unsigned *total_mib);

/* "GPU-f0000000-d72c-4106-c12f-20bd9faed9f6" for i = 0, "GPU-e1..." for 1 */
const char *fake_gpu_uuid(unsigned i);

/* The lock file of GPU i for the lock path lock (its .d directory). */
const char *fake_gpu_lock(const char *lock, unsigned i);

/* How the GPUs were given: "proc" or "nvml". */
const char *fake_gpus_source(void);

#endif
