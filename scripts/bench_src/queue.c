/* Queue benchmark for cpu_run: launch N jobs through a launcher at fixed
 * arrival times and record when each really started and ended.
 *
 *   bench_queue launch SHM N INTERVAL_US CMD...
 *       starts CMD at t0 + i*INTERVAL_US for i < N (0: all at once), with
 *       BENCH_JOB_SHM=SHM and BENCH_JOB_IDX=i added to the environment, waits
 *       for all, and prints "wall NS" then "job I ARRIVAL START END" (ns from t0)
 *   bench_queue chains SHM CHAINS PER_CHAIN CMD...
 *       the floor, with no launcher: CHAINS processes each run CMD PER_CHAIN
 *       times back to back (spawn, wait, spawn...); prints the same
 *   bench_queue job SECONDS
 *       the job: stamps its start, sleeps SECONDS, stamps its end */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct rec {
	volatile uint64_t arr, start, end;
};

static struct rec *map_recs(const char *path, size_t n, int create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
	void *p;

	if (fd < 0 || (create && ftruncate(fd, (off_t)(n * sizeof(struct rec))) < 0)) {
		perror(path);
		exit(1);
	}
	p = mmap(NULL, n * sizeof(struct rec), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	return p;
}

static int job(const char *secs)
{
	const char *path = getenv("BENCH_JOB_SHM"), *idx = getenv("BENCH_JOB_IDX");
	double s = strtod(secs, NULL);
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	struct rec *r;
	long i;

	if (!path || !idx)
		return 2;
	i = arg_long(idx, "BENCH_JOB_IDX");
	r = map_recs(path, (size_t)i + 1, 0);
	r[i].start = now_ns();
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	r[i].end = now_ns();
	return 0;
}

static char **job_env(const char *shm, char *idx_var)
{
	static char shm_var[4200];
	long nenv = 0;
	char **env;

	while (environ[nenv])
		nenv++;
	env = calloc((size_t)nenv + 3, sizeof *env);
	memcpy(env, environ, (size_t)nenv * sizeof *env);
	snprintf(shm_var, sizeof shm_var, "BENCH_JOB_SHM=%s", shm);
	env[nenv] = shm_var;
	env[nenv + 1] = idx_var;
	return env;
}

static int report(struct rec *r, long n, uint64_t t0, int bad)
{
	printf("wall %llu\n", (unsigned long long)(now_ns() - t0));
	for (long i = 0; i < n; i++) {
		if (!r[i].start || !r[i].end)
			bad = 1;
		printf("job %ld %llu %llu %llu\n", i, (unsigned long long)(r[i].arr - t0),
		       (unsigned long long)(r[i].start - t0), (unsigned long long)(r[i].end - t0));
	}
	if (bad)
		fprintf(stderr, "bench_queue: a job failed or never ran\n");
	return bad;
}

static int chains(const char *shm, long nchains, long per, char **cmd)
{
	long n = nchains * per;
	struct rec *r = map_recs(shm, (size_t)n, 1);
	char idx_var[64];
	char **env = job_env(shm, idx_var);
	uint64_t t0 = now_ns();
	int bad = 0;

	for (long c = 0; c < nchains; c++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			for (long j = 0; j < per; j++) {
				long i = c * per + j;
				pid_t job;
				int st;

				snprintf(idx_var, sizeof idx_var, "BENCH_JOB_IDX=%ld", i);
				r[i].arr = t0;
				if (posix_spawn(&job, cmd[0], NULL, NULL, cmd, env) ||
				    waitpid(job, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (long c = 0; c < nchains; c++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return report(r, n, t0, bad);
}

int main(int argc, char **argv)
{
	long n, interval_us;
	struct rec *r;
	pid_t *pids;
	char **env, idx_var[64];
	uint64_t t0;
	int bad = 0;

	if (argc == 3 && strcmp(argv[1], "job") == 0)
		return job(argv[2]);
	if (argc >= 6 && strcmp(argv[1], "chains") == 0)
		return chains(argv[2], arg_long(argv[3], "chains"), arg_long(argv[4], "jobs per chain"),
		              argv + 5);
	if (argc < 6 || strcmp(argv[1], "launch") != 0) {
		fprintf(stderr, "usage: bench_queue launch SHM N INTERVAL_US CMD... | "
		                "chains SHM CHAINS PER_CHAIN CMD... | job SECONDS\n");
		return 2;
	}
	n = arg_long(argv[3], "jobs");
	interval_us = arg_long(argv[4], "interval");
	r = map_recs(argv[2], (size_t)n, 1);
	pids = calloc((size_t)n, sizeof *pids);
	env = job_env(argv[2], idx_var);

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t at = t0 + (uint64_t)i * (uint64_t)interval_us * 1000u;
		struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
		int e;

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		snprintf(idx_var, sizeof idx_var, "BENCH_JOB_IDX=%ld", i);
		r[i].arr = now_ns();
		e = posix_spawn(&pids[i], argv[5], NULL, NULL, argv + 5, env);
		if (e) {
			fprintf(stderr, "bench_queue: %s: %s\n", argv[5], strerror(e));
			return 1;
		}
	}
	for (long i = 0; i < n; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return report(r, n, t0, bad);
}
