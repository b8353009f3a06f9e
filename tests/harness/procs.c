#include "procs.h"
#include "gl_proc_locks.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double tp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double tp_scale(void)
{
	const char *v = getenv("GL_UNDER_VALGRIND");

	return v && *v && strcmp(v, "0") != 0 ? 10 : 1;
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

struct text {
	char *buf;
	size_t len, cap;
};

/* One read into t: false at EOF. */
static bool read_some(int fd, struct text *t)
{
	ssize_t n;

	if (t->cap - t->len < 2)
		t->buf = realloc(t->buf, t->cap *= 2);
	do
		n = read(fd, t->buf + t->len, t->cap - t->len - 1);
	while (n < 0 && errno == EINTR);
	ck_assert_msg(n >= 0, "read: %s", strerror(errno));
	t->len += (size_t)n;
	t->buf[t->len] = '\0';
	return n > 0;
}

/* Both fds to their ends (a fd of -1 is at its end), at once: a writer
 * that fills one pipe while we wait on the other does not block. */
static void read_ends(int fd[2], struct text t[2], double timeout)
{
	double deadline = tp_now() + timeout * tp_scale();

	for (int i = 0; i < 2; i++) {
		t[i].cap = 4096;
		t[i].len = 0;
		t[i].buf = calloc(1, t[i].cap);
	}
	while (fd[0] >= 0 || fd[1] >= 0) {
		struct pollfd p[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
		double left = deadline - tp_now();
		int r;

		ck_assert_msg(left > 0,
		              "no end of output within %.0fs; so far:\n--- stdout:\n%s\n--- stderr:\n%s",
		              timeout * tp_scale(), t[0].buf, t[1].buf);
		r = poll(p, 2, (int)(left * 1000) + 1);
		ck_assert_msg(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
		for (int i = 0; i < 2 && r > 0; i++)
			if (fd[i] >= 0 && p[i].revents && !read_some(fd[i], &t[i]))
				fd[i] = -1;
	}
}

char *tp_read_all(int fd)
{
	int fds[2] = {fd, -1};
	struct text t[2];

	read_ends(fds, t, 120);
	free(t[1].buf);
	return t[0].buf;
}

void tp_collect_within(int out_fd, int err_fd, char **out, char **err, double timeout)
{
	int fds[2] = {out_fd, err_fd};
	struct text t[2];

	read_ends(fds, t, timeout);
	if (out)
		*out = t[0].buf;
	else
		free(t[0].buf);
	if (err)
		*err = t[1].buf;
	else
		free(t[1].buf);
}

void tp_collect(int out_fd, int err_fd, char **out, char **err)
{
	tp_collect_within(out_fd, err_fd, out, err, 120);
}

struct lock_state {
	unsigned maj, min;
	unsigned long long ino;
	pid_t pid;
	bool waiting, found;
};

static void see_state(const struct gl_lock_entry *e, void *arg)
{
	struct lock_state *l = arg;

	if (e->maj == l->maj && e->min == l->min && e->ino == l->ino &&
	    e->waiting == l->waiting && (l->pid == 0 || e->pid == l->pid))
		l->found = true;
}

struct held_as {
	unsigned maj, min;
	unsigned long long ino;
	pid_t pid;
	char mode;
};

static void see_held(const struct gl_lock_entry *e, void *arg)
{
	struct held_as *h = arg;

	if (!e->waiting && e->pid == h->pid && e->maj == h->maj && e->min == h->min &&
	    e->ino == h->ino)
		h->mode = e->exclusive ? 'W' : 'R';
}

char tp_held_as(const char *path, pid_t pid)
{
	struct held_as h;
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	h = (struct held_as){major(st.st_dev), minor(st.st_dev), st.st_ino, pid, 0};
	return gl_proc_locks_scan("/proc/locks", see_held, &h) == 0 ? h.mode : 0;
}

/* Every entry is looked at: with many holders (the kernel lists them per
 * CPU, newest first), the one wanted may come after the first 64. */
bool tp_lock_state(const char *path, pid_t pid, bool waiting)
{
	struct lock_state l = {0};
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	l = (struct lock_state){major(st.st_dev), minor(st.st_dev), st.st_ino, pid, waiting, false};
	return gl_proc_locks_scan("/proc/locks", see_state, &l) == 0 && l.found;
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

/* ---- the program's temporary directory ---- */

static char temp_root[PATH_MAX]; /* "" where it could not be made */
static int temp_root_errno;
static pid_t temp_root_owner; /* the process that removes it: not Check's test processes */
static _Atomic int *skipped;  /* shared with the test processes */

const char *tp_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* name in dir and all under it, without following links. Only calls that
 * are safe in a signal handler: it runs in one. */
static void remove_tree(int dir, const char *name, int depth)
{
	char buf[2048];
	int fd;

	if (unlinkat(dir, name, 0) == 0 || errno != EISDIR || depth > 64)
		return;
	(void)fchmodat(dir, name, S_IRWXU, 0); /* a test's 0555 directory, as its owner */
	fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Another pass for what a pass may miss while it removes. */
	for (int pass = 0; pass < 3; pass++) {
		ssize_t n;

		lseek(fd, 0, SEEK_SET);
		while ((n = getdents64(fd, buf, sizeof buf)) > 0)
			for (ssize_t off = 0; off < n;) {
				struct dirent64 *d = (struct dirent64 *)(buf + off);

				off += d->d_reclen;
				if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
					remove_tree(fd, d->d_name, depth + 1);
			}
		if (unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY)
			break;
	}
	close(fd);
}

static void remove_temp_root(void)
{
	if (temp_root[0] && getpid() == temp_root_owner) {
		remove_tree(AT_FDCWD, temp_root, 0);
		temp_root[0] = '\0';
	}
}

/* Interrupted (meson's timeout sends SIGTERM; Check passes it on to us
 * once it has stopped the test in progress): clean up, then die of it. */
static void on_signal(int sig)
{
	int saved = errno;

	remove_temp_root();
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/* Before main, in the process that runs the suites: every test process is
 * forked from it and finds the directory made. */
__attribute__((constructor)) static void make_temp_root(void)
{
	static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
	char made[PATH_MAX];
	void *shared = mmap(NULL, sizeof *skipped, PROT_READ | PROT_WRITE,
	                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared != MAP_FAILED)
		skipped = shared;
	if (snprintf(made, sizeof made, "%s/gl-test-XXXXXX", tp_tmpdir()) >= (int)sizeof made) {
		temp_root_errno = ENAMETOOLONG;
		return;
	}
	if (!mkdtemp(made)) {
		temp_root_errno = errno;
		return;
	}
	temp_root_owner = getpid();
	/* The canonical path: tests compare it with what /proc shows. */
	if (!realpath(made, temp_root)) {
		temp_root_errno = errno;
		remove_tree(AT_FDCWD, made, 0);
		return;
	}
	chmod(temp_root, 0755); /* the tests that run programs as nobody */
	atexit(remove_temp_root);
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
		struct sigaction sa = {.sa_handler = on_signal};
		struct sigaction old;

		/* An ignored signal stays ignored. */
		if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(signals[i], &sa, NULL);
	}
}

void tp_make_dir(char *buf, size_t len)
{
	ck_assert_msg(temp_root[0], "cannot make a directory in %s (TMPDIR): %s", tp_tmpdir(),
	              strerror(temp_root_errno));
	ck_assert_msg(snprintf(buf, len, "%s/XXXXXX", temp_root) < (int)len,
	              "the temporary directory's path is too long: %s (TMPDIR)", temp_root);
	ck_assert_msg(mkdtemp(buf), "%s: %s", buf, strerror(errno));
	ck_assert_msg(chmod(buf, 0755) == 0, "%s: %s", buf, strerror(errno));
}

/* ---- other users ---- */

void tp_copy_file(const char *file, const char *path)
{
	char buf[65536];
	struct stat st;
	int in = open(file, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	ck_assert_msg(in >= 0 && fstat(in, &st) == 0, "%s: %s", file, strerror(errno));
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(out >= 0, "%s: %s", path, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_msg(write(out, buf, (size_t)n) == n, "%s: %s", path, strerror(errno));
	ck_assert_msg(n == 0, "%s: %s", file, strerror(errno));
	ck_assert_int_eq(fchmod(out, st.st_mode & 0111 ? 0755 : 0644), 0);
	close(in);
	close(out);
}

void tp_share_files(const char *dir, const char *name_prefix, const char *skip_prefix)
{
	size_t plen = strlen(name_prefix), slen = skip_prefix ? strlen(skip_prefix) : 0;
	char **names = NULL;
	size_t n = 0;

	/* Names first: setenv may move environ. */
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		struct stat st;

		if (!eq || strncmp(*e, name_prefix, plen) != 0 ||
		    (slen && strncmp(*e, skip_prefix, slen) == 0) || eq[1] != '/' ||
		    stat(eq + 1, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strndup(*e, (size_t)(eq - *e));
	}
	ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "%s: %s", dir, strerror(errno));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	for (size_t i = 0; i < n; i++) {
		const char *file = getenv(names[i]), *base = strrchr(file, '/') + 1;
		char copy[PATH_MAX];

		ck_assert_int_lt(snprintf(copy, sizeof copy, "%s/%s", dir, names[i]), sizeof copy);
		ck_assert_msg(mkdir(copy, 0755) == 0, "%s: %s", copy, strerror(errno));
		ck_assert_int_eq(chmod(copy, 0755), 0);
		ck_assert_int_lt(snprintf(copy, sizeof copy, "%s/%s/%s", dir, names[i], base),
		                 sizeof copy);
		tp_copy_file(file, copy);
		ck_assert_int_eq(setenv(names[i], copy, 1), 0);
		free(names[i]);
	}
	free(names);
}

bool tp_reachable_by(uid_t uid, const char *path)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(setgroups(0, NULL) == 0 && setresgid(uid, uid, uid) == 0 &&
		              setresuid(uid, uid, uid) == 0 && access(path, R_OK) == 0
		          ? 0
		          : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void tp_become(uid_t uid)
{
	/* Supplementary groups too, or root's would still open files. */
	ck_assert_msg(setgroups(0, NULL) == 0, "setgroups: %s", strerror(errno));
	ck_assert_msg(setresgid(uid, uid, uid) == 0, "setresgid: %s", strerror(errno));
	ck_assert_msg(setresuid(uid, uid, uid) == 0, "setresuid: %s", strerror(errno));
}

/* ---- running ---- */

void tp_skip(const char *test, const char *why)
{
	static pid_t counted; /* a test (its own process in fork mode) counts once */

	fprintf(stderr, "SKIP %s: %s\n", test, why);
	if (skipped && counted != getpid()) {
		counted = getpid();
		atomic_fetch_add(skipped, 1);
	}
}

int tp_run_suites(Suite *first, ...)
{
	SRunner *sr = srunner_create(first);
	int run, failed, skips;
	va_list ap;

	va_start(ap, first);
	for (Suite *s; (s = va_arg(ap, Suite *)) != NULL;)
		srunner_add_suite(sr, s);
	va_end(ap);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	skips = skipped ? atomic_load(skipped) : 0;
	if (failed)
		return EXIT_FAILURE;
	if (run == 0) { /* a CK_RUN_CASE that names no test case */
		fprintf(stderr, "no test ran\n");
		return EXIT_FAILURE;
	}
	if (skips >= run) {
		fprintf(stderr, "SKIP: every test skipped\n");
		return 77;
	}
	if (skips)
		fprintf(stderr, "%d of %d tests skipped\n", skips, run);
	return EXIT_SUCCESS;
}

int tp_run_suite(Suite *s)
{
	return tp_run_suites(s, NULL);
}

/* Under ASan the test programs' own small strings are not worth freeing one
 * by one; the processes under test still run with leak detection on. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

char *tp_read_line(int fd, double timeout)
{
	double deadline = tp_now() + timeout * tp_scale();
	char *buf = malloc(1024);
	size_t len = 0;

	/* Byte by byte: the rest stays in the pipe for the next reader. */
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		double left = deadline - tp_now();
		ssize_t n;

		ck_assert_msg(left > 0, "no line within %.0fs (so far: '%.*s')", timeout, (int)len, buf);
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (len == 0) {
				free(buf);
				return NULL;
			}
			break;
		}
		if (buf[len] == '\n')
			break;
		if (++len == 1023)
			break;
	}
	buf[len] = '\0';
	return buf;
}

char *tp_slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd < 0)
		return strdup("");
	s = tp_read_all(fd);
	close(fd);
	return s;
}

bool tp_readable(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};

	return poll(&pf, 1, 0) == 1;
}

void tp_write_file(const char *path, const char *text)
{
	char tmp[256];
	int fd;

	/* Written aside and renamed: a reader never sees half of it. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(rename(tmp, path), 0);
}
