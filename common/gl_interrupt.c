#include "gl_interrupt.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSTOP (sizeof stop_signals / sizeof stop_signals[0])

/* The host's actions, read by the trampoline: written before it is
 * installed, never cleared (a delivery may still be on its way in). */
static struct sigaction host_action[NSTOP];
static bool wrapped[NSTOP];
static atomic_int wake_fd = -1;
static atomic_int caught;
static atomic_int in_flight; /* trampolines between reading wake_fd and writing it */

static int slot_of(int sig)
{
	for (unsigned i = 0; i < NSTOP; i++)
		if (stop_signals[i] == sig)
			return (int)i;
	return -1;
}

/* A function to call, not SIG_DFL or SIG_IGN. The flags do not say:
 * SA_RESETHAND resets the handler to SIG_DFL and leaves SA_SIGINFO on. */
static bool is_handler(const struct sigaction *a)
{
	return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

static void trampoline(int sig, siginfo_t *info, void *ctx)
{
	int saved, i = slot_of(sig), fd;
	const struct sigaction *h;

	/* The host's handler first, as the kernel would have called it (with
	 * SA_RESETHAND the kernel has already reset the disposition): the
	 * waiter, woken next, must find its work done. */
	if (i >= 0) {
		h = &host_action[i];
		if (is_handler(h) && (h->sa_flags & SA_SIGINFO))
			h->sa_sigaction(sig, info, ctx);
		else if (is_handler(h))
			h->sa_handler(sig);
	}
	saved = errno;
	atomic_fetch_add(&in_flight, 1);
	fd = atomic_load(&wake_fd);
	if (fd >= 0) {
		uint64_t one = 1;
		atomic_store(&caught, sig);
		if (write(fd, &one, sizeof one) < 0) {
			/* an eventfd at its maximum count is awake already */
		}
	}
	atomic_fetch_sub(&in_flight, 1);
	errno = saved;
}

static bool is_trampoline(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == trampoline;
}

/* Put the host's action back where ours still is. Where SA_RESETHAND has
 * reset ours to SIG_DFL, the host's flags go back too (without the
 * SA_SIGINFO we added). Async-signal-safe. */
static void restore(unsigned i)
{
	struct sigaction cur;

	if (sigaction(stop_signals[i], NULL, &cur) < 0)
		return;
	if (is_trampoline(&cur)) {
		sigaction(stop_signals[i], &host_action[i], NULL);
	} else if (cur.sa_handler == SIG_DFL && (host_action[i].sa_flags & SA_RESETHAND) &&
	           (cur.sa_flags & SA_SIGINFO) && !(host_action[i].sa_flags & SA_SIGINFO)) {
		struct sigaction reset = host_action[i];

		reset.sa_handler = SIG_DFL;
		sigaction(stop_signals[i], &reset, NULL);
	}
	/* Anything else the host installed meanwhile: its decision, kept. */
}

bool gl_interrupt_arm(int fd)
{
	int expect = -1;

	if (!atomic_compare_exchange_strong(&wake_fd, &expect, fd))
		return false;
	atomic_store(&caught, 0);
	for (unsigned i = 0; i < NSTOP; i++) {
		struct sigaction cur, ours;

		wrapped[i] = false;
		if (sigaction(stop_signals[i], NULL, &cur) < 0 || !is_handler(&cur) ||
		    is_trampoline(&cur))
			continue;
		host_action[i] = cur;
		/* The host's mask and flags (SA_RESTART, SA_NODEFER,
		 * SA_RESETHAND, SA_ONSTACK) stay as they were. */
		ours = cur;
		ours.sa_flags |= SA_SIGINFO;
		ours.sa_sigaction = trampoline;
		wrapped[i] = sigaction(stop_signals[i], &ours, NULL) == 0;
	}
	return true;
}

int gl_interrupt_caught(void)
{
	return atomic_load(&caught);
}

void gl_interrupt_disarm(void)
{
	for (unsigned i = 0; i < NSTOP; i++) {
		if (!wrapped[i])
			continue;
		wrapped[i] = false;
		restore(i);
	}
	atomic_store(&wake_fd, -1);
	/* A trampoline on another thread may have read the fd just before:
	 * let it finish its write before the caller closes the fd. */
	while (atomic_load(&in_flight) > 0)
		sched_yield();
}

void gl_interrupt_forget(void)
{
	for (unsigned i = 0; i < NSTOP; i++) {
		if (wrapped[i])
			restore(i);
		wrapped[i] = false;
	}
	atomic_store(&caught, 0);
	atomic_store(&in_flight, 0); /* the parent's trampolines are not ours */
	atomic_store(&wake_fd, -1);
}
