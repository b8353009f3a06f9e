/* The multi-process jobs (gl_job.h) that hold GPU locks, for gpulock
 * status: each job's ranks are the holders of its own file in the per-GPU
 * lock directory (job.<uid>.<launcher pid>.<start>, group.<uid>.<name>),
 * which every rank holds shared for as long as it lives. Read from the
 * directory and /proc/locks without taking anything. */
#ifndef GL_STATUS_JOBS_H
#define GL_STATUS_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GL_STATUS_MAX_JOBS 64   /* jobs told apart; the rest are not grouped */
#define GL_STATUS_MAX_RANKS 256 /* ranks of one job told apart */

struct gl_status_job {
	uid_t uid;       /* whose job: its ranks' user, who owns its file */
	pid_t launcher;  /* the job's launcher; 0 for a GPU_LOCK_GROUP */
	unsigned long long start; /* the launcher's start time (gl_proc_parent_and_start) */
	char group[72];  /* the group's name, as its file names it; "" for a launcher's job */
	unsigned maj, min;
	unsigned long long ino; /* the job's file */
	size_t nranks;   /* ranks in rank[], in no order */
	pid_t rank[GL_STATUS_MAX_RANKS];
};

struct gl_status_jobs {
	size_t n; /* jobs with at least one rank */
	struct gl_status_job job[GL_STATUS_MAX_JOBS];
};

/* The jobs whose files in gpu_dir are held. A file that its name's user
 * does not own is no job's (the directory is everyone's). A directory that cannot be
 * read has no jobs. Returns 0, or -errno when /proc/locks cannot be read. */
int gl_status_jobs_read(const char *gpu_dir, struct gl_status_jobs *jobs);

/* The job pid is a rank of, or NULL. */
const struct gl_status_job *gl_status_job_of(const struct gl_status_jobs *jobs, pid_t pid);

#endif
