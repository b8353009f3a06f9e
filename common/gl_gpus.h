/* The machine's GPUs, found without CUDA: no cuInit, no device opened, so
 * that a process pays for discovery only once it uses the GPU, and gpulock
 * can list GPUs that are busy. And which of them a process will see, from
 * CUDA_VISIBLE_DEVICES, parsed as CUDA parses it.
 *
 * The source is the kernel module's /proc/driver/nvidia/gpus/<bus id>/
 * information, one directory per GPU; where that is missing (WSL2, some
 * containers) NVML, through dlopen("libnvidia-ml.so.1"), which creates no
 * CUDA context. Where neither is there, the list is empty and gpulock keeps
 * one lock for the whole machine. */
#ifndef GL_GPUS_H
#define GL_GPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_GPUS_MAX 64                /* the width of a gl_gpu_set */
#define GL_GPUS_PROC_DIR "/proc/driver/nvidia/gpus"
#define GL_GPU_UUID_LEN 64            /* "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6" is 40 */

struct gl_gpu {
	char uuid[GL_GPU_UUID_LEN]; /* "GPU-...", lower case as the driver prints it;
	                             * "" when the board has none (failed to start) */
	char bus[20];               /* PCI address, normalised: "0000:3b:00.0"; room
	                             * for NVML's 8-digit domain */
	char model[96];             /* "NVIDIA H100 80GB HBM3"; "" unknown */
	int minor;                  /* /dev/nvidiaN; -1 unknown (older drivers) */
};

enum gl_gpus_source { GL_GPUS_NONE, GL_GPUS_PROC, GL_GPUS_NVML };

/* In PCI bus order, excluded GPUs left out. */
struct gl_gpu_list {
	enum gl_gpus_source source;
	unsigned n;
	struct gl_gpu gpu[GL_GPUS_MAX];
};

/* A set of GPUs: bit i is list->gpu[i]. */
typedef uint64_t gl_gpu_set;

/* The PCI address in the one form compared here: a 4-digit domain (more
 * digits when it needs them), lower case hex, "dddd:bb:dd.f". NVML and
 * nvidia-smi print "00000000:3B:00.0". false for what is not an address,
 * or does not fit in len, and out is then left as it was. */
bool gl_gpu_bus_normalise(const char *in, char *out, size_t len);

/* Parses the text of one information file into g. *excluded: "GPU Excluded:
 * Yes". A "GPU UUID: GPU-????????-..." (a board that failed to initialise)
 * leaves g->uuid empty; no "Device Minor" (older drivers), g->minor -1;
 * no valid "Bus Location", g->bus empty. false when the text names no GPU
 * at all (no Model, GPU UUID or valid Bus Location). */
bool gl_gpu_parse_information(const char *text, struct gl_gpu *g, bool *excluded);

/* Reads every <bus id>/information under dir (GL_GPUS_PROC_DIR), with
 * open, read and getdents64 only (it runs inside any program at its first
 * GPU call). The address is Bus Location's, else the directory's name; an
 * entry with neither, or no readable information file, is not a GPU. 0, or
 * -ENOENT when dir is missing, or -errno (and out->n 0). Past GL_GPUS_MAX,
 * the GPUs of the highest addresses are left out. */
int gl_gpus_from_proc(const char *dir, struct gl_gpu_list *out);

/* The same through NVML: 0, -ENOENT when libnvidia-ml.so.1 cannot be
 * loaded (or lacks a function used here), -EIO when NVML fails to start or
 * count. A GPU whose handle or PCI address NVML will not give is left out;
 * minor is -1 (NVML is asked only for UUID, PCI address and name). */
int gl_gpus_from_nvml(struct gl_gpu_list *out);

/* Memory in use and in all, in bytes, of each GPU of list (used[i] and
 * total[i] for list->gpu[i]; both 0 where NVML does not say, or the GPU has
 * no UUID), through NVML, for gpulock status. 0, -ENOENT as
 * gl_gpus_from_nvml, -EIO when NVML fails to start. */
int gl_gpus_memory(const struct gl_gpu_list *list, unsigned long long *used,
                   unsigned long long *total);

/* /proc, then NVML where /proc lists no GPU; out->n == 0 and GL_GPUS_NONE
 * when neither lists one. */
void gl_gpus_find(struct gl_gpu_list *out);

/* Index in list of the GPU with this UUID (compared without regard to
 * case), -1 when none or uuid is "". */
int gl_gpus_index(const struct gl_gpu_list *list, const char *uuid);

/* What a process with CUDA_VISIBLE_DEVICES = cvd will see, as CUDA decides
 * at cuInit. */
enum gl_visible {
	GL_VISIBLE_ALL,     /* every GPU: the whole-machine lock */
	GL_VISIBLE_NONE,    /* no GPU at all */
	GL_VISIBLE_SOME,    /* the GPUs in set, fewer than all */
	GL_VISIBLE_MACHINE, /* cannot tell which: the whole-machine lock, *why says why */
};

/* cvd: NULL when unset. *set: the GPUs to lock: every GPU of the list for
 * ALL and MACHINE, none for NONE. pci_order: CUDA_DEVICE_ORDER=PCI_BUS_ID,
 * without which CUDA numbers GPUs fastest first; indices are mapped through
 * PCI order only then, or when every GPU is the same (known) model, and are
 * GL_VISIBLE_MACHINE otherwise (unless the same index comes twice: NONE).
 * Entries: an index (digits only), "GPU-" and a UUID or a unique prefix of
 * one (hex compared without regard to case; a GPU without a UUID can be
 * named only by index), "MIG-...". An empty list
 * means one lock for the machine: GL_VISIBLE_ALL, whatever cvd says.
 * The list is read as CUDA reads it: it ends at the first entry that is
 * not valid (an index out of range, an unknown or ambiguous UUID prefix),
 * and an entry named twice leaves no GPU visible. MIG-... entries:
 * GL_VISIBLE_MACHINE. A set of every GPU is GL_VISIBLE_ALL. */
enum gl_visible gl_gpus_visible(const struct gl_gpu_list *list, const char *cvd, bool pci_order,
                                gl_gpu_set *set, const char **why);

#endif
