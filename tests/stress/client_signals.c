/* A host program with its own signal set-up: handlers for SIGALRM (without
 * SA_RESTART, so a blocked call sees EINTR), SIGCHLD and SIGWINCH, and
 * SIGUSR1 blocked. It reaches cuInit (which may wait for the lock; the test
 * sends those signals during the wait, which must go on) and then checks
 * that every disposition and the mask are exactly as it set them. Prints
 * "cuInit=R alarms=N others=M same=1". */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static volatile sig_atomic_t others;

static void on_other(int sig)
{
	(void)sig;
	others++;
}

int main(void)
{
	struct sigaction sa, before[NSIG], after;
	sigset_t mask, mask_before, mask_after;
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	unsigned int (*cu_init)(unsigned int) = h ? (unsigned int (*)(unsigned int))dlsym(h, "cuInit") : NULL;
	unsigned int r;
	int same = 1;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm; /* no SA_RESTART on purpose */
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_other;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_flags = 0;
	sigaction(SIGWINCH, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	int valid[NSIG];

	/* glibc reserves a few real-time signals for itself: sigaction refuses
	 * them (EINVAL), so they are left out of the comparison. */
	memset(before, 0, sizeof before);
	for (int s = 1; s < NSIG; s++)
		valid[s] = sigaction(s, NULL, &before[s]) == 0;
	sigprocmask(SIG_BLOCK, NULL, &mask_before);
	if (!cu_init)
		return 2;
	r = cu_init(0);
	for (int s = 1; s < NSIG; s++) {
		memset(&after, 0, sizeof after);
		if (!valid[s] || sigaction(s, NULL, &after) != 0)
			continue;
		if (after.sa_handler != before[s].sa_handler || after.sa_flags != before[s].sa_flags) {
			fprintf(stderr, "signal %d changed\n", s);
			same = 0;
		}
	}
	sigprocmask(SIG_BLOCK, NULL, &mask_after);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&mask_before, s) != sigismember(&mask_after, s)) {
			fprintf(stderr, "mask of signal %d changed\n", s);
			same = 0;
		}
	printf("cuInit=%u alarms=%d others=%d same=%d\n", r, (int)alarms, (int)others, same);
	return r || !same;
}
