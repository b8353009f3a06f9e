/* A snapshot of the GPU lock for gpulock status: who holds it, who waits,
 * since when. Read from /proc without taking anything; processes that vanish
 * while being read are left out (or marked gone), never an error. */
#ifndef GL_STATUS_H
#define GL_STATUS_H

#include <limits.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GL_STATUS_MAX_WAITERS 64

struct gl_status_proc {
	pid_t pid;
	uid_t uid;
	bool gone;      /* exited while we read, or hidden: pid only */
	bool hidden;    /* gone from our view only: another user's live process,
	                 * which /proc's hidepid hides (gl_proc_hidden) */
	bool inherited; /* a holder: pid took the lock and has exited, and the lock
	                 * lives on in a process that inherited its fd, one we may
	                 * not read (another user's); pid is the one that took it */
	bool shared;    /* holds or waits for the lock shared (LOCK_SH): on the
	                 * whole-machine lock, a job on some of the GPUs */
	char *command;  /* arguments joined by spaces, whole (malloc'd); NULL when gone */
	double running; /* seconds since the process started, < 0 unknown */
	double since;   /* held for / waiting for, seconds; < 0 unknown; never more
	                 * than running */
};

struct gl_status {
	char path[PATH_MAX];
	int error;    /* 0, or -errno of the lock file as gl_lockfile_open would
	               * report it (-ENOENT: its directory does not exist) */
	bool no_file; /* the lock file does not exist yet: free */
	bool held;    /* exclusive: holder says by whom */
	bool elsewhere; /* held (holder.pid <= 0, gone) by a process that /proc/locks
	                 * does not show: one in another PID namespace, which newer
	                 * kernels leave out and older ones show as pid 0 */
	struct gl_status_proc holder;
	size_t nshared; /* holders of a shared lock, in shared[] */
	size_t more_shared; /* beyond GL_STATUS_MAX_WAITERS */
	struct gl_status_proc shared[GL_STATUS_MAX_WAITERS];
	size_t nwaiters; /* entries filled in waiters[] */
	size_t more;     /* waiters beyond GL_STATUS_MAX_WAITERS */
	struct gl_status_proc waiters[GL_STATUS_MAX_WAITERS];
};

/* Describes pid (uid, command, running time); gone when it vanished. */
void gl_status_describe(pid_t pid, struct gl_status_proc *p);

/* Describes the process that holds the flock on file (dev, ino), which
 * /proc/locks says taker took: the taker itself, or the process that holds
 * it now through an fd inherited from it (gl_proc_flock_holder). When no
 * such process can be read, p describes taker, gone, and inherited when
 * taker > 0. */
void gl_status_describe_holder(pid_t taker, dev_t dev, unsigned long long ino,
                               struct gl_status_proc *p);

/* "Held for" or "waiting for" since seconds, from a stamp, for a process
 * running for running seconds: never longer than it has been running. A
 * stamp more than a second older than the process (clocks' granularity
 * aside) was not its own: unknown, -1. */
double gl_status_since(double since, double running);

/* Seconds since the holder's stamp on the lock file: gpulock sets the
 * file's access time when it takes the lock (gl_status_stamp). Not the
 * modification time, which the original gpu_run.sh's waiters reset: they
 * open the file for writing, with O_TRUNC, when they start to wait. */
double gl_status_stamp_age(const struct stat *st);
/* Stamps fd's file as just taken. */
void gl_status_stamp(int fd);

void gl_status_proc_free(struct gl_status_proc *p);

/* Fills st for the lock file at path. Returns 0, or -errno when /proc/locks
 * cannot be read (st->error covers the lock file itself). Free st with
 * gl_status_free. */
int gl_status_read(const char *path, struct gl_status *st);
void gl_status_free(struct gl_status *st);

#endif
