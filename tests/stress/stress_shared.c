#include "stress_shared.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct referee *referee_map(const char *path, int create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0666);
	void *p;

	if (fd < 0 || (create && ftruncate(fd, sizeof(struct referee)) < 0))
		return NULL;
	p = mmap(NULL, sizeof(struct referee), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

#define PF_EXITING 0x4 /* include/linux/sched.h */

int stress_proc_stat(pid_t pid, char *state, unsigned long *flags)
{
	char path[64], buf[512], *p;
	FILE *f;
	int r = -1;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) == 2)
		r = 0;
	if (f)
		fclose(f);
	return r;
}

int referee_alive(pid_t pid)
{
	unsigned long flags;
	char state;

	if (pid <= 0 || kill(pid, 0) < 0 || stress_proc_stat(pid, &state, &flags) < 0)
		return 0;
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

double stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int stress_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

int stress_fd_count(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	return stress_dir_entries(path) - (pid == getpid()); /* not the one reading it */
}

int stress_inheritable_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, fd;

	while (d && (e = readdir(d)) != NULL) {
		fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) &&
		    (fd <= 2 || !(fcntl(fd, F_GETFD) & FD_CLOEXEC)))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

int stress_failed(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) != 0
	                         : WTERMSIG(status) != SIGKILL && WTERMSIG(status) != SIGTERM;
}

void stress_random_signal(pid_t pid, unsigned *seed)
{
	int dice = rand_r(seed) % 10;

	if (dice < 3) {
		kill(pid, SIGKILL);
	} else if (dice < 6) {
		kill(pid, SIGTERM);
	} else {
		kill(pid, SIGSTOP);
		usleep(1000 + rand_r(seed) % 20000);
		kill(pid, SIGCONT);
	}
}

int stress_supervise(pid_t chaos, const pid_t *workers, int n, double seconds, int *failed)
{
	double start = stress_now();
	int alive = n;

	*failed = 0;
	while (alive > 0 && stress_now() - start < seconds) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0 && pid != chaos) {
			alive--;
			*failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		} else if (pid <= 0) {
			usleep(5000); /* the deadline needs a clock; the workers report by exit */
		}
	}
	kill(chaos, SIGKILL);
	waitpid(chaos, NULL, 0);
	if (alive > 0) { /* a hang: leave nothing behind */
		for (int w = 0; w < n; w++)
			kill(workers[w], SIGKILL);
		while (wait(NULL) > 0)
			;
	}
	return alive;
}
