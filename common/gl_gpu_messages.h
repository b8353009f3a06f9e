/* What a waiter for the GPU lock is told: who holds it, and where the waiter
 * stands among the others. Shared by the preload and gpulock wait. */
#ifndef GL_GPU_MESSAGES_H
#define GL_GPU_MESSAGES_H

#include <stddef.h>

/* Who holds the lock on fd's file: "by pid 123 (python train.py) for 2m03s".
 * The process named holds the lock now: the one that took it, or the one
 * that inherited it (gl_proc_flock_holder). */
void gl_gpu_describe_holder(int fd, char *buf, size_t len);

/* The reminder of a long wait for the lock on fd (at the times gl_wait
 * sets): "pid N still waiting for WHAT PATH after 5m00s (number 2 of 3
 * waiting); held by pid M (cmd) for 1h02m", WHAT being "the GPU lock" or
 * "the lock of GPU 2". */
void gl_gpu_remind(const char *what, const char *path, int fd, double waited);

/* When the holder of the lock on fd is a sibling of ours (started by our
 * own parent), the hint that it may be a rank of the same job, which the
 * waiting line gives: "; pid N was started by ...". "" otherwise. */
void gl_gpu_sibling_hint(int fd, char *buf, size_t len);

#endif
