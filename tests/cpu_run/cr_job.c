/* A job for cpu_run's tests: it reports what cpu_run made of its process.
 *
 *   cr_job run TAG [hold]  print "TAG <CLOCK_MONOTONIC ns> <pid>" (and append it to
 *                          $CR_LOG when set); with hold, then wait for stdin to close
 *   cr_job exit N          exit with status N
 *   cr_job env VAR...      print VAR=value, or "VAR unset", for each
 *   cr_job info            niceness, I/O class, CPUs, the slot fds it holds, its open fds
 *   cr_job cgroup          its cgroup v2 path and that cgroup's memory.max */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void say(const char *line)
{
	size_t len = strlen(line);

	if (write(STDOUT_FILENO, line, len) != (ssize_t)len)
		exit(99);
}

static int run(const char *tag, int hold)
{
	struct timespec ts;
	char line[256], buf[64];
	const char *log = getenv("CR_LOG");

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(line, sizeof line, "%s %lld %d\n", tag, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec,
	         (int)getpid());
	if (log && *log) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, strlen(line)) < 0)
			return 98;
		close(fd);
	}
	say(line);
	if (hold)
		while (read(STDIN_FILENO, buf, sizeof buf) > 0)
			;
	return 0;
}

static void info(void)
{
	char line[512], path[300], target[PATH_MAX], slots[256] = "";
	cpu_set_t set;
	int fds = 0, first = -1;
	DIR *d;
	struct dirent *e;

	snprintf(line, sizeof line, "nice %d\n", getpriority(PRIO_PROCESS, 0));
	say(line);
	/* ioprio_get(IOPRIO_WHO_PROCESS, self): the class is in the top bits. */
	snprintf(line, sizeof line, "ioclass %ld\n", syscall(SYS_ioprio_get, 1, 0) >> 13);
	say(line);
	sched_getaffinity(0, sizeof set, &set);
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &set))
			first = c;
	snprintf(line, sizeof line, "cpus %d first %d\n", CPU_COUNT(&set), first);
	say(line);
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d)) != NULL) {
		ssize_t n;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		fds++;
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "/slot") || strstr(target, "/.ticket.")) {
			strncat(slots, " ", sizeof slots - strlen(slots) - 1);
			strncat(slots, strrchr(target, '/') + 1, sizeof slots - strlen(slots) - 1);
		}
	}
	if (d)
		closedir(d);
	snprintf(line, sizeof line, "fds %d\nheld%s\n", fds, slots);
	say(line);
}

static void cgroup(void)
{
	char buf[4096], path[PATH_MAX + 64], line[PATH_MAX + 128];
	char *p;
	int fd = open("/proc/self/cgroup", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (n < 0)
		exit(97);
	buf[n] = '\0';
	close(fd);
	p = strstr(buf, "0::");
	if (!p)
		exit(96);
	p += 3;
	p[strcspn(p, "\n")] = '\0';
	snprintf(line, sizeof line, "cgroup %s\n", p);
	say(line);
	/* Where cgroup2 is mounted varies; the usual two places. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s%s/memory.max",
		         i ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup", p);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			snprintf(line, sizeof line, "memory.max %s", buf);
			say(line);
		}
		break;
	}
}

int main(int argc, char **argv)
{
	char line[512];

	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return run(argv[2], argc >= 4 && strcmp(argv[3], "hold") == 0);
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return atoi(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "env") == 0) {
		for (int i = 2; i < argc; i++) {
			const char *v = getenv(argv[i]);
			if (v)
				snprintf(line, sizeof line, "%s=%s\n", argv[i], v);
			else
				snprintf(line, sizeof line, "%s unset\n", argv[i]);
			say(line);
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "info") == 0) {
		info();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "cgroup") == 0) {
		cgroup();
		return 0;
	}
	fprintf(stderr, "usage: cr_job run TAG [hold] | exit N | env VAR... | info | cgroup\n");
	return 2;
}
