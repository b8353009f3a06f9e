/* What /proc says about lock holders: /proc/locks for who holds and who waits
 * on a file, /proc/PID for what they are. Used for wait announcements and by
 * gpulock status. Processes may vanish at any moment: every reader copes. */
#ifndef GL_PROC_H
#define GL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gl_lock_entry {
	pid_t pid;      /* as /proc/locks shows it; may be <= 0 in another pid namespace */
	bool waiting;   /* a "->" line: blocked on the lock, not holding it */
	bool exclusive; /* WRITE, as opposed to READ (LOCK_SH) */
	bool is_flock;  /* FLOCK, as opposed to POSIX or OFDLCK */
	unsigned maj, min;
	unsigned long long ino;
};

/* Read a small file (of /proc, /sys) into buf, NUL-terminated, at most
 * len - 1 bytes. Returns the length or -errno. */
ssize_t gl_read_small(const char *path, char *buf, size_t len);

/* Parse one line of /proc/locks. Returns 0 or -EINVAL. */
int gl_proc_locks_parse_line(const char *line, struct gl_lock_entry *e);

/* Calls visit for every flock entry of the locks table at path. Returns 0 or
 * -errno. */
typedef void (*gl_lock_visit_fn)(const struct gl_lock_entry *e, void *arg);
int gl_proc_locks_scan(const char *path, gl_lock_visit_fn visit, void *arg);

/* The flock entries of file (dev, ino) from the locks table at path (normally
 * /proc/locks): holders first, then waiters in the order the kernel lists
 * them. Fills at most cap entries; *total counts all. Returns 0 or -errno. */
int gl_proc_locks_find(const char *path, dev_t dev, unsigned long long ino,
                       struct gl_lock_entry *out, size_t cap, size_t *total);

/* The same, for a file that is likely held: the kernel produces /proc/locks a
 * page per read(2), taking its locks anew for each, so when locks come and
 * go between two pages a line can be skipped. A read that shows no holder is
 * taken again, up to 3 reads in all. */
int gl_proc_locks_find_held(const char *path, dev_t dev, unsigned long long ino,
                            struct gl_lock_entry *out, size_t cap, size_t *total);

/* The command line of pid, arguments joined by spaces, truncated to len.
 * Returns 0 or -errno (-ENOENT when the process is gone). */
int gl_proc_cmdline(pid_t pid, char *buf, size_t len);

/* The same, whole, in a buffer of its own (free it): *out. */
int gl_proc_cmdline_dup(pid_t pid, char **out);

/* Seconds since pid started. Returns 0 or -errno. */
int gl_proc_age(pid_t pid, double *seconds);

/* Owner uid of pid. Returns 0 or -errno. */
int gl_proc_uid(pid_t pid, uid_t *uid);

/* How long pid has been blocked waiting for a file lock: the last time its
 * waiting thread ran, from /proc/PID/task/TID/sched (kernels built with
 * CONFIG_SCHED_DEBUG). Returns 0, or -ENOENT when pid has no such thread or
 * the kernel does not say. */
int gl_proc_blocked_for(pid_t pid, double *seconds);

/* The process that holds the flock on file (dev, ino) now. /proc/locks
 * names the process that took the lock (taker), but the lock belongs to the
 * open file description, and lives on in every process that inherited an fd
 * on it: gpu_run.sh and cpu_run.sh lock with a flock(1) child that exits at
 * once, leaving the lock to the shell and the job. taker is returned when it
 * holds the lock itself, or when its fds cannot be read (another user's).
 * Otherwise (it exited, or its pid is another namespace's, <= 0) every
 * process whose fds we may read (our own user's; everyone's as root) is
 * looked at, in /proc/PID/fdinfo, where the kernel lists the locks of each
 * fd's open file description; a waiter's fd on the file shows none. Of the
 * processes sharing the lock, the topmost is returned (a parent, not the
 * children it started), or 0 when none can be found. */
pid_t gl_proc_flock_holder(dev_t dev, unsigned long long ino, pid_t taker);

/* Parent pid of pid. Returns 0 or -errno. */
int gl_proc_ppid(pid_t pid, pid_t *ppid);

/* Is pid an ancestor of the calling process (its parent, grandparent, ...)? */
bool gl_proc_is_ancestor(pid_t pid);
#endif
