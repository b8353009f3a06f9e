#include "gl_proc.h"
#include "gl_proc_locks.h"
#include "gl_text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

ssize_t gl_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

/* cmdline's arguments (n bytes) joined by spaces; newlines, which would
 * break a line of output, as spaces too. */
static void join_args(char *buf, ssize_t n)
{
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	buf[n] = '\0';
}

/* A kernel thread's or a zombie's empty command line: its comm. */
static int comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	n = gl_read_small(path, buf, len);
	if (n < 0)
		return (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int gl_proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int r;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	n = gl_read_small(path, buf, len);
	if (n < 0)
		return (int)n;
	join_args(buf, n);
	r = buf[0] ? 0 : comm(pid, buf, len);
	if (r == 0) /* for messages to a terminal: anyone's bytes */
		gl_text_make_safe(buf);
	return r;
}

int gl_proc_cmdline_dup(pid_t pid, char **out)
{
	char path[64], *buf = NULL;
	size_t cap = 0, n = 0;
	int fd, e = 0;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) { /* at most ARG_MAX: a few MiB */
		ssize_t r;

		if (cap - n < 64) {
			char *bigger = realloc(buf, cap ? 2 * cap : 256);

			if (!bigger) {
				e = -ENOMEM;
				break;
			}
			buf = bigger;
			cap = cap ? 2 * cap : 256;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = -errno;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (e == 0) {
		join_args(buf, (ssize_t)n);
		if (!buf[0])
			e = comm(pid, buf, cap);
	}
	if (e < 0) {
		free(buf);
		return e;
	}
	*out = buf;
	return 0;
}

/* The fields of /proc/PID/stat after the command name, which may contain
 * spaces and parentheses: they restart after the last ')'. */
static int read_stat(pid_t pid, char *buf, size_t len, char **fields)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	n = gl_read_small(path, buf, len);
	if (n < 0)
		return (int)n;
	*fields = strrchr(buf, ')');
	return *fields ? 0 : -EINVAL;
}

int gl_proc_ppid(pid_t pid, pid_t *ppid)
{
	char buf[1024], *p = NULL;
	int r = read_stat(pid, buf, sizeof buf, &p);
	int v;

	if (r < 0)
		return r;
	if (sscanf(p + 1, " %*c %d", &v) != 1)
		return -EINVAL;
	*ppid = v;
	return 0;
}

int gl_proc_parent_and_start(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char buf[1024], *p = NULL;
	int r = read_stat(pid, buf, sizeof buf, &p);
	int v;

	if (r < 0)
		return r;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads itreal start */
	if (sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	           &v, start) != 2)
		return -EINVAL;
	*ppid = v;
	return 0;
}

bool gl_proc_hidden(pid_t pid)
{
	char path[48];
	int fd;

	if (pid <= 0)
		return false;
	/* Every user may read a process's cmdline, unless hidepid says no
	 * (1: the directory shows, its files do not; 2: neither does). open
	 * and syscall rather than access and kill: the preload imports them
	 * already, and every process that loads it would pay for two more
	 * symbols (19 instructions, callgrind). */
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	/* kill(2) is not subject to hidepid: the process exists when it may
	 * be signalled, or when it may not (EPERM), and is gone on ESRCH. */
	return syscall(SYS_kill, pid, 0) == 0 || errno == EPERM;
}

bool gl_proc_is_ancestor(pid_t pid)
{
	pid_t p = getppid();

	/* Bounded: a pid namespace's init has ppid 0, and loops cannot happen. */
	for (int depth = 0; depth < 256 && p > 0; depth++) {
		if (p == pid)
			return true;
		if (p == 1 || gl_proc_ppid(p, &p) < 0)
			break;
	}
	return false;
}

int gl_proc_age(pid_t pid, double *seconds)
{
	char buf[1024], *p = NULL;
	unsigned long long start;
	struct timespec now;
	int r = read_stat(pid, buf, sizeof buf, &p);

	if (r < 0)
		return r;
	/* starttime is field 22; after ")" we are at field 3. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	           &start) != 1)
		return -EINVAL;
	clock_gettime(CLOCK_BOOTTIME, &now);
	*seconds = (double)now.tv_sec + now.tv_nsec / 1e9 - (double)start / sysconf(_SC_CLK_TCK);
	if (*seconds < 0)
		*seconds = 0;
	return 0;
}

int gl_proc_uid(pid_t pid, uid_t *uid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return -errno;
	*uid = st.st_uid;
	return 0;
}

/* The wait channel of a thread blocked in flock(2) (locks_lock_inode_wait,
 * flock_lock_inode_wait on older kernels). */
static bool waits_for_lock(const char *wchan)
{
	return strstr(wchan, "lock_inode_wait") != NULL || strstr(wchan, "flock") != NULL;
}

int gl_proc_blocked_for(pid_t pid, double *seconds)
{
	char path[300], buf[4096];
	struct timespec now;
	struct dirent *d;
	DIR *dir;
	int r = -ENOENT;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (r < 0 && (d = readdir(dir)) != NULL) {
		char *p;
		double ms;
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/wchan", (int)pid, d->d_name);
		if (gl_read_small(path, buf, sizeof buf) <= 0 || !waits_for_lock(buf))
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/sched", (int)pid, d->d_name);
		if (gl_read_small(path, buf, sizeof buf) <= 0 || !(p = strstr(buf, "se.exec_start")) ||
		    !(p = strchr(p, ':')) || sscanf(p + 1, "%lf", &ms) != 1)
			continue;
		/* exec_start is the scheduler clock in ms, close to CLOCK_MONOTONIC. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		*seconds = (double)now.tv_sec + now.tv_nsec / 1e9 - ms / 1e3;
		r = 0;
	}
	closedir(dir);
	return r;
}

struct flock_file {
	unsigned maj, min;
	unsigned long long ino;
};

/* Does the fd's open file description hold a flock on f? fdinfo has a
 * "lock:" line, in /proc/locks' format, for each lock it holds (Linux 3.14
 * and later). */
static bool fd_holds(pid_t pid, const char *fd, const struct flock_file *f)
{
	char path[320], buf[2048];
	struct gl_lock_entry e;
	char *line, *next;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid, fd);
	if (gl_read_small(path, buf, sizeof buf) <= 0)
		return false;
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "lock:", 5) == 0 && gl_proc_locks_parse_line(line + 5, &e) == 0 &&
		    e.is_flock && !e.waiting && e.ino == f->ino && e.maj == f->maj &&
		    e.min == f->min)
			return true;
	}
	return false;
}

/* 1: one of pid's fds holds the flock on f; 0: none does; -errno: its fds
 * cannot be read (-ENOENT: it is gone). Only fds on files are looked at
 * closely, by their link's target: readlink, unlike stat, never reaches
 * into the file system (a hung FUSE server cannot hang us). */
static int pid_holds(pid_t pid, const struct flock_file *f)
{
	char path[64], link[340], target[4];
	struct dirent *d;
	int r = 0;
	DIR *fds;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	if (!fds)
		return -errno;
	while (r == 0 && (d = readdir(fds)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		/* readlink, not readlinkat: one symbol version less for every
		 * process that loads the preload to resolve. */
		snprintf(link, sizeof link, "%s/%s", path, d->d_name);
		if (readlink(link, target, sizeof target) <= 0 || target[0] != '/')
			continue;
		r = fd_holds(pid, d->d_name, f);
	}
	closedir(fds);
	return r;
}

static bool is_zombie(pid_t pid)
{
	char buf[1024], *p = NULL, state = 0;

	return read_stat(pid, buf, sizeof buf, &p) == 0 && sscanf(p + 1, " %c", &state) == 1 &&
	       (state == 'Z' || state == 'X');
}

struct sharer {
	pid_t pid, ppid;
	double age;
};

#define MAX_SHARERS 32

/* The topmost of the processes sharing the lock: one whose parent is not
 * among them, the oldest such when there are several. */
static pid_t topmost(const struct sharer *s, size_t n)
{
	const struct sharer *best = NULL;

	for (size_t i = 0; i < n; i++) {
		bool child = false;

		for (size_t j = 0; j < n && !child; j++)
			child = j != i && s[j].pid == s[i].ppid;
		if (!child && (!best || s[i].age > best->age))
			best = &s[i];
	}
	return best ? best->pid : 0;
}

pid_t gl_proc_flock_holder(dev_t dev, unsigned long long ino, pid_t taker)
{
	const struct flock_file f = {major(dev), minor(dev), ino};
	struct sharer s[MAX_SHARERS];
	struct dirent *d;
	size_t n = 0;
	DIR *proc;

	if (taker > 0) {
		int r = pid_holds(taker, &f);
		/* A zombie's fd directory is root's, but it has closed every fd. */
		if (r == 1 || (r < 0 && r != -ENOENT && !is_zombie(taker)))
			return taker;
	}
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (n < MAX_SHARERS && (d = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (*end || pid <= 0 || pid == taker || pid_holds((pid_t)pid, &f) != 1)
			continue;
		s[n].pid = (pid_t)pid;
		if (gl_proc_ppid(s[n].pid, &s[n].ppid) < 0 || gl_proc_age(s[n].pid, &s[n].age) < 0)
			continue; /* gone meanwhile */
		n++;
	}
	closedir(proc);
	return topmost(s, n);
}
