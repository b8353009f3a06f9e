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

static void trampoline(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno, i = slot_of(sig), fd;
	const struct sigaction *h;

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
	if (i < 0)
		return;
	/* As the kernel would have called it: with SA_RESETHAND the kernel has
	 * already reset the disposition, before calling us. */
	h = &host_action[i];
	if (h->sa_flags & SA_SIGINFO)
		h->sa_sigaction(sig, info, ctx);
	else if (h->sa_handler != SIG_DFL && h->sa_handler != SIG_IGN)
		h->sa_handler(sig);
}

static bool is_trampoline(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == trampoline;
}

static bool is_handler(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) ||
	       (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
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
		struct sigaction cur;

		if (!wrapped[i])
			continue;
		wrapped[i] = false;
		/* A handler the host installed meanwhile (or the default that
		 * SA_RESETHAND left) is the host's decision: keep it. */
		if (sigaction(stop_signals[i], NULL, &cur) == 0 && is_trampoline(&cur))
			sigaction(stop_signals[i], &host_action[i], NULL);
	}
	atomic_store(&wake_fd, -1);
	/* A trampoline on another thread may have read the fd just before:
	 * let it finish its write before the caller closes the fd. */
	while (atomic_load(&in_flight) > 0)
		sched_yield();
}
