/* The referee shared by the stress clients: a word in a shared file that
 * names the process inside the critical section. Entering while it names a
 * live process is an overlap: two holders at once. A holder killed inside
 * leaves its pid behind, which is fine once it is dead (the kernel released
 * its lock when it died); a stopped holder is alive and still holds. */
#ifndef STRESS_SHARED_H
#define STRESS_SHARED_H

#include <stdatomic.h>
#include <sys/types.h>

struct referee {
	_Atomic int owner;
	_Atomic int overlaps;
	_Atomic long entries;
	_Atomic int last_overlap[2]; /* the pair, for the report */
};

struct referee *referee_map(const char *path, int create);

/* pid is alive and not on its way out. An exiting process drops its locks
 * (its files close) before it becomes a zombie, so a successor may see it
 * still there: PF_EXITING, set before the files close, tells them apart. */
int referee_alive(pid_t pid);

/* /proc/PID/stat's state letter and flags. Returns 0, or -1 when pid is gone. */
int stress_proc_stat(pid_t pid, char *state, unsigned long *flags);

/* Seconds on CLOCK_MONOTONIC. */
double stress_now(void);
/* Entries of a directory but "." and "..". */
int stress_dir_entries(const char *path);
/* Open fds of pid. */
int stress_fd_count(pid_t pid);
/* The fds a child inherits from us: 0-2 and whatever we hold without
 * close-on-exec (a calling shell may have left some). */
int stress_inheritable_fds(void);

/* A job's wait status: not exit 0, and not ended by the chaos process's
 * SIGKILL or SIGTERM either. */
int stress_failed(int status);

/* The chaos: SIGKILL (3 in 10), SIGTERM (3 in 10), or SIGSTOP and, 1-21 ms
 * later, SIGCONT. */
void stress_random_signal(pid_t pid, unsigned *seed);

/* Wait for the worker processes (our children) to exit, at most seconds,
 * then kill the chaos process. On a hang the workers are killed. Returns
 * how many had not finished; *failed counts those that exited non-zero. */
int stress_supervise(pid_t chaos, const pid_t *workers, int n, double seconds, int *failed);

#endif
