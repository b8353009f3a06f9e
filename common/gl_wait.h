/* The lock core's one wait for flock(2) locks: block until the first of
 * several fds can be locked, with one absolute deadline, reminders while it
 * lasts, and (for the preload) an end on the signals that mean "stop".
 * The GPU lock, gpulock wait and cpu_run's queue and slots all wait here.
 *
 * flock(2) has no timeout and no "any of": one helper thread per fd makes
 * the blocking call on its own duplicate of the fd, with every signal
 * blocked, and the caller waits for the first result. Where there is
 * nothing to bound (one fd, no deadline, no reminders, not interruptible)
 * the caller makes the plain blocking call itself.
 *
 * The abandonment rule. A wait can end without wanting every lock its
 * threads asked for: the deadline passed, a stop signal came, or another fd
 * won. The threads stay blocked in the kernel until their flock returns
 * (nothing else ends a flock); a thread granted a lock nobody wants any more
 * releases it (LOCK_UN) and closes its duplicate, so a given-up wait never
 * ends up holding a lock. The threads' duplicates never reach another
 * process: they are close-on-exec, and closed in the child of a fork.
 * A caller whose own fds may be in other processes says so (shared): the
 * kernel keeps one lock per open file description, so a LOCK_UN would also
 * take the lock from a process that shares it and waits on it itself (the
 * preload's forked children share their parent's wait). Then a late lock
 * is only left to the caller's fds, and the caller closes them when it
 * gives up: the lock can only come to a process that kept a copy.
 * Until their flock returns, a given-up wait's threads and duplicates live
 * on (one of each per fd): a process that gives up and waits again, many
 * times while one holder keeps the lock, has that many.
 *
 * Returns are 0 or -errno; nothing here prints, exits or leaves a signal
 * disposition or mask changed. */
#ifndef GL_WAIT_H
#define GL_WAIT_H

#include <stdbool.h>

#define GL_WAIT_FOREVER (-1.0)

/* Seconds on CLOCK_MONOTONIC: the clock of every deadline here. */
double gl_wait_now(void);

/* flock(2), retried on EINTR. 0 or -errno. */
int gl_flock(int fd, int op);

/* Called at the reminder times with the seconds waited so far. */
typedef void (*gl_wait_remind_fn)(double waited, void *arg);

/* One caller's wait, which may span several gl_wait_first calls (cpu_run
 * waits in the queue, then for a slot): zero it, set the inputs, and pass
 * the same struct each time, so that reminders follow one schedule. */
struct gl_wait {
	double start;             /* when the caller began waiting (gl_wait_now()) */
	double deadline;          /* on the same clock; < 0: none */
	gl_wait_remind_fn remind; /* NULL: no reminders */
	void *arg;
	double remind_scale;      /* 0 or 1: the standard schedule; tests shrink it */
	/* SIGINT, SIGTERM, SIGHUP and SIGQUIT end the wait (-EINTR), after the
	 * host's own handler for them has run. Signals without a handler act
	 * as always (the default ends the process; ignored stays ignored), and
	 * other handled signals (SIGALRM, SIGCHLD, ...) run their handlers
	 * without ending the wait. For a library inside another program: the
	 * handlers are wrapped only while it waits (see gl_wait.c). */
	bool interruptible;
	bool shared;              /* the fds may be in other processes: see above */
	unsigned reminded;        /* state: reminders given so far */
	int signal;               /* out: the signal that ended the wait */
};

/* Seconds of waiting at which reminder k (0, 1, ...) is due: 1, 5, 15 and
 * 60 minutes, then every hour. */
double gl_wait_reminder_at(unsigned k);

/* Lock the first of fds[0..n) that can be locked with op (LOCK_EX or
 * LOCK_SH), blocking as w says. Returns 0 and *winner (an index into fds;
 * the lock belongs to that fd's open file description), -ETIMEDOUT,
 * -EINTR (w->signal says which), or -errno. Does not try first without
 * blocking: callers do, to keep the uncontended path to one system call. */
int gl_wait_first(const int *fds, int n, int op, struct gl_wait *w, int *winner);

/* Sleep for seconds, as a part of the wait w describes: its deadline
 * (-ETIMEDOUT), its stop signals (-EINTR) and its reminders count as in
 * gl_wait_first. 0 when the time is up. For the one wait that has no
 * event to block on (see gl_gpu_machine_shared). */
int gl_wait_pause(struct gl_wait *w, double seconds);

#endif
