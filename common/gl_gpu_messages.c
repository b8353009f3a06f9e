#include "gl_gpu_messages.h"
#include "gl_log.h"
#include "gl_proc.h"
#include "gl_proc_locks.h"
#include "gl_status.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void gl_gpu_describe_holder(int fd, char *buf, size_t len)
{
	struct gl_lock_entry e[1];
	char cmd[160], dur[32];
	struct stat st;
	size_t total;
	double age, held;
	pid_t pid;

	if (fstat(fd, &st) < 0 ||
	    gl_proc_locks_find_held("/proc/locks", st.st_dev, st.st_ino, e, 1, &total) < 0 ||
	    total == 0 || e[0].waiting) {
		/* We wait, so the lock is busy: its holder is left out of
		 * /proc/locks, as one in another PID namespace is. */
		snprintf(buf, len, "by a process in another PID namespace");
		return;
	}
	/* The taker, or who holds the lock now through an fd inherited from it
	 * (gpu_run.sh's flock(1) has exited). */
	pid = gl_proc_flock_holder(st.st_dev, st.st_ino, e[0].pid);
	if (pid <= 0) {
		if (e[0].pid > 0 && gl_proc_hidden(e[0].pid))
			snprintf(buf, len, "by another user's process (pid %d, hidden by /proc's hidepid)",
			         (int)e[0].pid);
		else if (e[0].pid > 0)
			snprintf(buf, len,
			         "by pid %d, which has exited; its fd holds the lock in a process "
			         "not shown here",
			         (int)e[0].pid);
		else /* older kernels show such a holder as pid 0 */
			snprintf(buf, len, "by a process in another PID namespace");
		return;
	}
	if (gl_proc_cmdline(pid, cmd, sizeof cmd) < 0) {
		snprintf(buf, len, "by pid %d", (int)pid);
		return;
	}
	if (gl_proc_age(pid, &age) < 0) {
		snprintf(buf, len, "by pid %d (%s)", (int)pid, cmd);
		return;
	}
	/* gpulock stamps the file when it takes the lock; a stamp older than the
	 * holder itself came from someone else, so fall back to its age. */
	held = gl_status_since(gl_status_stamp_age(&st), age);
	if (held >= 0) {
		gl_log_duration(held, dur, sizeof dur);
		snprintf(buf, len, "by pid %d (%s) for %s", (int)pid, cmd, dur);
	} else {
		gl_log_duration(age, dur, sizeof dur);
		snprintf(buf, len, "by pid %d (%s), running for %s", (int)pid, cmd, dur);
	}
}

/* " (2nd of 3 waiting)": where we stand among the waiters /proc/locks lists
 * for the file, in the order the kernel keeps them; "" when not shown. */
static void queue_position(int fd, char *buf, size_t len)
{
	struct gl_lock_entry e[64];
	struct stat st;
	size_t total, waiters = 0, ours = 0;

	buf[0] = '\0';
	if (fstat(fd, &st) < 0)
		return;
	/* We are waiting, so we are listed: a read that misses us skipped a
	 * line (other locks came and went between two pages): read again. */
	for (int reads = 0; reads < 3 && !ours; reads++) {
		waiters = 0;
		if (gl_proc_locks_find("/proc/locks", st.st_dev, st.st_ino, e, 64, &total) < 0)
			return;
		for (size_t i = 0; i < total && i < 64; i++) {
			if (!e[i].waiting)
				continue;
			waiters++;
			if (e[i].pid == getpid() && !ours)
				ours = waiters;
		}
	}
	if (ours)
		snprintf(buf, len, " (number %zu of %zu waiting)", ours, waiters);
}

void gl_gpu_remind(const char *what, const char *path, int fd, double waited)
{
	char who[256], pos[64], dur[32];

	gl_gpu_describe_holder(fd, who, sizeof who);
	queue_position(fd, pos, sizeof pos);
	gl_log_duration(waited, dur, sizeof dur);
	gl_log("pid %d still waiting for %s %s after %s%s; held %s", (int)getpid(), what, path,
	       dur, pos, who);
}

void gl_gpu_sibling_hint(int fd, char *buf, size_t len)
{
	struct gl_lock_entry e[1];
	char cmd[96];
	struct stat st;
	size_t total;
	pid_t theirs, ours = getppid();

	buf[0] = '\0';
	if (ours <= 1 || fstat(fd, &st) < 0 ||
	    gl_proc_locks_find_held("/proc/locks", st.st_dev, st.st_ino, e, 1, &total) < 0 ||
	    total == 0 || e[0].waiting || e[0].pid <= 0 || gl_proc_ppid(e[0].pid, &theirs) < 0 ||
	    theirs != ours)
		return;
	if (gl_proc_cmdline(ours, cmd, sizeof cmd) < 0)
		snprintf(cmd, sizeof cmd, "?");
	snprintf(buf, len,
	         "; pid %d was started by this process's own parent, pid %d (%s): if they are "
	         "ranks of one job that gpulock does not recognise, they wait for each other for "
	         "ever: run its launcher with gpulock run --eager, or give them one "
	         "GPU_LOCK_GROUP",
	         (int)e[0].pid, (int)ours, cmd);
}
