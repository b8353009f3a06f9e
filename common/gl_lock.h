/* The lock primitive: an exclusive flock(2) on a whole file, as util-linux
 * flock(1), the original gpu_run.sh and Python's fcntl.flock take it, so all
 * of them exclude each other. */
#ifndef GL_LOCK_H
#define GL_LOCK_H

#include <stdbool.h>

#define GL_WAIT_FOREVER (-1.0)

/* Called once, just before blocking, when the lock is busy. */
typedef void (*gl_lock_wait_fn)(int fd, void *arg);

/* Take an exclusive flock on fd. timeout: seconds to wait, 0 to try once,
 * GL_WAIT_FOREVER (< 0) to wait as long as it takes. The wait is event-driven:
 * the kernel wakes us when the holder releases, there is no polling.
 * Returns 0 (locked), -ETIMEDOUT, or -errno. *waited tells whether the lock
 * was busy at first. No signal dispositions or masks of the caller change. */
int gl_lock_acquire(int fd, double timeout, gl_lock_wait_fn on_wait, void *arg, bool *waited);

/* Wait until nobody holds the lock exclusively, without keeping it: takes a
 * shared lock (bounded as above) and drops it. 0, -ETIMEDOUT or -errno. */
int gl_lock_wait_free(int fd, double timeout);

/* Is the file's lock taken by anyone? 1 yes, 0 no, -errno. Opens its own
 * description, so it sees locks held through fd as well. */
int gl_lock_is_held(const char *path);

#endif
