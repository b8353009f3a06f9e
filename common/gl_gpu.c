#include "gl_gpu.h"
#include "gl_held.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void gl_gpu_describe_holder(int fd, char *buf, size_t len)
{
	struct gl_lock_entry e[1];
	char cmd[160], dur[32];
	struct stat st;
	struct timespec now;
	size_t total;
	double age, held;

	if (fstat(fd, &st) < 0 ||
	    gl_proc_locks_find("/proc/locks", st.st_dev, st.st_ino, e, 1, &total) < 0 ||
	    total == 0 || e[0].waiting) {
		snprintf(buf, len, "by a process this system does not show");
		return;
	}
	if (e[0].pid <= 0 || gl_proc_cmdline(e[0].pid, cmd, sizeof cmd) < 0) {
		snprintf(buf, len, "by pid %d", (int)e[0].pid);
		return;
	}
	if (gl_proc_age(e[0].pid, &age) < 0) {
		snprintf(buf, len, "by pid %d (%s)", (int)e[0].pid, cmd);
		return;
	}
	/* gpulock stamps the file's mtime when it takes the lock; an mtime older
	 * than the holder itself came from someone else, so fall back to its age. */
	clock_gettime(CLOCK_REALTIME, &now);
	held = (double)(now.tv_sec - st.st_mtim.tv_sec) + (now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
	if (held >= 0 && held <= age + 1) {
		gl_log_duration(held, dur, sizeof dur);
		snprintf(buf, len, "by pid %d (%s) for %s", (int)e[0].pid, cmd, dur);
	} else {
		gl_log_duration(age, dur, sizeof dur);
		snprintf(buf, len, "by pid %d (%s), running for %s", (int)e[0].pid, cmd, dur);
	}
}

struct wait_ctx {
	const struct gl_gpu_config *cfg;
	const char *point;
};

static void announce_wait(int fd, void *arg)
{
	struct wait_ctx *w = arg;
	char who[256];

	if (w->cfg->quiet)
		return;
	gl_gpu_describe_holder(fd, who, sizeof who);
	gl_log("pid %d waiting for the GPU lock %s, held %s", (int)getpid(), w->cfg->lock_path,
	       who);
}

static enum gl_gpu_result unusable(const struct gl_gpu_config *cfg, const char *point, int err)
{
	gl_log("pid %d: cannot use the GPU lock %s: %s", (int)getpid(), cfg->lock_path,
	       gl_lockfile_strerror(err));
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
static void export_held(pid_t holder, dev_t dev, ino_t ino)
{
	struct gl_held h = {holder, major(dev), minor(dev), ino};
	char value[96];

	gl_held_format(&h, value, sizeof value);
	setenv(GL_HELD_VAR, value, 1);
}

/* Is the lock held on behalf of our process tree? Yes when its holder (the
 * process that took it, as /proc/locks records) is our ancestor, or is the
 * holder our GPU_LOCK_HELD names: then a forked child of it still holds the
 * same open file description, after the holder itself has gone. An ancestor
 * merely *waiting* does not count. Sets *holder. */
static bool held_for_our_tree(const struct gl_gpu_config *cfg, const struct gl_held *named,
                              pid_t *holder, struct stat *st)
{
	struct gl_lock_entry e[16];
	size_t total;

	if (lstat(cfg->lock_path, st) < 0 || !S_ISREG(st->st_mode) ||
	    gl_proc_locks_find("/proc/locks", st->st_dev, st->st_ino, e, 16, &total) < 0)
		return false;
	for (size_t i = 0; i < total && i < 16; i++) {
		if (e[i].waiting || !e[i].exclusive || e[i].pid <= 0)
			continue;
		*holder = e[i].pid;
		if (named && named->pid == e[i].pid && named->ino == st->st_ino &&
		    named->maj == major(st->st_dev) && named->min == minor(st->st_dev))
			return true;
		if (gl_proc_is_ancestor(e[i].pid))
			return true;
	}
	return false;
}

enum gl_gpu_result gl_gpu_lock_take(const struct gl_gpu_config *cfg, const char *point, int *fd)
{
	struct wait_ctx ctx = {cfg, point};
	struct gl_held named;
	struct stat st;
	double start;
	bool waited, ours = false;
	char who[256];
	pid_t holder;
	int r;

	if (cfg->skip_var) {
		if (cfg->debug)
			gl_log("%s: %s is set: not taking the GPU lock", point, cfg->skip_var);
		return GL_GPU_SKIPPED;
	}
	if (cfg->held) {
		ours = gl_held_parse(cfg->held, &named);
		if (!ours) { /* the original tools' "1": trusted, as they trust it */
			if (cfg->debug)
				gl_log("%s: GPU_LOCK_HELD=%s: an ancestor holds the GPU lock", point,
				       cfg->held);
			return GL_GPU_NESTED;
		}
	}
	if (*fd < 0 && held_for_our_tree(cfg, ours ? &named : NULL, &holder, &st)) {
		if (cfg->debug)
			gl_log("%s: the GPU lock %s is held by pid %d for this process tree", point,
			       cfg->lock_path, (int)holder);
		export_held(holder, st.st_dev, st.st_ino);
		return GL_GPU_NESTED;
	}
	if (ours && cfg->debug)
		gl_log("%s: GPU_LOCK_HELD names pid %d, which no longer holds the GPU lock for us",
		       point, (int)named.pid);

	/* An fd already open here was inherited through fork from a parent that
	 * was waiting for the lock: waiting on the same open file description
	 * makes parent and child share the lock, whoever of them gets it. */
	if (*fd < 0) {
		r = gl_lockfile_open(cfg->lock_path, fd);
		if (r < 0) {
			*fd = -1;
			return unusable(cfg, point, r);
		}
	}
	start = now_monotonic();
	r = gl_lock_acquire(*fd, cfg->timeout, announce_wait, &ctx, &waited);
	if (r == 0) {
		(void)futimens(*fd, NULL); /* "held since", for those who wait after us */
		if (fstat(*fd, &st) == 0)
			export_held(getpid(), st.st_dev, st.st_ino);
		if (waited && !cfg->quiet)
			gl_log("pid %d got the GPU lock %s after %.1fs", (int)getpid(),
			       cfg->lock_path, now_monotonic() - start);
		else if (cfg->debug)
			gl_log("%s: took the GPU lock %s", point, cfg->lock_path);
		return GL_GPU_LOCKED;
	}
	if (r != -ETIMEDOUT) {
		close(*fd);
		*fd = -1;
		return unusable(cfg, point, r);
	}
	gl_gpu_describe_holder(*fd, who, sizeof who);
	close(*fd);
	*fd = -1;
	gl_log("pid %d gave up waiting for the GPU lock %s after %gs (GPU_LOCK_TIMEOUT); it is held %s",
	       (int)getpid(), cfg->lock_path, cfg->timeout, who);
	if (cfg->run_on_timeout) {
		gl_log("pid %d running without the GPU lock (GPU_LOCK_ON_TIMEOUT=run)",
		       (int)getpid());
		return GL_GPU_UNLOCKED;
	}
	return GL_GPU_TIMED_OUT;
}
