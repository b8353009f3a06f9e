/* The locks of a rank of a multi-process job (gl_job.h): shared with the
 * other ranks of its job, exclusive against every other job.
 *
 * flock(2) has no "shared among these processes only", and a lock cannot
 * be handed from one process to another: an unrelated process can only
 * take its own. So every rank takes each lock shared, and two files keep
 * other jobs out:
 *   - the job's own file (job.<uid>.<launcher pid>.<start> or
 *     group.<uid>.<name>, in the per-GPU lock directory), which every rank
 *     holds shared for as long as it lives: /proc/locks then tells which
 *     holders of a lock belong to the job;
 *   - a turnstile beside each lock (<UUID>.turn, machine.turn): a job that
 *     does not hold the lock yet takes it, exclusive, and, holding it,
 *     waits until nobody holds the lock, then takes its share. One job at
 *     a time goes through, so two jobs never share a lock. A rank waits
 *     for the turnstile by trying it again and again, not in the kernel:
 *     its job may take the lock meanwhile, and then it joins at once
 *     (take_turn).
 * A rank whose job holds the lock already joins at once, without the
 * turnstile: another job may hold the turnstile while it waits for this
 * one to finish, which would wait for the rank. Single processes take the
 * locks exclusive, as ever, and so exclude jobs and are excluded by them;
 * flock(1) and gpu_run.sh on the machine lock too.
 *
 * Each rank holds its share until it exits: the job holds a GPU from its
 * first rank's first GPU call until its last rank exits, whichever rank
 * goes first. */
#include "gl_gpu_internal.h"
#include "gl_gpu_messages.h"
#include "gl_job.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_RANKS 1024 /* ranks of one job on one machine that are told apart */

/* The job's ranks, as holders of its file in /proc/locks. */
struct ranks {
	unsigned maj, min;
	unsigned long long ino;
	unsigned n;
	pid_t pid[MAX_RANKS];
};

static void collect_rank(const struct gl_lock_entry *e, void *arg)
{
	struct ranks *r = arg;

	if (!e->waiting && e->maj == r->maj && e->min == r->min && e->ino == r->ino &&
	    r->n < MAX_RANKS)
		r->pid[r->n++] = e->pid;
}

static bool is_rank(const struct ranks *r, pid_t pid)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->pid[i] == pid)
			return true;
	return false;
}

/* Who holds a lock: ours (the job's ranks) and others. */
struct view {
	const struct ranks *ranks;
	unsigned maj, min;
	unsigned long long ino;
	unsigned ours, others;
};

static void count_holder(const struct gl_lock_entry *e, void *arg)
{
	struct view *v = arg;

	if (e->waiting || e->maj != v->maj || e->min != v->min || e->ino != v->ino)
		return;
	if (e->pid > 0 && is_rank(v->ranks, e->pid))
		v->ours++;
	else
		v->others++;
}

/* Reads /proc/locks twice: the ranks, then the holders of the lock on fd.
 * A holder that does not show (another PID namespace's) is counted by the
 * caller's try. 0 or -errno. */
static int look(const struct stat *job, struct ranks *ranks, int fd, struct view *v)
{
	struct stat st;
	int r;

	*v = (struct view){ranks, 0, 0, 0, 0, 0};
	if (fstat(fd, &st) < 0)
		return -errno;
	ranks->maj = major(job->st_dev);
	ranks->min = minor(job->st_dev);
	ranks->ino = job->st_ino;
	ranks->n = 0;
	if ((r = gl_proc_locks_scan("/proc/locks", collect_rank, ranks)) < 0)
		return r;
	*v = (struct view){ranks, major(st.st_dev), minor(st.st_dev), st.st_ino, 0, 0};
	return gl_proc_locks_scan("/proc/locks", count_holder, v);
}

/* Our share, if nobody but the job holds the lock after we took it: two
 * jobs that looked at the same moment both back off. 0, or -EWOULDBLOCK. */
static int take_share(const struct stat *job, struct ranks *ranks, int fd)
{
	struct view v;
	int r = gl_flock(fd, LOCK_SH | LOCK_NB);

	if (r < 0)
		return r;
	if (look(job, ranks, fd, &v) == 0 && v.others == 0)
		return 0;
	(void)flock(fd, LOCK_UN);
	return -EWOULDBLOCK;
}

/* As the job's one rank in the turnstile: wait until the lock is free or
 * the job's, then take a share. */
static int share_in_turn(struct gl_gpu_wait *ctx, const struct stat *job, struct ranks *ranks,
                         int fd, bool machine, bool *waited)
{
	double pause = 0.001;
	bool told = false;

	for (;;) {
		struct view v;
		struct stat st;
		int r, probe, winner;

		if ((r = look(job, ranks, fd, &v)) < 0)
			return r;
		if (v.others == 0 && machine && v.ours == 0 && fstat(fd, &st) == 0 &&
		    gl_gpu_machine_waiter(&st) != 0)
			v.others = 1; /* a whole-machine request waits: it goes first */
		else if (v.others == 0 && take_share(job, ranks, fd) == 0)
			return 0;
		/* held by an ancestor (gpulock run --eager around the launcher,
		 * its GPU_LOCK_HELD lost on the way): ours already */
		if (v.others > 0 && v.ours == 0 && fstat(fd, &st) == 0 &&
		    gl_gpu_held_for_tree(ctx, &st)) {
			ctx->st = st;
			return 1;
		}
		*waited = true;
		if (ctx->cfg->timeout == 0)
			return -ETIMEDOUT;
		if (!told && !ctx->cfg->quiet)
			gl_gpu_announce_wait(fd, ctx);
		told = true;
		if (v.ours > 0 || v.others == 0) {
			/* the job holds it with someone who slipped in, who backs
			 * off; or a whole-machine request waits, which is granted
			 * by no event of ours: look again soon */
			if ((r = gl_wait_pause(&ctx->wait, pause)) < 0)
				return r;
			pause = pause * 2 > 0.1 ? 0.1 : pause * 2;
			continue;
		}
		/* held by others: until nobody holds it, on a description of
		 * our own, dropped as soon as it is granted */
		if ((r = gl_lockfile_open(ctx->path, &probe)) < 0)
			return r;
		r = gl_wait_first(&probe, 1, LOCK_EX, &ctx->wait, &winner);
		close(probe);
		if (r < 0)
			return r;
	}
}

/* The lock on fd (file ctx->path), shared with the job. */
/* Does the job hold the lock on fd already, and nobody else? Then join it:
 * 1. 0 when not (or not yet). */
static int join_if_ours(const struct stat *job, struct ranks *ranks, int fd)
{
	struct view v;

	return look(job, ranks, fd, &v) == 0 && v.ours > 0 && v.others == 0 &&
	       take_share(job, ranks, fd) == 0;
}

/* The turnstile beside the lock, exclusive; or, while waiting for it, the
 * lock itself once the job holds it. Never blocked on in the kernel: a
 * rank queued there behind another job, which waits in it until the lock
 * is free, would wait for ever once its own job had taken the lock
 * meanwhile (the job holds it until all its ranks are in: found by the
 * chaos run's group variant). So it is tried, and tried again while the
 * job's holding is looked for, at most every 0.1s. 0: the turnstile is
 * ours; 1: joined the job's holding; -ETIMEDOUT, -EINTR, -errno. */
static int take_turn(struct gl_gpu_wait *ctx, const struct stat *job, struct ranks *ranks,
                     int fd, int tfd, bool *waited)
{
	double pause = 0.001;
	bool told = false;

	for (;;) {
		int r = gl_flock(tfd, LOCK_EX | LOCK_NB);

		if (r != -EWOULDBLOCK)
			return r;
		if (join_if_ours(job, ranks, fd))
			return 1;
		*waited = true;
		if (ctx->cfg->timeout == 0)
			return -ETIMEDOUT;
		if (!told && !ctx->cfg->quiet)
			gl_gpu_announce_wait(fd, ctx);
		told = true;
		if ((r = gl_wait_pause(&ctx->wait, pause)) < 0)
			return r;
		pause = pause * 2 > 0.1 ? 0.1 : pause * 2;
	}
}

/* The lock on fd (file ctx->path), shared with the job. */
static int share(struct gl_gpu_wait *ctx, const struct stat *job, int fd, bool machine,
                 bool *waited)
{
	struct ranks *ranks = malloc(sizeof *ranks);
	char turn[PATH_MAX + 16];
	int r, tfd;

	if (!ranks)
		return -ENOMEM;
	/* The job holds it already: join. */
	if (join_if_ours(job, ranks, fd)) {
		free(ranks);
		return 0;
	}
	if (machine)
		snprintf(turn, sizeof turn, "%s/machine.turn", ctx->cfg->gpu_dir);
	else
		snprintf(turn, sizeof turn, "%s.turn", ctx->path);
	if ((r = gl_lockfile_open(turn, &tfd)) == 0) {
		r = take_turn(ctx, job, ranks, fd, tfd, waited);
		if (r == 0)
			r = share_in_turn(ctx, job, ranks, fd, machine, waited);
		else if (r == 1)
			r = 0;
		close(tfd); /* the next job's turn */
	}
	free(ranks);
	return r;
}

/* A job file whose launcher has gone (no process with its pid and start
 * time), or a group's file, that nobody holds: left by a job that ended.
 * Removed, so that the directory does not fill up with one file per job
 * ever run. The launcher is gone, so no rank of that job can come any more;
 * a rank (or group member) that opened it just before finds the path gone
 * after it locked it, and starts again (join_job). */
static void sweep_stale_jobs(const char *dir, uid_t uid)
{
	char prefix[32], group[32], path[PATH_MAX + 256];
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = snprintf(prefix, sizeof prefix, "job.%u.", (unsigned)uid);
	int g = snprintf(group, sizeof group, "group.%u.", (unsigned)uid);

	while (dp && (d = readdir(dp)) != NULL) {
		unsigned long long start, now;
		pid_t pid, parent;
		int fd;

		/* a group's file: whenever nobody holds it (a member that
		 * comes later makes it again) */
		if (strncmp(d->d_name, group, (size_t)g) != 0) {
			if (strncmp(d->d_name, prefix, (size_t)n) != 0 ||
			    sscanf(d->d_name + n, "%d.%llu", &pid, &start) != 2)
				continue;
			if (gl_proc_parent_and_start(pid, &parent, &now) == 0 && now == start)
				continue; /* its launcher lives */
		}
		snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
		if (gl_lockfile_open(path, &fd) < 0)
			continue;
		/* the system calls: see gl_gpu_dir_ready */
		if (gl_flock(fd, LOCK_EX | LOCK_NB) == 0)
			(void)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
		close(fd);
	}
	if (dp)
		closedir(dp);
}

/* The job's file, held shared for as long as this process lives, on the
 * file the path names (a sweep may have removed the one we opened). */
static int join_job(struct gl_gpu_wait *ctx, const struct gl_job *job, struct gl_gpu_hold *h,
                    struct stat *st)
{
	char path[PATH_MAX + 160];
	struct stat now;
	int r = -ESTALE;

	snprintf(path, sizeof path, "%s/%s", ctx->cfg->gpu_dir, job->key);
	if (h->job_fd < 0 && lstat(path, &now) < 0)
		sweep_stale_jobs(ctx->cfg->gpu_dir, (uid_t)syscall(SYS_geteuid));
	for (int tries = 0; tries < 8; tries++) {
		if (h->job_fd < 0 && (r = gl_lockfile_open(path, &h->job_fd)) < 0) {
			h->job_fd = -1;
			return r;
		}
		if ((r = gl_flock(h->job_fd, LOCK_SH)) < 0) /* blocks only on a sweep */
			return r;
		if (fstat(h->job_fd, st) < 0)
			return -errno;
		if (lstat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
			return 0;
		close(h->job_fd);
		h->job_fd = -1;
		r = -ESTALE;
	}
	return r;
}

int gl_gpu_take_for_job(struct gl_gpu_wait *ctx, const struct gl_job *job,
                        const struct gl_gpu_list *list, gl_gpu_set set, struct gl_gpu_hold *h,
                        bool *waited)
{
	const struct gl_gpu *order[GL_GPUS_MAX];
	struct stat js;
	int n, r;

	ctx->what = "the directory of per-GPU locks";
	ctx->path = ctx->cfg->gpu_dir;
	if ((r = gl_gpu_dir_ready(ctx->cfg->gpu_dir)) < 0 || (r = join_job(ctx, job, h, &js)) < 0)
		return r;
	ctx->what = ctx->take_what = "the GPU lock";
	ctx->path = ctx->take_path = ctx->cfg->lock_path;
	if (h->fd < 0 && (r = gl_lockfile_open(ctx->cfg->lock_path, &h->fd)) < 0) {
		h->fd = -1;
		return r;
	}
	if (gl_gpu_named_holds(ctx, h->fd))
		return 1;
	if (list->n == 0) { /* one lock for the machine */
		ctx->fd = h->fd;
		return share(ctx, &js, h->fd, true, waited);
	}
	if ((n = gl_gpu_plan(ctx, list, set, h, order)) < 0)
		return n;
	for (int k = 0; k < n; k++) {
		if ((r = gl_gpu_open_lock(ctx, list, order[k], &h->gpu_fds[k])) < 0)
			return r;
		if ((r = share(ctx, &js, h->gpu_fds[k], false, waited)) < 0)
			return r;
	}
	h->n = (unsigned)n;
	/* The machine last, shared, as any job on GPUs takes it (at once when
	 * the job holds it: a whole-machine request that waits for the job
	 * must not keep its late ranks out). */
	ctx->what = "the GPU lock";
	ctx->path = ctx->cfg->lock_path;
	ctx->fd = h->fd;
	{
		struct ranks *ranks = malloc(sizeof *ranks);
		struct view v;
		bool joined;

		if (!ranks)
			return -ENOMEM;
		joined = look(&js, ranks, h->fd, &v) == 0 && v.ours > 0 &&
		         gl_flock(h->fd, LOCK_SH | LOCK_NB) == 0;
		free(ranks);
		if (!joined)
			return gl_gpu_machine_shared(ctx, h->fd, waited);
	}
	return 0;
}
