/* GPU discovery as the preload makes it at a first GPU call: the time of
 * gl_gpus_from_proc (common/gl_gpus.c, linked from build-bench's common
 * library) over a directory of <bus id>/information files.
 *
 *   bench_discover DIR CALLS BATCHES   prints "gpus N", "first NS" (the
 *       process's first call) and "batch MIN MEDIAN" (ns per call over
 *       BATCHES batches of CALLS calls) */
#include "common.h"
#include "gl_gpus.h"

int main(int argc, char **argv)
{
	static struct gl_gpu_list list;
	long calls, batches;
	double *ns, med;
	uint64_t t0;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_discover DIR CALLS BATCHES\n");
		return 2;
	}
	calls = arg_long(argv[2], "calls");
	batches = arg_long(argv[3], "batches");
	ns = calloc((size_t)batches, sizeof *ns);
	t0 = now_ns();
	r = gl_gpus_from_proc(argv[1], &list);
	printf("first %llu\n", (unsigned long long)(now_ns() - t0));
	if (r < 0 || !ns) {
		fprintf(stderr, "bench_discover: %s: error %d\n", argv[1], r);
		return 1;
	}
	printf("gpus %u\n", list.n);
	for (long b = 0; b < batches; b++) {
		t0 = now_ns();
		for (long i = 0; i < calls; i++)
			r |= gl_gpus_from_proc(argv[1], &list);
		ns[b] = (double)(now_ns() - t0) / (double)calls;
	}
	med = median(ns, (int)batches);
	printf("batch %.1f %.1f\n", ns[0], med);
	return r != 0;
}
