/* Many threads reach cuInit at the same moment (released together by a
 * barrier); the preload must take the lock once and let all of them in. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 16

typedef unsigned int (*cuinit_fn)(unsigned int);
static cuinit_fn cu_init;
static pthread_barrier_t start;
static unsigned int results[THREADS];

static void *run(void *arg)
{
	unsigned int *result = arg;

	pthread_barrier_wait(&start);
	*result = cu_init(0);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	unsigned int worst = 0;

	if (!h || !(cu_init = (cuinit_fn)dlsym(h, "cuInit"))) {
		fprintf(stderr, "client_threads: no driver: %s\n", dlerror());
		return 2;
	}
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, run, &results[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (results[i] > worst)
			worst = results[i];
	}
	printf("cuInit=%u\n", worst);
	return worst ? 1 : 0;
}
