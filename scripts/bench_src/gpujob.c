/* A GPU job for the multi-GPU benchmarks, linked against libcuda.so.1 (the
 * benchmark's no-op driver): under the preload its first cuInit takes the
 * locks of the GPUs it sees.
 *
 *   bench_gpujob SECS   mallocs once (as every real program has long before
 *                       its first CUDA call), calls cuInit and prints
 *                       "A ACQ_NS CUINIT_NS" (CLOCK_MONOTONIC when cuInit
 *                       returned, and how long it took), sleeps SECS, prints
 *                       "E END_NS" and exits. Without the preload, ACQ is
 *                       simply when it started. With BENCH_WARM_PROC_LOCKS
 *                       set it first reads /proc/locks once, outside the
 *                       timing: on some kernels the first read after a quiet
 *                       while waits for an RCU grace period (milliseconds),
 *                       which would hide what the preload's own work costs. */
#include "common.h"

#include <errno.h>
#include <string.h>

unsigned int cuInit(unsigned int flags); /* libcuda.so.1 */

int main(int argc, char **argv)
{
	void *volatile warm = malloc(64);
	struct timespec ts;
	uint64_t t0, t1;
	double s;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_gpujob SECONDS\n");
		return 2;
	}
	free(warm);
	if (getenv("BENCH_WARM_PROC_LOCKS")) {
		char buf[4096];
		FILE *f = fopen("/proc/locks", "r");

		while (f && fread(buf, 1, sizeof buf, f) > 0)
			;
		if (f)
			fclose(f);
	}
	s = strtod(argv[1], NULL);
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)(time_t)s) * 1e9);
	t0 = now_ns();
	if (cuInit(0) != 0) {
		fprintf(stderr, "bench_gpujob: cuInit failed\n");
		return 1;
	}
	t1 = now_ns();
	printf("A %llu %llu\n", (unsigned long long)t1, (unsigned long long)(t1 - t0));
	fflush(stdout);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	printf("E %llu\n", (unsigned long long)now_ns());
	return 0;
}
