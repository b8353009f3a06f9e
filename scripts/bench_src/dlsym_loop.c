/* ns per dlsym() of a non-CUDA name ("cos" in libm), the call every
 * dlopen-based program makes; run with and without the preload.
 *
 *   bench_dlsym CALLS BATCHES    prints "MIN MEDIAN": ns per call, over the
 *                                batches (the minimum: the least disturbed) */
#include "common.h"

#include <dlfcn.h>

int main(int argc, char **argv)
{
	long calls, batches;
	double *ns, med;
	void *h;
	volatile uintptr_t sink = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_dlsym CALLS BATCHES\n");
		return 2;
	}
	calls = arg_long(argv[1], "calls");
	batches = arg_long(argv[2], "batches");
	ns = calloc((size_t)batches, sizeof *ns);
	h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	if (!h || !dlsym(h, "cos")) {
		fprintf(stderr, "bench_dlsym: %s\n", dlerror());
		return 1;
	}
	for (long i = 0; i < calls / 10; i++) /* warm-up */
		sink ^= (uintptr_t)dlsym(h, "cos");
	for (long b = 0; b < batches; b++) {
		uint64_t t0 = now_ns();

		for (long i = 0; i < calls; i++)
			sink ^= (uintptr_t)dlsym(h, "cos");
		ns[b] = (double)(now_ns() - t0) / (double)calls;
	}
	med = median(ns, (int)batches); /* sorts: ns[0] is the minimum */
	printf("%.3f %.3f\n", ns[0], med);
	return 0;
}
