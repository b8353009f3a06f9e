#include "procs.h"
#include "gl_proc.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double tp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int tp_wait(pid_t pid, double timeout)
{
	double deadline = tp_now() + timeout;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status;
	pid_t r;

	/* A pidfd becomes readable when the process exits: no polling. */
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && tp_now() < deadline) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};

		if (pidfd < 0 || poll(&p, 1, (int)((deadline - tp_now()) * 1000) + 1) < 0)
			usleep(2000); /* old kernel without pidfd: bounded polling */
	}
	if (pidfd >= 0)
		close(pidfd);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("pid %d hung: still running after %.0fs", (int)pid, timeout);
	}
	ck_assert_int_eq(r, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *tp_read_all(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while ((n = read(fd, buf + len, cap - len - 1)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
		if (cap - len < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

void tp_collect(int out_fd, int err_fd, char **out, char **err)
{
	char *o = tp_read_all(out_fd), *e = tp_read_all(err_fd);

	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
}

bool tp_lock_state(const char *path, pid_t pid, bool waiting)
{
	struct gl_lock_entry e[64];
	struct stat st;
	size_t total;

	if (stat(path, &st) < 0 ||
	    gl_proc_locks_find("/proc/locks", st.st_dev, st.st_ino, e, 64, &total) < 0)
		return false;
	for (size_t i = 0; i < total && i < 64; i++)
		if (e[i].waiting == waiting && (pid == 0 || e[i].pid == pid))
			return true;
	return false;
}

void tp_wait_lock(const char *path, pid_t pid, bool waiting, double timeout)
{
	double deadline = tp_now() + timeout;

	while (!tp_lock_state(path, pid, waiting)) {
		ck_assert_msg(tp_now() < deadline, "pid %d never %s %s", (int)pid,
		              waiting ? "waited for" : "held", path);
		usleep(1000);
	}
}

int tp_count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *hit = strstr(line, needle);

		if (hit && hit < line + len)
			n++;
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

int tp_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Under ASan the test programs' own small strings are not worth freeing one
 * by one; the processes under test still run with leak detection on. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
