/* Taking the GPU lock for a process: the policy around the primitive, shared
 * by the preload (at the first GPU call) and gpulock run --eager (before the
 * command starts). It honours the escape hatches and an ancestor's lock,
 * announces a wait once on stderr with who holds the lock, and applies the
 * timeout and error policies. The lock key (the path) and the acquisition
 * point are parameters; nothing here knows about CUDA. */
#ifndef GL_GPU_H
#define GL_GPU_H

#include "gl_lock_settings.h"

#include <stddef.h>

enum gl_gpu_result {
	GL_GPU_LOCKED,    /* we hold the lock now, until the process exits */
	GL_GPU_SKIPPED,   /* PSRUN_SKIP_GPU_LOCK / GPU_SKIP_LOCK */
	GL_GPU_NESTED,    /* held for our process tree (an ancestor, GPU_LOCK_HELD) */
	GL_GPU_UNLOCKED,  /* no lock, by the user's GPU_LOCK_ON_TIMEOUT/ON_ERROR=run */
	GL_GPU_TIMED_OUT, /* GPU_LOCK_TIMEOUT passed (fail policy) */
	GL_GPU_FAILED,    /* the lock file is unusable (fail policy) */
	GL_GPU_INTERRUPTED, /* a stop signal ended the wait (cfg->interruptible) */
};

/* Takes the lock as cfg says. point names who asks ("cuInit"), for messages.
 * Pass *fd = -1. *fd is set as soon as the file is open, so that a child
 * forked in the middle of the wait inherits it: called again in the child
 * with that fd, it waits on the same open file description, and parent and
 * child then share the lock. On return *fd is the held lock's fd
 * (close-on-exec) for GL_GPU_LOCKED, and -1 otherwise.
 * When the lock is taken or found held for our tree, GPU_LOCK_HELD is set in
 * our environment for the processes we start. */
enum gl_gpu_result gl_gpu_lock_take(const struct gl_lock_settings *cfg, const char *point,
                                    int *fd);

/* True when the process may go on to use the GPU. */
static inline int gl_gpu_result_ok(enum gl_gpu_result r)
{
	return r != GL_GPU_TIMED_OUT && r != GL_GPU_FAILED && r != GL_GPU_INTERRUPTED;
}

#endif
