#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* A bounded wait without signals: flock(2) has no timeout, and a SIGALRM
 * timer (what flock(1) uses) would disturb the host program's signals. A
 * helper thread, with every signal blocked, makes the blocking call on a
 * duplicate of the fd while the caller waits on a condition variable. If the
 * caller gives up first (and closes its fd), the helper closes its duplicate
 * as soon as flock returns, which drops the lock. */
enum { W_WAITING, W_LOCKED, W_ABANDONED };

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd; /* our own dup: the caller may close its fd */
	int op; /* LOCK_EX or LOCK_SH */
	int state;
	int result;
};

static void waiter_free(struct waiter *w)
{
	close(w->fd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int r = flock_retry(w->fd, w->op);
	bool abandoned;

	pthread_mutex_lock(&w->mu);
	abandoned = w->state == W_ABANDONED;
	if (!abandoned) {
		w->state = W_LOCKED;
		w->result = r;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	/* Given up on: closing our duplicate drops the lock unless another fd
	 * still refers to the description (a child forked during the wait
	 * shares it and keeps it); an explicit LOCK_UN would take it from that
	 * child too. */
	if (abandoned)
		waiter_free(w);
	return NULL;
}

static int wait_bounded(int fd, int op, double timeout)
{
	struct waiter *w = calloc(1, sizeof *w);
	pthread_condattr_t ca;
	struct timespec deadline;
	int r;

	if (!w)
		return -ENOMEM;
	w->op = op;
	w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w->fd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);

	r = gl_thread_start(waiter_main, w);
	if (r) {
		waiter_free(w);
		return r;
	}

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&w->mu);
	while (w->state == W_WAITING) {
		if (pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == ETIMEDOUT)
			break;
	}
	if (w->state == W_LOCKED) {
		r = w->result;
		pthread_mutex_unlock(&w->mu);
		waiter_free(w); /* the lock stays: it belongs to the shared description */
		return r;
	}
	w->state = W_ABANDONED; /* the helper cleans up when flock returns */
	pthread_mutex_unlock(&w->mu);
	return -ETIMEDOUT;
}

static int take(int fd, int op, double timeout, gl_lock_wait_fn on_wait, void *arg, bool *waited)
{
	int r = flock_retry(fd, op | LOCK_NB);

	*waited = false;
	if (r != -EWOULDBLOCK)
		return r;
	*waited = true;
	if (timeout == 0)
		return -ETIMEDOUT;
	if (on_wait)
		on_wait(fd, arg);
	if (timeout < 0)
		return flock_retry(fd, op);
	return wait_bounded(fd, op, timeout);
}

int gl_lock_acquire(int fd, double timeout, gl_lock_wait_fn on_wait, void *arg, bool *waited)
{
	return take(fd, LOCK_EX, timeout, on_wait, arg, waited);
}

int gl_lock_wait_free(int fd, double timeout)
{
	bool waited;
	int r = take(fd, LOCK_SH, timeout, NULL, NULL, &waited);

	if (r == 0)
		flock(fd, LOCK_UN); /* our own description: nobody else shares it */
	return r;
}

int gl_lock_is_held(const char *path)
{
	int fd, r;

	r = gl_lockfile_open(path, &fd);
	if (r < 0)
		return r;
	r = flock_retry(fd, LOCK_SH | LOCK_NB);
	close(fd); /* closing drops the probe lock, if we got it */
	if (r == 0)
		return 0;
	return r == -EWOULDBLOCK ? 1 : r;
}
