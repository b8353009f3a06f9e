/* Hand-off latency: from the moment a process holding the GPU lock exits to
 * the moment the process waiting for it returns from cuInit.
 *
 *   bench_handoff run SHM PER_MODE BLOCK PRELOAD LOCKPATH MODE[,MODE...]
 *
 * runs chains of client processes, in blocks of BLOCK hand-offs, taking the
 * modes in turn until each has PER_MODE hand-offs. Modes:
 *   preload       the client calls cuInit (linked against libcuda.so.1) with
 *                 PRELOAD in LD_PRELOAD, after a malloc (as every real
 *                 program has made long before its first CUDA call)
 *   preload-cold  the same without that malloc: the preload's own first
 *                 allocation (setenv of GPU_LOCK_HELD) then falls inside the
 *                 measured interval
 *   preload-gpu0  as preload, with CUDA_VISIBLE_DEVICES=0: on a machine with
 *                 several (fake) GPUs the client holds the whole-machine
 *                 lock shared and GPU 0's lock, and the hand-off is GPU 0's
 *   flock         no preload: the client calls flock(LOCK_EX) on LOCKPATH
 *                 itself, the kernel's own hand-off, the floor
 * Client k+1 is started and seen blocked in /proc/locks before client k is
 * told to exit. Each client stores CLOCK_MONOTONIC in a shared file right
 * after its wait returns (acq) and right before _exit (ex), and does nothing
 * else in between, so latency = acq[k+1] - ex[k]. The caller's environment
 * supplies LD_LIBRARY_PATH (the fake driver), GPU_LOCK_PATH and
 * GPU_LOCK_QUIET. Prints "MODE LATENCY_NS" per hand-off. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
unsigned int cuInit(unsigned int flags); /* libcuda.so.1 */

struct shm {
	volatile uint64_t acq, ex;
};

static struct shm *map_shm(const char *path, size_t n, int create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
	void *p;

	if (fd < 0 || (create && ftruncate(fd, (off_t)(n * sizeof(struct shm))) < 0)) {
		perror(path);
		exit(1);
	}
	p = mmap(NULL, n * sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	return p;
}

static int client(const char *shm_path, long idx, const char *mode, const char *lock_path)
{
	struct shm *s = map_shm(shm_path, (size_t)idx + 1, 0);
	char buf[64];
	ssize_t n;

	if (strcmp(mode, "preload-cold") != 0) {
		void *volatile warm = malloc(64);
		free(warm);
	}
	if (strncmp(mode, "preload", 7) == 0) {
		if (cuInit(0) != 0)
			return 1;
	} else {
		int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			return 1;
	}
	s[idx].acq = now_ns();
	if (write(STDOUT_FILENO, "a", 1) != 1)
		return 1;
	while ((n = read(STDIN_FILENO, buf, sizeof buf)) != 0)
		if (n < 0 && errno != EINTR)
			break;
	s[idx].ex = now_ns();
	_exit(0);
}

struct child {
	pid_t pid;
	int in;  /* our end of its stdin: closing it tells it to exit */
	int out; /* our end of its stdout: one byte when it holds the lock */
};

static char **env_for(const char *mode, const char *preload)
{
	static char *env[512];
	static char pre[4200];
	int n = 0;

	for (char **e = environ; *e && n < 509; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0)
			env[n++] = *e;
	if (strcmp(mode, "preload-gpu0") == 0)
		env[n++] = "CUDA_VISIBLE_DEVICES=0";
	if (strncmp(mode, "preload", 7) == 0) {
		snprintf(pre, sizeof pre, "LD_PRELOAD=%s", preload);
		env[n++] = pre;
	}
	env[n] = NULL;
	return env;
}

static struct child start(const char *self, const char *shm, long idx, const char *mode,
                          const char *preload, const char *lock)
{
	int in[2], out[2];
	char sidx[32];
	char *argv[] = {(char *)self, "client", (char *)shm, sidx, (char *)mode, (char *)lock, NULL};
	posix_spawn_file_actions_t fa;
	struct child c;
	int r;

	snprintf(sidx, sizeof sidx, "%ld", idx);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	r = posix_spawn(&c.pid, self, &fa, NULL, argv, env_for(mode, preload));
	if (r) {
		fprintf(stderr, "bench_handoff: spawn: %s\n", strerror(r));
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	c.in = in[1];
	c.out = out[0];
	return c;
}

static void await_lock(const struct child *c)
{
	char b;

	if (read(c->out, &b, 1) != 1) {
		fprintf(stderr, "bench_handoff: client %d failed\n", (int)c->pid);
		exit(1);
	}
}

/* Until /proc/locks shows pid blocked ("->") on a lock. */
static void await_blocked(pid_t pid)
{
	for (int tries = 0; tries < 100000; tries++) {
		FILE *f = fopen("/proc/locks", "r");
		char line[256];
		int found = 0, p;

		while (f && fgets(line, sizeof line, f))
			if (sscanf(line, "%*d: -> %*s %*s %*s %d", &p) == 1 && p == pid)
				found = 1;
		if (f)
			fclose(f);
		if (found)
			return;
		usleep(100);
	}
	fprintf(stderr, "bench_handoff: client %d never blocked on the lock\n", (int)pid);
	exit(1);
}

static void finish(struct child *c)
{
	int st;

	close(c->in);
	close(c->out);
	if (waitpid(c->pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench_handoff: client %d exited badly (%d)\n", (int)c->pid, st);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char self[4096], *modes[8], *list;
	long per_mode, block, done[8] = {0}, idx = 0, left;
	int nmodes = 0;
	const char *shm_path;
	struct shm *s;
	ssize_t n;

	if (argc == 6 && strcmp(argv[1], "client") == 0)
		return client(argv[2], arg_long(argv[3], "index"), argv[4], argv[5]);
	if (argc != 8 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: bench_handoff run SHM PER_MODE BLOCK PRELOAD LOCKPATH MODES\n");
		return 2;
	}
	list = strdup(argv[7]);
	for (char *m = strtok(list, ","); m && nmodes < 8; m = strtok(NULL, ","))
		modes[nmodes++] = m;
	shm_path = argv[2];
	per_mode = arg_long(argv[3], "hand-offs");
	block = arg_long(argv[4], "block");
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return 1;
	self[n] = '\0';
	if (!nmodes || block <= 0)
		return 2;
	s = map_shm(shm_path, (size_t)(nmodes * (per_mode + per_mode / block + 2)), 1);

	left = nmodes * per_mode;
	for (int m = 0; left > 0; m = (m + 1) % nmodes) {
		long todo = per_mode - done[m] < block ? per_mode - done[m] : block;
		struct child prev, next;

		if (todo <= 0)
			continue;
		prev = start(self, shm_path, idx, modes[m], argv[5], argv[6]);
		await_lock(&prev);
		for (long k = 0; k < todo; k++) {
			next = start(self, shm_path, idx + 1, modes[m], argv[5], argv[6]);
			await_blocked(next.pid);
			close(prev.in); /* the holder stamps ex and exits */
			prev.in = -1;
			await_lock(&next);
			finish(&prev);
			printf("%s %llu\n", modes[m], (unsigned long long)(s[idx + 1].acq - s[idx].ex));
			prev = next;
			idx++;
		}
		finish(&prev);
		idx++;
		done[m] += todo;
		left -= todo;
	}
	return 0;
}
