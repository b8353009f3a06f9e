#include "gl_thread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

/* pthread_create with every signal blocked in the new thread. */
static int create(pthread_attr_t *ta, void *(*fn)(void *), void *arg)
{
	pthread_t tid;
	sigset_t all;
	int r;

	sigfillset(&all);
#ifdef __GLIBC__
	pthread_attr_setsigmask_np(ta, &all); /* the caller's own mask never moves */
	r = pthread_create(&tid, ta, fn, arg);
#else
	/* No such attribute in other C libraries (musl, for cpu_run): the new
	 * thread inherits the creator's mask, so block everything around the
	 * create. A signal arriving meanwhile stays pending, it is not lost. */
	{
		sigset_t old;

		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&tid, ta, fn, arg);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
#endif
	return r;
}

int gl_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t ta;
	int r;

	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	/* Small: a cpu_run head waits with one thread per slot. */
	pthread_attr_setstacksize(&ta, (size_t)64 * 1024);
	r = create(&ta, fn, arg);
	if (r == EINVAL) {
		/* glibc takes a host's static TLS from each thread's stack: with
		 * 64 KiB or more of it, a stack that small cannot be made. */
		pthread_attr_destroy(&ta);
		pthread_attr_init(&ta);
		pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
		r = create(&ta, fn, arg);
	}
	pthread_attr_destroy(&ta);
	return -r;
}
