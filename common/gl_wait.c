#include "gl_wait.h"
#include "gl_interrupt.h"
#include "gl_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

double gl_wait_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gl_flock(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

double gl_wait_reminder_at(unsigned k)
{
	static const double first[] = {60, 300, 900, 3600};

	if (k < sizeof first / sizeof first[0])
		return first[k];
	return 3600.0 * (k - 2);
}

/* An fd of ours in use for a wait, on the registry below. */
struct owned_fd {
	int fd;
	struct owned_fd *prev, *next;
};

/* One wait, shared by the caller and its threads; freed by the last of them
 * to leave. */
struct multi_wait {
	pthread_mutex_t mu;
	int op;
	int winner;     /* index of the first fd locked, -1 */
	int error;      /* first error of a thread, 0 */
	bool over;      /* the caller has stopped waiting, and closed wake */
	bool shared;    /* gl_wait.shared: late locks are left to the caller's fds */
	int refs;       /* threads still running, plus the caller */
	struct owned_fd wake; /* eventfd: a thread has a result (or a stop signal came) */
};

/* A helper thread and its duplicate of the caller's fd. */
struct fd_waiter {
	struct multi_wait *wait;
	int index;
	struct owned_fd dup;
};

/* Our fds in use for waits (the threads' duplicates, the wake-up eventfds),
 * listed so that a fork can close them in the child: nothing there will,
 * and a duplicate left open would keep a lock granted to it later. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct owned_fd *registry;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&registry_mu);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&registry_mu);
}

/* The memory is left as it is: in the parent it is still in use. */
static void fork_child(void)
{
	for (struct owned_fd *o = registry; o; o = o->next)
		close(o->fd);
	registry = NULL;
	pthread_mutex_unlock(&registry_mu);
	gl_interrupt_forget();
}

static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* With registry_mu held. */
static void registry_add(struct owned_fd *o, int fd)
{
	o->fd = fd;
	o->prev = NULL;
	o->next = registry;
	if (registry)
		registry->prev = o;
	registry = o;
}

/* Close the fd and take it off the list, as one step for a fork. */
static void owned_close(struct owned_fd *o)
{
	pthread_mutex_lock(&registry_mu);
	if (o->prev)
		o->prev->next = o->next;
	else
		registry = o->next;
	if (o->next)
		o->next->prev = o->prev;
	close(o->fd);
	pthread_mutex_unlock(&registry_mu);
}

static void multi_wait_free(struct multi_wait *r)
{
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void *fd_waiter_main(void *arg)
{
	struct fd_waiter *me = arg;
	struct multi_wait *r = me->wait;
	int res = gl_flock(me->dup.fd, r->op);
	uint64_t one = 1;
	bool last;

	pthread_mutex_lock(&r->mu);
	if (res == 0 && !r->over && r->winner < 0)
		r->winner = me->index; /* the lock stays: the caller's fd shares it */
	else if (res == 0 && !r->shared)
		(void)flock(me->dup.fd, LOCK_UN); /* not wanted any more: see gl_wait.h */
	else if (res < 0 && !r->error)
		r->error = res;
	/* Once over, the caller has closed wake: nobody is listening. */
	if (!r->over && write(r->wake.fd, &one, sizeof one) < 0) {
		/* the count is at its maximum: the caller is awake already */
	}
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	owned_close(&me->dup);
	free(me);
	if (last)
		multi_wait_free(r);
	return NULL;
}

/* Start a thread blocking on a duplicate of fd. 0 or -errno. */
static int start_fd_waiter(struct multi_wait *r, int fd, int index)
{
	struct fd_waiter *me = malloc(sizeof *me);
	int dup, e;

	if (!me)
		return -ENOMEM;
	me->wait = r;
	me->index = index;
	pthread_mutex_lock(&registry_mu);
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0) {
		e = -errno;
		pthread_mutex_unlock(&registry_mu);
		free(me);
		return e;
	}
	registry_add(&me->dup, dup);
	pthread_mutex_unlock(&registry_mu);
	pthread_mutex_lock(&r->mu);
	r->refs++;
	pthread_mutex_unlock(&r->mu);
	e = gl_thread_start(fd_waiter_main, me);
	if (e) {
		pthread_mutex_lock(&r->mu);
		r->refs--;
		pthread_mutex_unlock(&r->mu);
		owned_close(&me->dup);
		free(me);
	}
	return e;
}

/* Sleep on the wake fd until it is written or until `until` (a time on
 * gl_wait_now()'s clock; < 0: no limit). Signals wake us too (EINTR): the
 * caller looks at what changed. */
static void sleep_on(int fd, double until)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t count;
	int ms = -1;

	/* Whole milliseconds, rounded up (never woken early, to spin), and at
	 * most a day at a time (poll's int); the caller looks again. */
	if (until >= 0) {
		double left = until - gl_wait_now();
		ms = left <= 0 ? 0 : left >= 86400 ? 86400000 : (int)(left * 1000) + 1;
	}
	if (poll(&p, 1, ms) > 0 && read(fd, &count, sizeof count) < 0) {
		/* nothing to drain: another wake-up took it */
	}
}

/* The next time the caller must wake up by itself: the deadline or the
 * next reminder, whichever is first; < 0 for neither. */
static double next_wake(const struct gl_wait *w)
{
	double t = w->deadline;

	if (w->remind) {
		double scale = w->remind_scale > 0 ? w->remind_scale : 1;
		double r = w->start + gl_wait_reminder_at(w->reminded) * scale;
		if (t < 0 || r < t)
			t = r;
	}
	return t;
}

/* Gives the reminder that is due at now, if one is. */
static bool remind_due(struct gl_wait *w, double now)
{
	double scale = w->remind_scale > 0 ? w->remind_scale : 1;

	if (!w->remind || now < w->start + gl_wait_reminder_at(w->reminded) * scale)
		return false;
	/* One line, however many fell due (after a SIGSTOP, say). */
	while (now >= w->start + gl_wait_reminder_at(w->reminded + 1) * scale)
		w->reminded++;
	w->remind(now - w->start, w->arg);
	w->reminded++;
	return true;
}

/* Wait for the first result, the deadline or (when armed) a stop signal,
 * giving the reminders that fall due meanwhile. 0 and *winner, or -errno. */
static int wait_first_result(struct multi_wait *r, struct gl_wait *w, bool armed, int *winner)
{
	for (;;) {
		double now;
		int res = 1;

		pthread_mutex_lock(&r->mu);
		if (r->winner >= 0) {
			*winner = r->winner;
			res = 0;
		} else if (r->error) {
			res = r->error;
		}
		pthread_mutex_unlock(&r->mu);
		if (res <= 0)
			return res;
		if (armed && (w->signal = gl_interrupt_caught()) != 0)
			return -EINTR;
		now = gl_wait_now();
		if (w->deadline >= 0 && now >= w->deadline)
			return -ETIMEDOUT;
		if (remind_due(w, now))
			continue;
		sleep_on(r->wake.fd, next_wake(w));
	}
}

/* The caller leaves: from now on, threads that get a lock let it go (or,
 * shared, leave it to the caller's fds). */
static void leave_multi_wait(struct multi_wait *r, const int *fds, int res)
{
	bool last;

	pthread_mutex_lock(&r->mu);
	r->over = true;
	/* Failed after a thread had won (starting the others, say): that
	 * lock is not wanted either. */
	if (res < 0 && r->winner >= 0 && !r->shared)
		(void)flock(fds[r->winner], LOCK_UN);
	owned_close(&r->wake); /* under mu: no thread writes to it now */
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (last)
		multi_wait_free(r);
}

int gl_wait_first(const int *fds, int n, int op, struct gl_wait *w, int *winner)
{
	struct multi_wait *r;
	bool armed = false;
	int res = 0, wake;

	w->signal = 0;
	if (n < 1)
		return -EINVAL;
	if (w->deadline >= 0 && gl_wait_now() >= w->deadline)
		return -ETIMEDOUT;
	if (n == 1 && w->deadline < 0 && !w->remind && !w->interruptible) {
		*winner = 0;
		return gl_flock(fds[0], op);
	}
	pthread_once(&atfork_once, atfork_register);
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&registry_mu);
	/* The system call, not eventfd(3): its symbol version (GLIBC_2.7) would
	 * cost every process that loads the preload a check at load time. */
	wake = (int)syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wake >= 0)
		registry_add(&r->wake, wake);
	else
		res = -errno;
	pthread_mutex_unlock(&registry_mu);
	if (wake < 0) {
		free(r);
		return res;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->op = op;
	r->winner = -1;
	r->refs = 1;
	r->shared = w->shared;
	if (w->interruptible)
		armed = gl_interrupt_arm(r->wake.fd);
	for (int i = 0; i < n && res == 0; i++)
		res = start_fd_waiter(r, fds[i], i);
	if (res == 0)
		res = wait_first_result(r, w, armed, winner);
	if (armed)
		gl_interrupt_disarm();
	leave_multi_wait(r, fds, res);
	return res;
}

int gl_wait_pause(struct gl_wait *w, double seconds)
{
	double until = gl_wait_now() + seconds;
	struct owned_fd wake;
	bool armed = false;
	int res = 0, fd;

	w->signal = 0;
	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&registry_mu);
	fd = (int)syscall(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		registry_add(&wake, fd);
	else
		res = -errno;
	pthread_mutex_unlock(&registry_mu);
	if (fd < 0)
		return res;
	if (w->interruptible)
		armed = gl_interrupt_arm(wake.fd);
	for (;;) {
		double now = gl_wait_now(), t;

		if (armed && (w->signal = gl_interrupt_caught()) != 0) {
			res = -EINTR;
			break;
		}
		if (w->deadline >= 0 && now >= w->deadline) {
			res = -ETIMEDOUT;
			break;
		}
		if (now >= until)
			break;
		if (remind_due(w, now))
			continue;
		t = next_wake(w);
		sleep_on(wake.fd, t < 0 || t > until ? until : t);
	}
	if (armed)
		gl_interrupt_disarm();
	owned_close(&wake);
	return res;
}
