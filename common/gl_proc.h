/* What /proc/PID says about the processes that hold and wait for locks (who
 * they are, for how long, which of them really holds a flock). Used for wait
 * announcements and by gpulock status. Processes may vanish at any moment:
 * every reader copes. */
#ifndef GL_PROC_H
#define GL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read a small file (of /proc, /sys) into buf, NUL-terminated, at most
 * len - 1 bytes. Returns the length or -errno. */
ssize_t gl_read_small(const char *path, char *buf, size_t len);

/* The command line of pid, arguments joined by spaces, truncated to len,
 * safe for a terminal (gl_text_make_safe). Returns 0 or -errno (-ENOENT
 * when the process is gone). */
int gl_proc_cmdline(pid_t pid, char *buf, size_t len);

/* The same, whole, in a buffer of its own (free it): *out; the bytes as
 * they are (for JSON, which escapes them). */
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

/* Parent pid of pid, and when it started (clock ticks since boot): with
 * the pid, a name for a process that a reused pid cannot take. 0 or
 * -errno. */
int gl_proc_parent_and_start(pid_t pid, pid_t *ppid, unsigned long long *start);

/* Is pid a live process that /proc does not show us: another user's, on a
 * /proc mounted with hidepid=1 or 2 (/proc/locks still names it)? */
bool gl_proc_hidden(pid_t pid);

/* Is pid an ancestor of the calling process (its parent, grandparent, ...)? */
bool gl_proc_is_ancestor(pid_t pid);
#endif
