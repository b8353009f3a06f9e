/* A GPU job for the demo: reaches cuInit the way cudart does (dlopen,
 * cuGetProcAddress_v2), "works" for a while, exits. Every line is stamped
 * with seconds since DEMO_T0 (nanoseconds since the epoch, as date +%s%N prints), so two jobs printing to
 * one terminal make a timeline. Works against the real driver or the fake. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef unsigned int (*gpa_fn)(const char *, void **, int, uint64_t, unsigned int *);
typedef unsigned int (*init_fn)(unsigned int);
typedef unsigned int (*count_fn)(int *);

static double t0;

static double since_t0(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - t0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "job";
	int work_ms = argc > 2 ? atoi(argv[2]) : 1000;
	const char *t0s = getenv("DEMO_T0");
	unsigned int status, r;
	void *h, *p = NULL;
	int count = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = t0s ? strtod(t0s, NULL) / 1e9 : 0;
	printf("%7.3fs  %s: started (pid %d), loading libcuda.so.1\n", since_t0(), name, (int)getpid());
	h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h || !(p = dlsym(h, "cuGetProcAddress_v2"))) {
		printf("%7.3fs  %s: no CUDA driver: %s\n", since_t0(), name, dlerror());
		return 1;
	}
	gpa_fn gpa = (gpa_fn)p;
	if (gpa("cuInit", &p, 2000, 0, &status) != 0) {
		printf("%7.3fs  %s: the driver has no cuInit\n", since_t0(), name);
		return 1;
	}
	printf("%7.3fs  %s: calling cuInit\n", since_t0(), name);
	r = ((init_fn)p)(0);
	if (r != 0) {
		printf("%7.3fs  %s: cuInit failed with %u\n", since_t0(), name, r);
		return 1;
	}
	if (gpa("cuDeviceGetCount", &p, 2000, 0, &status) == 0)
		((count_fn)p)(&count);
	printf("%7.3fs  %s: on the GPU (%d device%s), working for %.1fs\n", since_t0(), name, count,
	       count == 1 ? "" : "s", work_ms / 1e3);
	usleep(work_ms * 1000);
	printf("%7.3fs  %s: done, exiting\n", since_t0(), name);
	return 0;
}
