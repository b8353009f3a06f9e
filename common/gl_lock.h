/* The lock primitive: an exclusive flock(2) on a whole file, as util-linux
 * flock(1), the original gpu_run.sh and Python's fcntl.flock take it, so all
 * of them exclude each other. The waiting itself is gl_wait's. */
#ifndef GL_LOCK_H
#define GL_LOCK_H

#include "gl_wait.h"

#include <stdbool.h>

/* Called once, just before blocking, when the lock is busy. */
typedef void (*gl_lock_wait_fn)(int fd, void *arg);

/* Take an exclusive flock on fd: one try, and when the lock is busy,
 * on_wait (may be NULL) and then the wait w describes (NULL: do not wait).
 * The wait is event-driven: the kernel wakes us when the holder releases,
 * there is no polling. Returns 0 (locked), -ETIMEDOUT (busy, and no wait
 * or its deadline passed), -EINTR (w->signal ended it), or -errno.
 * *waited tells whether the lock was busy at first. */
int gl_lock_acquire(int fd, struct gl_wait *w, gl_lock_wait_fn on_wait, void *arg, bool *waited);

/* Wait until nobody holds the lock exclusively, without keeping it: takes a
 * shared lock (one try, then the wait w describes; NULL: do not wait) and
 * drops it. 0, -ETIMEDOUT or -errno. */
int gl_lock_wait_until_free(int fd, struct gl_wait *w);

/* Is the file's lock taken by anyone? 1 yes, 0 no, -errno. Opens its own
 * description, so it sees locks held through fd as well. */
int gl_lock_is_held(const char *path);

#endif
