/* Taking the GPU lock for a process: the policy around the primitive, shared
 * by the preload (at the first GPU call) and gpulock run --eager (before the
 * command starts). It honours the escape hatches and an ancestor's lock,
 * announces a wait once on stderr with who holds the lock, and applies the
 * timeout and error policies. The lock key (the path) and the acquisition
 * point are parameters.
 *
 * Which locks: a process that will see every GPU (CUDA_VISIBLE_DEVICES
 * unset, or naming them all) takes the whole-machine lock, the lock file
 * itself, exclusive, as the original tools do. One that will see some of
 * them takes the lock of each of its GPUs (a file named by the GPU's UUID in
 * cfg->gpu_dir) exclusive, in the order of their UUIDs, so that two such
 * processes cannot deadlock, and then the whole-machine lock shared: while
 * it waits for a GPU it does not hold the machine. A waiting whole-machine
 * request goes before later ones for some GPUs: flock(2) itself would let
 * shared holders in ahead of it for ever. */
#ifndef GL_GPU_H
#define GL_GPU_H

#include "gl_lock_settings.h"

#include <stdbool.h>
#include <stddef.h>

enum gl_gpu_result {
	GL_GPU_LOCKED,    /* we hold the lock now, until the process exits */
	GL_GPU_SKIPPED,   /* PSRUN_SKIP_GPU_LOCK / GPU_SKIP_LOCK */
	GL_GPU_NESTED,    /* held for our process tree (an ancestor, GPU_LOCK_HELD) */
	GL_GPU_UNLOCKED,  /* no lock, by the user's GPU_LOCK_ON_TIMEOUT/ON_ERROR=run */
	GL_GPU_TIMED_OUT, /* GPU_LOCK_TIMEOUT passed (fail policy) */
	GL_GPU_FAILED,    /* the lock file is unusable (fail policy) */
	GL_GPU_INTERRUPTED, /* a stop signal ended the wait (cfg->interruptible) */
	GL_GPU_NO_GPU,    /* CUDA_VISIBLE_DEVICES leaves no GPU visible: nothing to lock */
};

/* The locks a process holds (or is taking). Zero it and set fd and
 * job_fd to -1 (GL_GPU_HOLD_INIT). */
#define GL_GPU_HOLD_INIT {.fd = -1, .job_fd = -1}
struct gl_gpu_hold {
	int fd;        /* the whole-machine lock: exclusive, or shared when n > 0 */
	unsigned n;    /* per-GPU locks in gpu_fds, exclusive */
	int *gpu_fds;  /* malloc'd on the first take of some GPUs; -1 where not open */
	int job_fd;    /* a rank's membership of its job (gl_job.h), held shared; -1 */
};

/* Close everything h holds: its locks are let go unless another process
 * shares them (a fork). */
void gl_gpu_hold_close(struct gl_gpu_hold *h);

/* Set or clear close-on-exec on every fd of h: 0 or -errno. */
int gl_gpu_hold_inherit(struct gl_gpu_hold *h, bool across_exec);

/* Takes the locks as cfg says. point names who asks ("cuInit"), for
 * messages. Pass a zeroed h with h->fd = -1. Its fds are set as soon as the
 * files are open, so that a child forked in the middle of the wait inherits
 * them: called again in the child with that h, it waits on the same open
 * file descriptions, and parent and child then share the locks. On return h
 * holds the locks (close-on-exec) for GL_GPU_LOCKED, and nothing otherwise.
 * When the locks are taken or found held for our tree, GPU_LOCK_HELD is set
 * in our environment for the processes we start. */
enum gl_gpu_result gl_gpu_lock_take(const struct gl_lock_settings *cfg, const char *point,
                                    struct gl_gpu_hold *h);

/* True when the process may go on to use the GPU. */
static inline int gl_gpu_result_ok(enum gl_gpu_result r)
{
	return r != GL_GPU_TIMED_OUT && r != GL_GPU_FAILED && r != GL_GPU_INTERRUPTED;
}

#endif
