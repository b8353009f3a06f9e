/* ns per repeated cuInit once the first call has run (and, under the
 * preload, taken the lock): through the PLT (programs linked with -lcuda) and
 * through a pointer from dlsym (cudart, numba, JAX).
 *
 *   bench_cuinit CALLS BATCHES   prints "plt MIN MEDIAN" and "dlsym MIN MEDIAN",
 *                                ns per call over the batches */
#include "common.h"

#include <dlfcn.h>

unsigned int cuInit(unsigned int flags); /* linked against libcuda.so.1 */

typedef unsigned int (*cuinit_fn)(unsigned int);

/* fn NULL: call cuInit directly, through the PLT. Prints "MIN MEDIAN". */
static void run(cuinit_fn fn, long calls, long batches, double *ns)
{
	unsigned int bad = 0;
	double med;

	for (long i = 0; i < calls / 10; i++) /* warm-up */
		bad |= fn ? fn(0) : cuInit(0);
	for (long b = 0; b < batches; b++) {
		uint64_t t0 = now_ns();

		if (fn) {
			for (long i = 0; i < calls; i++)
				bad |= fn(0);
		} else {
			for (long i = 0; i < calls; i++)
				bad |= cuInit(0);
		}
		ns[b] = (double)(now_ns() - t0) / (double)calls;
	}
	if (bad) {
		fprintf(stderr, "bench_cuinit: cuInit failed (%u)\n", bad);
		exit(1);
	}
	med = median(ns, (int)batches); /* sorts: ns[0] is the minimum */
	printf("%.3f %.3f\n", ns[0], med);
}

int main(int argc, char **argv)
{
	long calls, batches;
	double *ns;
	cuinit_fn via_dlsym;
	void *h;
	unsigned int r;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_cuinit CALLS BATCHES\n");
		return 2;
	}
	calls = arg_long(argv[1], "calls");
	batches = arg_long(argv[2], "batches");
	ns = calloc((size_t)batches, sizeof *ns);
	r = cuInit(0); /* the first call: takes the lock under the preload */
	if (r) {
		fprintf(stderr, "bench_cuinit: first cuInit returned %u\n", r);
		return 1;
	}
	h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	via_dlsym = h ? (cuinit_fn)dlsym(h, "cuInit") : NULL;
	if (!via_dlsym) {
		fprintf(stderr, "bench_cuinit: %s\n", dlerror());
		return 1;
	}
	printf("plt ");
	run(NULL, calls, batches, ns);
	printf("dlsym ");
	run(via_dlsym, calls, batches, ns);
	return 0;
}
