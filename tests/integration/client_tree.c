/* One GPU program per process shape of the tree tests. Every mode reaches
 * cuInit through dlsym, prints "<role> cuInit=<result>" on stdout, and
 * exits 0 only if everything it did succeeded. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef unsigned int (*cuinit_fn)(unsigned int);

static unsigned int cu_init(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	cuinit_fn fn = h ? (cuinit_fn)dlsym(h, "cuInit") : NULL;

	return fn ? fn(0) : 999;
}

static unsigned int init_and_say(const char *role)
{
	unsigned int r = cu_init();

	printf("%s cuInit=%u\n", role, r);
	fflush(stdout);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "enter pid=P t=NS" / "exit ..." in FAKE_CUDA_TRACE, for overlap checks. */
static void trace(const char *what)
{
	const char *path = getenv("FAKE_CUDA_TRACE");
	struct timespec ts;
	char line[128];
	int fd, n;

	if (!path)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof line, "%s pid=%d t=%lld\n", what, (int)getpid(),
	             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, n) != n)
			perror("trace");
		close(fd);
	}
}

static int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 99;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void wait_stdin_eof(void)
{
	char buf[64];

	while (read(0, buf, sizeof buf) > 0)
		;
}

static unsigned int race_result;

static void *race_thread(void *arg)
{
	(void)arg;
	race_result = cu_init();
	return NULL;
}

/* cuInit in a thread that blocks on the lock; the main thread forks when
 * told (once the test sees the thread waiting). */
static int fork_race(void)
{
	pthread_t t;
	char line[16];
	pid_t pid;
	int child;

	pthread_create(&t, NULL, race_thread, NULL);
	if (!fgets(line, sizeof line, stdin))
		return 2;
	pid = fork();
	if (pid == 0)
		_exit(init_and_say("child") ? 1 : 0);
	printf("forked %d\n", (int)pid);
	fflush(stdout);
	pthread_join(t, NULL);
	child = wait_status(pid);
	printf("parent cuInit=%u\n", race_result);
	return race_result || child ? 1 : 0;
}

/* Both members of a pair must be on the GPU at the same time: each marks
 * its entry in dir and waits (bounded) for the other's. */
static int pair(const char *dir)
{
	char mark[512];
	double deadline = now() + 20;

	if (init_and_say("pair"))
		return 1;
	snprintf(mark, sizeof mark, "%s/%d.entered", dir, (int)getpid());
	close(open(mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	while (now() < deadline) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int n = 0;
		while (d && (e = readdir(d)) != NULL)
			n += strstr(e->d_name, ".entered") != NULL;
		if (d)
			closedir(d);
		if (n >= 2)
			return 0;
		usleep(1000);
	}
	fprintf(stderr, "pair: the other one never got on the GPU\n");
	return 3;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pid_t pid;

	if (strcmp(mode, "exec-child") == 0 && argc > 2) {
		if (init_and_say("parent"))
			return 1;
		if (posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ) != 0)
			return 2;
		return wait_status(pid);
	}
	if (strcmp(mode, "spawn-and-exit") == 0 && argc > 2) {
		if (init_and_say("parent"))
			return 1;
		if (posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ) != 0)
			return 2;
		printf("spawned %d\n", (int)pid);
		return 0;
	}
	if (strcmp(mode, "fork-child") == 0) {
		if (init_and_say("parent"))
			return 1;
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(init_and_say("child") ? 1 : 0);
		return wait_status(pid);
	}
	if (strcmp(mode, "fork-child-outlives") == 0) {
		if (init_and_say("parent"))
			return 1;
		pid = fork();
		if (pid == 0) {
			unsigned int r = init_and_say("child");
			wait_stdin_eof();
			_exit(r ? 1 : 0);
		}
		printf("forked %d\n", (int)pid);
		return 0;
	}
	if (strcmp(mode, "wait-then-init") == 0 && argc > 2) {
		char c;
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, &c, 1) != 1)
			return 2;
		return init_and_say("late") ? 1 : 0;
	}
	if (strcmp(mode, "work") == 0 && argc > 2) {
		if (init_and_say("work"))
			return 1;
		trace("enter");
		usleep(atoi(argv[2]) * 1000);
		trace("exit");
		return 0;
	}
	if (strcmp(mode, "pair") == 0 && argc > 2)
		return pair(argv[2]);
	if (strcmp(mode, "fork-race") == 0)
		return fork_race();
	fprintf(stderr, "usage: client_tree MODE ...\n");
	return 2;
}
