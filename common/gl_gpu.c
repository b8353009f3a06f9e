#include "gl_gpu.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc.h"

#include <errno.h>
#include <stdio.h>
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

enum gl_gpu_result gl_gpu_lock_take(const struct gl_gpu_config *cfg, const char *point, int *fd)
{
	struct wait_ctx ctx = {cfg, point};
	double start;
	bool waited;
	char who[256];
	int r;

	*fd = -1;
	if (cfg->skip_var) {
		if (cfg->debug)
			gl_log("%s: %s is set: not taking the GPU lock", point, cfg->skip_var);
		return GL_GPU_SKIPPED;
	}
	if (cfg->held) {
		if (cfg->debug)
			gl_log("%s: GPU_LOCK_HELD=%s: an ancestor holds the GPU lock", point,
			       cfg->held);
		return GL_GPU_NESTED;
	}
	r = gl_lockfile_open(cfg->lock_path, fd);
	if (r < 0) {
		*fd = -1;
		return unusable(cfg, point, r);
	}
	start = now_monotonic();
	r = gl_lock_acquire(*fd, cfg->timeout, announce_wait, &ctx, &waited);
	if (r == 0) {
		(void)futimens(*fd, NULL); /* "held since", for those who wait after us */
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
