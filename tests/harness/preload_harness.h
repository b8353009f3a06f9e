/* Running real processes for the integration tests: spawn with a clean test
 * environment, talk through pipes, and synchronise on lock states read from
 * /proc/locks rather than on sleeps. */
#ifndef GL_PRELOAD_HARNESS_H
#define GL_PRELOAD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "procs.h"

extern char h_dir[];   /* a fresh directory per test */
extern char h_lock[];  /* h_dir/gpu.lock, exported as GPU_LOCK_PATH */
extern char h_trace[]; /* h_dir/trace, exported as FAKE_CUDA_TRACE */

/* A fresh h_dir in the test program's temporary directory (see procs.h),
 * removed with it. */
void h_setup(void);
/* For a test that runs programs as nobody, after h_setup: true when it
 * can (it runs as root and nobody reaches h_dir); otherwise the test is
 * reported skipped, saying why, and returns. */
bool h_need_nobody(const char *test);
/* Become nobody for the rest of this test process (Check's fork mode gives
 * each test its own). The preload, the fake driver and the programs the
 * GL_* variables name are copied into h_dir first, since nobody may not
 * reach the build tree (a clone in a 0700 home); h_artifact and h_spawn
 * use the copies from then on. */
void h_become_nobody(void);
/* A built artifact, from the environment meson test sets (e.g. GL_CLIENT_PLT). */
const char *h_artifact(const char *var);

/* Spawn argv with the test environment plus extra "NAME=value" entries
 * (NULL-terminated, may be NULL); LD_PRELOAD gets our library if preload. */
void h_spawn(struct tp_proc *c, const char *const argv[], const char *const extra[], bool preload);
/* Spawn, wait, and collect stdout/stderr. Returns the exit status. */
int h_run(const char *const argv[], const char *const extra[], bool preload, char **out, char **err);

/* Start a preloaded client that takes the GPU lock and holds it until its
 * stdin closes; returns once it holds the lock. */
void h_start_gpu_holder(struct tp_proc *c);

/* Wait until pid (0: anyone) holds, or pid waits for, the lock at path. */
void h_wait_holder(const char *path, pid_t pid);
void h_wait_waiter(const char *path, pid_t pid);

#endif
