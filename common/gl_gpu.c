#include "gl_gpu.h"
#include "gl_gpu_internal.h"
#include "gl_gpus.h"
#include "gl_gpu_messages.h"
#include "gl_env.h"
#include "gl_held.h"
#include "gl_job.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc.h"
#include "gl_proc_locks.h"
#include "gl_status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gl_gpu_announce_wait(int fd, void *arg)
{
	struct gl_gpu_wait *w = arg;
	char who[256], hint[512];

	if (w->cfg->quiet)
		return;
	gl_gpu_describe_holder(fd, who, sizeof who);
	hint[0] = '\0';
	if (w->cfg->rank_var) /* looks like a rank, of no launcher we know */
		gl_gpu_sibling_hint(fd, hint, sizeof hint);
	gl_log("pid %d waiting for %s %s, held %s%s", (int)getpid(), w->what, w->path, who, hint);
}

static const char *stop_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	default:
		return "a signal";
	}
}

static void remind_wait(double waited, void *arg)
{
	struct gl_gpu_wait *w = arg;

	gl_gpu_remind(w->what, w->path, w->fd, waited);
}

static enum gl_gpu_result unusable(const struct gl_gpu_wait *ctx, const char *point, int err)
{
	const struct gl_lock_settings *cfg = ctx->cfg;
	char why[256];

	gl_lockfile_explain(ctx->path, err, why, sizeof why);
	gl_log("pid %d: cannot use %s %s: %s", (int)getpid(), ctx->what, ctx->path, why);
	if (cfg->run_on_error) {
		gl_log("pid %d running without the GPU lock (GPU_LOCK_ON_ERROR=run)", (int)getpid());
		return GL_GPU_UNLOCKED;
	}
	gl_log("pid %d: %s fails; set GPU_LOCK_ON_ERROR=run to go on without the lock",
	       (int)getpid(), point);
	return GL_GPU_FAILED;
}

/* Tell the processes we start that they run under this lock (see gl_held.h).
 * A process environment is the only channel that survives exec; the original
 * tools read it too. */
void gl_gpu_export_held(pid_t holder, dev_t dev, ino_t ino)
{
	struct gl_held h = {holder, major(dev), minor(dev), ino};
	char value[96];

	gl_held_format(&h, value, sizeof value);
	/* Not setenv: the host's other threads may be reading the environment. */
	(void)gl_env_publish(GL_HELD_VAR, value);
}

enum holder_kind { HOLDER_OURS, HOLDER_OTHER, HOLDER_UNSEEN };

/* Who holds the lock on the file st describes, as /proc/locks records it:
 * ours when a holder (the process that took it) is this process itself
 * (a lock it holds through an fd it inherited across exec: gpulock run
 * execs its command), our ancestor, or the holder our GPU_LOCK_HELD names:
 * then a forked child of it still holds the same open file description,
 * after the holder itself has gone. Shared holders count too: an ancestor
 * that holds some GPUs holds the machine lock shared, and a descendant
 * waiting for it exclusive would wait for ever. An ancestor merely
 * *waiting* does not count. Every entry is looked at: many jobs may hold
 * the machine lock shared. Sets *holder when a holder shows. */
struct holders {
	const struct gl_held *named;
	unsigned maj, min;
	unsigned long long ino;
	pid_t me;
	bool seen, ours;
	pid_t holder;
	unsigned nancestors; /* ours, read once: many holders may be looked at */
	pid_t ancestors[64];
};

static bool among(const struct holders *h, pid_t pid)
{
	for (unsigned i = 0; i < h->nancestors; i++)
		if (h->ancestors[i] == pid)
			return true;
	return false;
}

static void visit_holder(const struct gl_lock_entry *e, void *arg)
{
	struct holders *h = arg;

	if (h->ours || e->waiting || e->maj != h->maj || e->min != h->min || e->ino != h->ino)
		return;
	h->seen = true;
	if (e->pid <= 0)
		return;
	h->holder = e->pid;
	if (e->pid == h->me || (h->named && h->named->pid == e->pid && h->named->ino == h->ino &&
	                        h->named->maj == h->maj && h->named->min == h->min) ||
	    among(h, e->pid))
		h->ours = true;
}

static enum holder_kind holder_kind(const struct gl_held *named, const struct stat *st,
                                    pid_t *holder)
{
	struct holders h = {named, major(st->st_dev), minor(st->st_dev), st->st_ino, getpid(),
	                    false, false, 0, 0, {0}};

	/* as gl_proc_is_ancestor: a pid namespace's init counts, its ppid is 0 */
	for (pid_t p = getppid(); p > 0 && h.nancestors < 64;) {
		h.ancestors[h.nancestors++] = p;
		if (p == 1 || gl_proc_ppid(p, &p) < 0)
			break;
	}
	if (gl_proc_locks_scan("/proc/locks", visit_holder, &h) < 0)
		return HOLDER_OTHER; /* nothing to go on: wait our turn */
	if (h.holder)
		*holder = h.holder;
	return h.ours ? HOLDER_OURS : h.seen ? HOLDER_OTHER : HOLDER_UNSEEN;
}

bool gl_gpu_held_for_tree(struct gl_gpu_wait *ctx, const struct stat *st)
{
	return holder_kind(ctx->named, st, &ctx->holder) == HOLDER_OURS;
}

/* Trying first keeps /proc/locks out of the uncontended path.
 * The kernel produces /proc/locks a page per read(2), taking its locks anew
 * for each: when locks come and go between two pages, a line can be skipped.
 * A busy lock has a holder, so a read that shows none is taken again, after
 * another try (the lock may have been freed meanwhile), up to 64 reads: 16
 * were once all unlucky with 200 other flocks churning under the sanitizer
 * build, while the machine ran the chaos tests beside it. A holder that
 * never shows (another PID namespace's) counts as another's. */
int gl_gpu_try_for_tree(struct gl_gpu_wait *ctx, int fd)
{
	for (int reads = 0; reads < 64; reads++) {
		bool busy;
		int r = gl_lock_acquire(fd, NULL, NULL, NULL, &busy);

		if (r != -ETIMEDOUT)
			return r;
		if (fstat(fd, &ctx->st) < 0)
			return -errno;
		switch (holder_kind(ctx->named, &ctx->st, &ctx->holder)) {
		case HOLDER_OURS:
			return 1;
		case HOLDER_OTHER:
			return -EWOULDBLOCK;
		case HOLDER_UNSEEN:
			break;
		}
	}
	return -EWOULDBLOCK;
}

/* Does the lock path still name the file we locked? An age clean-up of /tmp
 * (systemd-tmpfiles) or a user may delete or replace it while we wait; the
 * lock we then got guards a file nobody else will open. */
static bool path_names_fd(const char *path, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* A holder that locked the file before it was deleted or replaced still
 * holds the GPU, through an inode the path no longer names. It shows in
 * /proc/locks on the same device, with another inode, and one of its fds
 * reads "<path> (deleted)". */
struct orphan {
	const char *path;
	unsigned maj, min;
	unsigned long long ino; /* the inode we hold */
	pid_t pid;              /* found: the holder of the orphan */
	int fdnum;              /* and its fd on it */
	unsigned long long orphan_ino;
};

static bool holds_deleted(pid_t pid, const char *path, unsigned long long ino, int *fdnum)
{
	char dir[64], link[PATH_MAX + 32], want[PATH_MAX + 16], target[PATH_MAX + 16];
	struct dirent *d;
	struct stat st;
	bool found = false;
	DIR *fds;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "%s (deleted)", path);
	fds = opendir(dir);
	while (fds && !found && (d = readdir(fds)) != NULL) {
		ssize_t n;
		snprintf(link, sizeof link, "%s/%s", dir, d->d_name);
		n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want) == 0 && stat(link, &st) == 0 && st.st_ino == ino) {
			*fdnum = atoi(d->d_name);
			found = true;
		}
	}
	if (fds)
		closedir(fds);
	return found;
}

static void find_orphan(const struct gl_lock_entry *e, void *arg)
{
	struct orphan *o = arg;

	if (o->pid || e->waiting || !e->exclusive || e->pid <= 0 || e->pid == getpid() ||
	    e->maj != o->maj || e->min != o->min || e->ino == o->ino)
		return;
	if (holds_deleted(e->pid, o->path, e->ino, &o->fdnum)) {
		o->pid = e->pid;
		o->orphan_ino = e->ino;
	}
}

/* We hold the lock on the file the path names now; wait, in turn, for a
 * holder of an orphaned one. Its inode is reachable through /proc/PID/fd/N,
 * where permissions allow (same user, or root): lock it there. Otherwise
 * wait, bounded, until its lock is gone from /proc/locks. */
static int wait_for_orphan(const struct gl_lock_settings *cfg, struct gl_gpu_wait *ctx, int fd)
{
	struct orphan o = {.path = cfg->lock_path};
	char proc_fd[64];
	struct stat st;
	bool waited;
	int ofd, r;

	if (fstat(fd, &st) < 0)
		return 0;
	o.maj = major(st.st_dev);
	o.min = minor(st.st_dev);
	o.ino = st.st_ino;
	if (gl_proc_locks_scan("/proc/locks", find_orphan, &o) < 0 || !o.pid ||
	    gl_proc_is_ancestor(o.pid))
		return 0;
	if (!cfg->quiet)
		gl_log("pid %d: the GPU lock file %s was deleted or replaced while pid %d held it; "
		       "waiting for pid %d too",
		       (int)getpid(), cfg->lock_path, (int)o.pid, (int)o.pid);
	snprintf(proc_fd, sizeof proc_fd, "/proc/%d/fd/%d", (int)o.pid, o.fdnum);
	ofd = open(proc_fd, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (ofd >= 0 && fstat(ofd, &st) == 0 && st.st_ino == o.orphan_ino && S_ISREG(st.st_mode)) {
		ctx->fd = ofd;
		r = gl_lock_acquire(ofd, &ctx->wait, NULL, ctx, &waited);
		close(ofd); /* its holder is gone; ours stays on the path's file */
		return r;
	}
	if (ofd >= 0)
		close(ofd);
	while (ctx->wait.deadline < 0 || gl_wait_now() < ctx->wait.deadline) {
		struct orphan again = o;
		again.pid = 0;
		if (gl_proc_locks_scan("/proc/locks", find_orphan, &again) < 0 || !again.pid)
			return 0;
		usleep(10000); /* no event to wait on without access to its fd */
	}
	return -ETIMEDOUT;
}

/* Opens (unless a fork handed us a description in progress) and locks the
 * file the path names, until the lock and the path agree. 0: locked; 1: held
 * for our tree (ctx says by whom); -ETIMEDOUT or -errno. */
static int acquire_on_path(const struct gl_lock_settings *cfg, struct gl_gpu_wait *ctx, int *fd,
                           bool *waited)
{
	int r = -ESTALE;

	for (int tries = 0; tries < 8; tries++) {
		bool w;
		if (*fd < 0 && (r = gl_lockfile_open(cfg->lock_path, fd)) < 0) {
			*fd = -1;
			return r;
		}
		r = gl_gpu_try_for_tree(ctx, *fd);
		if (r == -EWOULDBLOCK) {
			*waited = true;
			if (cfg->timeout == 0)
				return -ETIMEDOUT;
			ctx->fd = *fd;
			r = gl_lock_acquire(*fd, &ctx->wait, gl_gpu_announce_wait, ctx, &w);
		}
		if (r != 0)
			return r;
		if (path_names_fd(cfg->lock_path, *fd))
			return wait_for_orphan(cfg, ctx, *fd);
		if (cfg->debug)
			gl_log("pid %d: the GPU lock file %s was replaced while we waited: again",
			       (int)getpid(), cfg->lock_path);
		close(*fd); /* a lock on a file nobody else will open guards nothing */
		*fd = -1;
		r = -ESTALE;
	}
	return r;
}

/* The outcomes of a take, after acquire_on_path. */

static enum gl_gpu_result took(const char *point, const struct gl_gpu_wait *ctx,
                               const struct gl_gpu_hold *h, bool waited)
{
	const struct gl_lock_settings *cfg = ctx->cfg;
	struct stat st;

	/* "held since", for those who wait after us */
	if (h->n == 0)
		gl_status_stamp(h->fd);
	for (unsigned i = 0; i < h->n; i++)
		gl_status_stamp(h->gpu_fds[i]);
	if (fstat(h->fd, &st) == 0)
		gl_gpu_export_held(getpid(), st.st_dev, st.st_ino);
	if (waited && !cfg->quiet) {
		char dur[32];

		gl_log_duration(gl_wait_now() - ctx->wait.start, dur, sizeof dur);
		gl_log("pid %d got %s %s after %s", (int)getpid(), ctx->take_what, ctx->take_path,
		       dur);
	}
	else if (cfg->debug)
		gl_log("%s: took %s %s", point, ctx->take_what, ctx->take_path);
	return GL_GPU_LOCKED;
}

static enum gl_gpu_result stopped(const struct gl_gpu_wait *ctx)
{
	char dur[32];

	gl_log_duration(gl_wait_now() - ctx->wait.start, dur, sizeof dur);
	if (!ctx->cfg->quiet)
		gl_log("pid %d stopped waiting for %s %s after %s: %s", (int)getpid(),
		       ctx->take_what, ctx->take_path, dur, stop_signal_name(ctx->wait.signal));
	return GL_GPU_INTERRUPTED;
}

/* who: the holder, described before our fd was closed. */
static enum gl_gpu_result gave_up(const struct gl_gpu_wait *ctx, const char *who)
{
	const struct gl_lock_settings *cfg = ctx->cfg;
	char secs[32];

	gl_log_seconds(cfg->timeout, secs, sizeof secs);
	if (cfg->timeout == 0) /* nobody waited: say what asked for that */
		gl_log("pid %d gave up waiting for %s %s at once (%s); it is held %s",
		       (int)getpid(), ctx->what, ctx->path,
		       cfg->timeout_source ? cfg->timeout_source
		                           : "GPU_LOCK_TIMEOUT=0 / gpulock run --no-wait",
		       who);
	else
		gl_log("pid %d gave up waiting for %s %s after %ss (%s); it is held %s",
		       (int)getpid(), ctx->what, ctx->path, secs,
		       cfg->timeout_source ? cfg->timeout_source : "GPU_LOCK_TIMEOUT", who);
	if (cfg->run_on_timeout) {
		gl_log("pid %d running without the GPU lock (GPU_LOCK_ON_TIMEOUT=run)",
		       (int)getpid());
		return GL_GPU_UNLOCKED;
	}
	return GL_GPU_TIMED_OUT;
}

/* The wait for the whole take: one deadline, one schedule of reminders. */
void gl_gpu_wait_init(struct gl_gpu_wait *ctx, const struct gl_lock_settings *cfg)
{
	ctx->cfg = cfg;
	ctx->fd = -1;
	ctx->wait.start = gl_wait_now();
	ctx->wait.deadline = cfg->timeout < 0 ? -1 : ctx->wait.start + cfg->timeout;
	ctx->wait.remind = cfg->quiet ? NULL : remind_wait;
	ctx->wait.arg = ctx;
	ctx->wait.interruptible = cfg->interruptible;
	/* A child forked while we wait shares our fd and may wait on it too:
	 * a lock we no longer want is left to it, never taken from it. */
	ctx->wait.shared = true;
}

void gl_gpu_hold_close(struct gl_gpu_hold *h)
{
	if (h->gpu_fds) {
		for (unsigned i = 0; i < GL_GPUS_MAX; i++) {
			if (h->gpu_fds[i] >= 0)
				close(h->gpu_fds[i]);
			h->gpu_fds[i] = -1;
		}
	}
	h->n = 0;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->job_fd >= 0)
		close(h->job_fd);
	h->job_fd = -1;
}

int gl_gpu_hold_inherit(struct gl_gpu_hold *h, bool across_exec)
{
	int flags = across_exec ? 0 : FD_CLOEXEC;

	if (h->fd >= 0 && fcntl(h->fd, F_SETFD, flags) < 0)
		return -errno;
	for (unsigned i = 0; i < h->n; i++) {
		if (fcntl(h->gpu_fds[i], F_SETFD, flags) < 0)
			return -errno;
	}
	return 0;
}

/* Which GPUs the process will see; the list is only read when
 * CUDA_VISIBLE_DEVICES is set, so that the common case costs nothing.
 * GL_VISIBLE_ALL when there is no list (single-lock mode). */
static enum gl_visible visible_gpus(const struct gl_lock_settings *cfg, const char *point,
                                    bool job, struct gl_gpu_list **list, gl_gpu_set *set)
{
	const char *why = NULL;
	enum gl_visible v;

	*list = NULL;
	if ((!cfg->visible && !job) || !cfg->gpu_dir[0])
		return GL_VISIBLE_ALL;
	*list = malloc(sizeof **list);
	if (!*list)
		return GL_VISIBLE_ALL; /* the whole machine: safe */
	gl_gpus_find(*list);
	v = gl_gpus_visible(*list, cfg->visible, cfg->pci_order, set, &why);
	for (unsigned i = 0; v == GL_VISIBLE_SOME && i < (*list)->n; i++) {
		if (((*set >> i) & 1) && !(*list)->gpu[i].uuid[0]) {
			v = GL_VISIBLE_MACHINE; /* its lock file would have no name */
			why = "a GPU it sees has no UUID (it failed to start)";
		}
	}
	if (v == GL_VISIBLE_MACHINE && !cfg->quiet)
		gl_log("pid %d: %s: taking the lock of the whole machine: %s", (int)getpid(), point,
		       why);
	else if (cfg->debug && v == GL_VISIBLE_NONE)
		gl_log("%s: CUDA_VISIBLE_DEVICES='%s' leaves no GPU visible: no lock to take", point,
		       cfg->visible);
	return v;
}

/* Every GPU that has a lock file (a UUID). */
static gl_gpu_set every_gpu(const struct gl_gpu_list *list)
{
	gl_gpu_set set = 0;

	for (unsigned i = 0; i < list->n; i++)
		if (list->gpu[i].uuid[0])
			set |= 1ULL << i;
	return set;
}

/* The whole machine's lock, exclusive. */
static int take_machine(struct gl_gpu_wait *ctx, struct gl_gpu_hold *h, bool *waited)
{
	return acquire_on_path(ctx->cfg, ctx, &h->fd, waited);
}

/* GPU_LOCK_HELD's own checks: "1" and the like from the original tools are
 * trusted, as they trust them. true: nested (the caller returns that). */
static bool held_by_original(const struct gl_lock_settings *cfg, const char *point,
                             struct gl_held *named, bool *ours)
{
	*ours = false;
	if (!cfg->held)
		return false;
	*ours = gl_held_parse(cfg->held, named);
	if (!*ours && cfg->debug)
		gl_log("%s: GPU_LOCK_HELD=%s: an ancestor holds the GPU lock", point, cfg->held);
	return !*ours;
}

enum gl_gpu_result gl_gpu_lock_take(const struct gl_lock_settings *cfg, const char *point,
                                    struct gl_gpu_hold *h)
{
	struct gl_gpu_wait ctx = {.cfg = cfg, .fd = -1, .what = "the GPU lock",
	                          .path = cfg->lock_path, .take_what = "the GPU lock",
	                          .take_path = cfg->lock_path};
	struct gl_gpu_list *list;
	struct gl_held named;
	struct gl_job job;
	gl_gpu_set set = 0;
	bool waited = false, ours, is_job;
	char who[256] = "by a process this system does not show";
	enum gl_visible v;
	int r;

	if (cfg->skip_var) {
		if (cfg->debug)
			gl_log("%s: %s is set: not taking the GPU lock", point, cfg->skip_var);
		return GL_GPU_SKIPPED;
	}
	if (held_by_original(cfg, point, &named, &ours))
		return GL_GPU_NESTED;
	ctx.named = ours ? &named : NULL;
	is_job = cfg->gpu_dir[0] && gl_job_find(cfg, &job);
	v = visible_gpus(cfg, point, is_job, &list, &set);
	if (v == GL_VISIBLE_NONE) {
		free(list);
		return GL_GPU_NO_GPU;
	}
	/* Fds already open in h were inherited through fork from a parent
	 * that was waiting for the locks: waiting on the same open file
	 * descriptions makes parent and child share them, whoever gets them. */
	gl_gpu_wait_init(&ctx, cfg);
	if (is_job && list) {
		if (cfg->debug)
			gl_log("%s: a rank of the job of %s (pid %d): sharing its locks", point,
			       job.launcher_name, (int)job.launcher);
		r = gl_gpu_take_for_job(&ctx, &job, list, v == GL_VISIBLE_SOME ? set : every_gpu(list),
		                        h, &waited);
	} else if (v == GL_VISIBLE_SOME) {
		r = gl_gpu_take_some(&ctx, list, set, h, &waited);
	} else {
		r = take_machine(&ctx, h, &waited);
	}
	free(list);
	if (r == 1) {
		gl_gpu_hold_close(h); /* the locks are our tree's already */
		if (cfg->debug)
			gl_log("%s: %s %s is held by pid %d for this process tree", point, ctx.what,
			       ctx.path, (int)ctx.holder);
		gl_gpu_export_held(ctx.holder, ctx.st.st_dev, ctx.st.st_ino);
		return GL_GPU_NESTED;
	}
	if (ours && cfg->debug)
		gl_log("%s: GPU_LOCK_HELD names pid %d, which no longer holds the GPU lock for us",
		       point, (int)named.pid);
	if (r == 0)
		return took(point, &ctx, h, waited);
	/* Some GPUs: the lock last waited for (still open until the close
	 * below); the machine: its file (ctx.fd may be an orphan's, closed). */
	if (r == -ETIMEDOUT && v == GL_VISIBLE_SOME && ctx.fd >= 0)
		gl_gpu_describe_holder(ctx.fd, who, sizeof who);
	else if (r == -ETIMEDOUT && h->fd >= 0)
		gl_gpu_describe_holder(h->fd, who, sizeof who);
	gl_gpu_hold_close(h);
	if (r == -EINTR)
		return stopped(&ctx);
	if (r == -ETIMEDOUT)
		return gave_up(&ctx, who);
	return unusable(&ctx, point, r);
}
