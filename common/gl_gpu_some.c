/* Taking the locks of some of the GPUs: each GPU's own lock exclusive, in
 * the order of their UUIDs, then the whole-machine lock shared. */
#include "gl_gpu_internal.h"
#include "gl_gpu_messages.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A whole-machine request that waits: the first "->" WRITE line of the
 * machine lock's file that is not ours. */
struct machine_waiter {
	dev_t dev;
	unsigned long long ino;
	pid_t pid; /* found: its pid (-1 when /proc/locks shows none) */
};

static void find_machine_waiter(const struct gl_lock_entry *e, void *arg)
{
	struct machine_waiter *m = arg;

	if (!m->pid && e->waiting && e->exclusive && e->maj == major(m->dev) &&
	    e->min == minor(m->dev) && e->ino == m->ino && e->pid != getpid())
		m->pid = e->pid > 0 ? e->pid : -1;
}

pid_t gl_gpu_machine_waiter(const struct stat *st)
{
	struct machine_waiter m = {st->st_dev, st->st_ino, 0};

	if (gl_proc_locks_scan("/proc/locks", find_machine_waiter, &m) < 0)
		return 0;
	return m.pid;
}

/* The whole-machine lock, shared, after any whole-machine request that is
 * waiting for it already. flock(2) grants a shared lock while an exclusive
 * request waits, so a stream of jobs on single GPUs would keep gpu_run.sh
 * or flock(1) out for ever. Such a request shows in /proc/locks as a
 * waiting WRITE lock: while one does, we do not ask. No event tells us when
 * it is granted (it is another process's lock, maybe another user's), so we
 * look again, at most every 0.1s; once it holds the lock, our request
 * blocks in the kernel like any other. 0, 1 (held exclusive for our tree),
 * -ETIMEDOUT, -EINTR or -errno. */
/* A whole-machine request we saw waiting, no longer listed as waiting: it
 * holds the lock now, gave up, or is in between. When a lock is let go the
 * kernel takes its waiters off the list and wakes them, and each asks
 * again: until it has, it shows nowhere, and a shared request would be
 * granted ahead of it. So while it neither holds nor waits, and lives, we
 * look again, 16 times at most (a request that gave up is let go by then). */
struct holds {
	unsigned maj, min;
	unsigned long long ino;
	pid_t pid;
	bool found;
};

static void see_hold(const struct gl_lock_entry *e, void *arg)
{
	struct holds *h = arg;

	if (!e->waiting && e->exclusive && e->pid == h->pid && e->maj == h->maj &&
	    e->min == h->min && e->ino == h->ino)
		h->found = true;
}

static bool in_limbo(const struct stat *st, pid_t *seen, int *looks)
{
	struct holds h = {major(st->st_dev), minor(st->st_dev), st->st_ino, *seen, false};

	if (*seen <= 0 || ++*looks > 16 || syscall(SYS_kill, *seen, 0) < 0 ||
	    gl_proc_locks_scan("/proc/locks", see_hold, &h) < 0 || h.found) {
		*seen = 0; /* holds it (our request then blocks), gone, or given up on */
		return false;
	}
	return true;
}

int gl_gpu_machine_shared(struct gl_gpu_wait *ctx, int fd, bool *waited)
{
	double pause = 0.001;
	bool told = false;
	struct stat st;
	pid_t w, seen = 0;
	int limbo = 0;
	int r, winner;

	if (fstat(fd, &st) < 0)
		return -errno;
	for (;;) {
		while ((w = gl_gpu_machine_waiter(&st)) != 0 || in_limbo(&st, &seen, &limbo)) {
			if (w > 0)
				seen = w;
			*waited = true;
			if (ctx->cfg->timeout == 0)
				return -ETIMEDOUT;
			if (!told && !ctx->cfg->quiet)
				gl_log("pid %d waiting for %s %s: a request for the whole machine (pid "
				       "%d) waits for the GPU lock %s, and goes first",
				       (int)getpid(), ctx->take_what, ctx->take_path, (int)w,
				       ctx->cfg->lock_path);
			told = true;
			if ((r = gl_wait_pause(&ctx->wait, pause)) < 0)
				return r;
			pause = pause * 2 > 0.1 ? 0.1 : pause * 2;
		}
		r = gl_flock(fd, LOCK_SH | LOCK_NB);
		if (r != 0)
			break;
		/* A read of /proc/locks can skip a line (the kernel makes it a
		 * page at a time): one that missed the request would have let
		 * us in ahead of it, and it would then wait for our whole job.
		 * Holding our share, we look once more; a request seen now
		 * waits for us: we let go, and wait for it. */
		if (gl_gpu_machine_waiter(&st) == 0)
			return 0;
		(void)flock(fd, LOCK_UN);
	}
	if (r != -EWOULDBLOCK)
		return r;
	/* Held exclusive. By our tree (gpulock run --eager around us)? */
	if (gl_gpu_held_for_tree(ctx, &st)) {
		ctx->st = st;
		return 1;
	}
	*waited = true;
	if (ctx->cfg->timeout == 0)
		return -ETIMEDOUT;
	ctx->fd = fd;
	gl_gpu_announce_wait(fd, ctx);
	return gl_wait_first(&fd, 1, LOCK_SH, &ctx->wait, &winner);
}

/* Does the holder GPU_LOCK_HELD names still hold the machine lock (shared
 * or not)? Then we run under its locks, whatever GPUs we see: a descendant
 * that waited for GPUs its ancestor does not hold would take them in an
 * order of its own, and two trees could deadlock. Every entry is looked at
 * (many jobs may hold the machine lock shared), and a read that does not
 * show the holder is taken again: the kernel produces /proc/locks a page
 * per read(2), and a line can be skipped when locks come and go between
 * pages. A holder really gone costs those reads once, at the first GPU
 * call. */
struct named_seen {
	unsigned maj, min;
	unsigned long long ino;
	pid_t pid;
	bool seen;
};

static void see_named(const struct gl_lock_entry *e, void *arg)
{
	struct named_seen *n = arg;

	if (!e->waiting && e->pid == n->pid && e->maj == n->maj && e->min == n->min &&
	    e->ino == n->ino)
		n->seen = true;
}

bool gl_gpu_named_holds(struct gl_gpu_wait *ctx, int fd)
{
	struct named_seen n;
	struct stat st;

	if (!ctx->named || fstat(fd, &st) < 0 || ctx->named->ino != st.st_ino ||
	    ctx->named->maj != major(st.st_dev) || ctx->named->min != minor(st.st_dev))
		return false;
	n = (struct named_seen){major(st.st_dev), minor(st.st_dev), st.st_ino, ctx->named->pid,
	                        false};
	for (int reads = 0; reads < 16 && !n.seen; reads++) {
		if (gl_proc_locks_scan("/proc/locks", see_named, &n) < 0)
			return false;
	}
	if (n.seen) {
		ctx->holder = n.pid;
		ctx->st = st;
	}
	return n.seen;
}

/* The directory of per-GPU locks, made on first use like /tmp itself:
 * every account creates files in it, and none removes another's. */
int gl_gpu_dir_ready(const char *dir)
{
	struct stat st;

	/* The system calls, not mkdir(3) and chmod(3): two more imported
	 * symbols would cost every process that loads the preload its time
	 * to bind them (BENCHMARKS.md, 1c). */
	if (syscall(SYS_mkdirat, AT_FDCWD, dir, 01777) == 0) {
		if (syscall(SYS_fchmodat, AT_FDCWD, dir, 01777) < 0) /* the umask narrowed it */
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
}

/* In the order of their UUIDs: at most GL_GPUS_MAX, so an insertion sort
 * (qsort would be one more symbol for every process to bind). */
static void sort_by_uuid(const struct gl_gpu **order, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		const struct gl_gpu *g = order[i];
		unsigned j = i;

		for (; j > 0 && strcmp(order[j - 1]->uuid, g->uuid) > 0; j--)
			order[j] = order[j - 1];
		order[j] = g;
	}
}

/* "the locks of GPUs 1, 3" (indices in PCI order, as gpulock status shows). */
static void describe_take(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list, gl_gpu_set set)
{
	size_t len = sizeof ctx->take_buf, at;
	unsigned count = 0;

	for (unsigned i = 0; i < list->n; i++)
		count += (set >> i) & 1;
	at = (size_t)snprintf(ctx->take_buf, len, "the lock%s of GPU%s", count > 1 ? "s" : "",
	                      count > 1 ? "s" : "");
	for (unsigned i = 0, k = 0; i < list->n && at < len; i++) {
		if ((set >> i) & 1)
			at += (size_t)snprintf(ctx->take_buf + at, len - at, "%s %u", k++ ? "," : "", i);
	}
	if (at < len)
		snprintf(ctx->take_buf + at, len - at, " in");
	ctx->take_what = ctx->take_buf;
	ctx->take_path = ctx->cfg->gpu_dir;
}

int gl_gpu_plan(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list, gl_gpu_set set,
                struct gl_gpu_hold *h, const struct gl_gpu **order)
{
	unsigned n = 0;

	for (unsigned i = 0; i < list->n; i++) {
		if ((set >> i) & 1)
			order[n++] = &list->gpu[i];
	}
	sort_by_uuid(order, n);
	describe_take(ctx, list, set);
	if (!h->gpu_fds) {
		h->gpu_fds = malloc(GL_GPUS_MAX * sizeof *h->gpu_fds);
		if (!h->gpu_fds)
			return -ENOMEM;
		for (unsigned i = 0; i < GL_GPUS_MAX; i++)
			h->gpu_fds[i] = -1;
	}
	return (int)n;
}

int gl_gpu_open_lock(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list,
                     const struct gl_gpu *g, int *fd)
{
	int r;

	snprintf(ctx->what_buf, sizeof ctx->what_buf, "the lock of GPU %u",
	         (unsigned)(g - list->gpu));
	ctx->what = ctx->what_buf;
	if ((size_t)snprintf(ctx->path_buf, sizeof ctx->path_buf, "%s/%s", ctx->cfg->gpu_dir,
	                     g->uuid) >= sizeof ctx->path_buf)
		return -ENAMETOOLONG;
	ctx->path = ctx->path_buf;
	if (*fd < 0 && (r = gl_lockfile_open(ctx->path, fd)) < 0) {
		*fd = -1;
		return r;
	}
	ctx->fd = *fd;
	return 0;
}

/* GPU g's lock, exclusive, on *fd (opened here unless a fork handed it
 * over). 0, 1 (held for our tree), -ETIMEDOUT, -EINTR or -errno. */
static int take_gpu(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list,
                    const struct gl_gpu *g, int *fd, bool *waited)
{
	bool w;
	int r;

	if ((r = gl_gpu_open_lock(ctx, list, g, fd)) < 0)
		return r;
	r = gl_gpu_try_for_tree(ctx, *fd);
	if (r != -EWOULDBLOCK)
		return r;
	*waited = true;
	if (ctx->cfg->timeout == 0)
		return -ETIMEDOUT;
	return gl_lock_acquire(*fd, &ctx->wait, gl_gpu_announce_wait, ctx, &w);
}

int gl_gpu_take_some(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list, gl_gpu_set set,
                     struct gl_gpu_hold *h, bool *waited)
{
	const struct gl_gpu *order[GL_GPUS_MAX];
	int n = gl_gpu_plan(ctx, list, set, h, order), r;

	if (n < 0)
		return n;
	if (h->fd < 0 && (r = gl_lockfile_open(ctx->cfg->lock_path, &h->fd)) < 0) {
		h->fd = -1;
		return r;
	}
	if (gl_gpu_named_holds(ctx, h->fd))
		return 1;
	ctx->path = ctx->cfg->gpu_dir;
	ctx->what = "the directory of per-GPU locks";
	if ((r = gl_gpu_dir_ready(ctx->cfg->gpu_dir)) < 0)
		return r;
	/* The GPUs first, the machine last: a job that waits for its GPU
	 * does not hold the machine meanwhile, so a whole-machine request
	 * waits only for the jobs that run. */
	for (int k = 0; k < n; k++) {
		r = take_gpu(ctx, list, order[k], &h->gpu_fds[k], waited);
		if (r == 1 && fstat(h->fd, &ctx->st) < 0) /* GPU_LOCK_HELD names the machine lock */
			return -errno;
		if (r != 0)
			return r;
	}
	h->n = (unsigned)n;
	ctx->what = "the GPU lock";
	ctx->path = ctx->cfg->lock_path;
	return gl_gpu_machine_shared(ctx, h->fd, waited);
}
