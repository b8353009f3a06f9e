#include "gl_status.h"
#include "gl_proc.h"
#include "gl_proc_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gl_status_describe(pid_t pid, struct gl_status_proc *p)
{
	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->running = p->since = -1;
	if (pid <= 0 || gl_proc_uid(pid, &p->uid) < 0 || gl_proc_cmdline_dup(pid, &p->command) < 0) {
		p->gone = true;
		p->hidden = gl_proc_hidden(pid);
		return;
	}
	if (gl_proc_age(pid, &p->running) < 0)
		p->running = -1;
}

void gl_status_describe_holder(pid_t taker, dev_t dev, unsigned long long ino,
                               struct gl_status_proc *p)
{
	pid_t holder = gl_proc_flock_holder(dev, ino, taker);

	if (holder > 0) {
		gl_status_describe(holder, p);
		return;
	}
	memset(p, 0, sizeof *p);
	p->pid = taker;
	p->running = p->since = -1;
	p->gone = true;
	p->hidden = gl_proc_hidden(taker);
	p->inherited = taker > 0 && !p->hidden;
}

double gl_status_since(double since, double running)
{
	if (since < 0)
		return -1;
	if (running < 0)
		return since;
	if (since > running + 1)
		return -1;
	return since < running ? since : running;
}

void gl_status_proc_free(struct gl_status_proc *p)
{
	free(p->command);
	p->command = NULL;
}

void gl_status_free(struct gl_status *st)
{
	gl_status_proc_free(&st->holder);
	for (size_t i = 0; i < st->nshared; i++)
		gl_status_proc_free(&st->shared[i]);
	for (size_t i = 0; i < st->nwaiters; i++)
		gl_status_proc_free(&st->waiters[i]);
}

double gl_status_stamp_age(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(now.tv_sec - st->st_atim.tv_sec) + (now.tv_nsec - st->st_atim.tv_nsec) / 1e9;
}

void gl_status_stamp(int fd)
{
	const struct timespec times[2] = {{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}};

	(void)futimens(fd, times);
}

/* Newer kernels print waiters as a tree under whom they wait for, and the
 * same waiter can show up more than once: list each process once. */
static bool listed(const struct gl_status *st, pid_t pid)
{
	for (size_t i = 0; i < st->nwaiters; i++)
		if (st->waiters[i].pid == pid)
			return true;
	return false;
}

static bool shared_listed(const struct gl_status *st, pid_t pid)
{
	for (size_t i = 0; i < st->nshared; i++)
		if (st->shared[i].pid == pid)
			return true;
	return false;
}

/* A holder of the lock shared (a job on some of the GPUs holds the
 * whole-machine lock so), listed once. */
static void add_shared(struct gl_status *st, pid_t pid, const struct stat *fst)
{
	struct gl_status_proc *h;

	if (shared_listed(st, pid))
		return;
	if (st->nshared == GL_STATUS_MAX_WAITERS) {
		st->more_shared++;
		return;
	}
	h = &st->shared[st->nshared++];
	gl_status_describe_holder(pid, fst->st_dev, fst->st_ino, h);
	h->shared = true;
	h->since = gl_status_since(gl_status_stamp_age(fst), h->running);
}

/* Is the lock at path busy, though /proc/locks shows no holder? A holder in
 * another PID namespace is left out of it. A shared try on a fresh open
 * file description, let go at once (as gl_lock_is_held, without creating
 * the file): it fails only against an exclusive holder. */
static bool busy_unseen(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const struct gl_status_proc *)a)->pid, y = ((const struct gl_status_proc *)b)->pid;

	return (x > y) - (x < y);
}

/* A missing lock file: free, where its directory exists; where it does
 * not, the file cannot be created, and gl_lockfile_open says -ENOENT. */
static int missing_file(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof dir, "%s", path);
	if (stat(dirname(dir), &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int gl_status_read(const char *path, struct gl_status *st)
{
	struct gl_lock_entry e[GL_STATUS_MAX_WAITERS + 1];
	struct stat fst;
	size_t total;
	int r;

	memset(st, 0, sizeof *st);
	strncpy(st->path, path, sizeof st->path - 1);
	if (lstat(path, &fst) < 0) {
		st->error = -errno;
		if (errno == ENOENT)
			st->no_file = (st->error = missing_file(path)) == 0;
		return 0;
	}
	if (!S_ISREG(fst.st_mode)) {
		st->error = S_ISLNK(fst.st_mode) ? -ELOOP : S_ISDIR(fst.st_mode) ? -EISDIR : -EBADFD;
		return 0;
	}
	r = gl_proc_locks_find_held("/proc/locks", fst.st_dev, fst.st_ino, e,
	                            GL_STATUS_MAX_WAITERS + 1, &total);
	if (r < 0)
		return r;
	for (size_t i = 0; i < total && i < GL_STATUS_MAX_WAITERS + 1; i++) {
		if (!e[i].waiting && e[i].exclusive && !st->held) {
			st->held = true;
			st->elsewhere = e[i].pid <= 0;
			gl_status_describe_holder(e[i].pid, fst.st_dev, fst.st_ino, &st->holder);
			st->holder.since = gl_status_since(gl_status_stamp_age(&fst), st->holder.running);
		} else if (!e[i].waiting && !e[i].exclusive) {
			add_shared(st, e[i].pid, &fst);
		} else if (e[i].waiting && st->nwaiters < GL_STATUS_MAX_WAITERS &&
		           !listed(st, e[i].pid)) {
			struct gl_status_proc *w = &st->waiters[st->nwaiters];
			gl_status_describe(e[i].pid, w);
			if (w->gone)
				continue; /* it stopped waiting while we looked */
			if (gl_proc_blocked_for(w->pid, &w->since) < 0)
				w->since = -1;
			w->since = gl_status_since(w->since, w->running);
			w->shared = !e[i].exclusive;
			st->nwaiters++;
		}
	}
	/* /proc/locks lists them in no order of their own (a list per CPU). */
	qsort(st->shared, st->nshared, sizeof *st->shared, by_pid);
	if (!st->held && st->nshared == 0 && busy_unseen(path)) {
		st->held = st->elsewhere = true;
		st->holder = (struct gl_status_proc){.running = -1, .since = -1, .gone = true};
	}
	if (total > GL_STATUS_MAX_WAITERS + 1)
		st->more = total - GL_STATUS_MAX_WAITERS - 1;
	return 0;
}
