/* A host program with habits of its own, one mode per habit, for the tests
 * of what the preload does around them. Every mode reaches cuInit through
 * dlsym and prints one line on stdout; the exit status is 0 only if what it
 * checked held.
 *
 *   interrupt [restart]  handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT
 *                        (with SA_RESTART if asked); prints "cuInit=R
 *                        signal=N same=1": the signal its handler saw, and
 *                        whether every disposition and the mask are as set
 *   timeout-fork         (run with GPU_LOCK_TIMEOUT and ON_TIMEOUT=run) after
 *                        cuInit, forks a child; both wait for stdin's end.
 *                        Prints "cuInit=R child=PID"
 *   fork-in-getenv       forks while the preload reads its first setting
 *                        (from inside getenv, which this program defines);
 *                        the child calls cuInit too. Prints "cuInit=R
 *                        child=S" with the child's exit status
 *   environ              calls setenv first, so that environ is glibc's
 *                        own array, then cuInit; prints "cuInit=R intact=1
 *                        held=1" when that array was neither reallocated
 *                        (which may free it under a reader in another
 *                        thread) nor changed, and GPU_LOCK_HELD is set
 *   locale NAME          setlocale(LC_ALL, NAME) first; prints "cuInit=R"
 *   tls                  cuInit from a program with 128 KiB of static TLS,
 *                        which glibc takes from every thread's stack;
 *                        prints "cuInit=R" */
#include <dlfcn.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static unsigned int cu_init(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	unsigned int (*fn)(unsigned int) = h ? (unsigned int (*)(unsigned int))dlsym(h, "cuInit") : NULL;

	return fn ? fn(0) : 999;
}

static void wait_stdin_eof(void)
{
	char buf[64];

	while (read(0, buf, sizeof buf) > 0)
		;
}

/* ---- interrupt ---- */

static volatile sig_atomic_t seen;

static void on_stop(int sig)
{
	seen = sig;
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(a, s) != sigismember(b, s))
			return 0;
	return 1;
}

static int interrupt(int restart)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, before[NSIG], after;
	sigset_t mask_before, mask_after;
	int valid[NSIG], same = 1;

	sigemptyset(&mask_before);
	sigemptyset(&mask_after);
	unsigned int r;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaddset(&sa.sa_mask, SIGUSR2); /* a mask of its own, to be kept */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	memset(before, 0, sizeof before);
	for (int s = 1; s < NSIG; s++)
		valid[s] = sigaction(s, NULL, &before[s]) == 0;
	sigprocmask(SIG_BLOCK, NULL, &mask_before);
	r = cu_init();
	for (int s = 1; s < NSIG; s++) {
		memset(&after, 0, sizeof after);
		if (!valid[s] || sigaction(s, NULL, &after) != 0)
			continue;
		if (after.sa_handler != before[s].sa_handler || after.sa_flags != before[s].sa_flags ||
		    !same_mask(&after.sa_mask, &before[s].sa_mask)) {
			fprintf(stderr, "signal %d changed: handler %p/%p flags %x/%x\n", s, (void *)after.sa_handler, (void *)before[s].sa_handler, after.sa_flags, before[s].sa_flags);
			same = 0;
		}
	}
	sigprocmask(SIG_BLOCK, NULL, &mask_after);
	if (!same_mask(&mask_before, &mask_after)) {
		fprintf(stderr, "the mask changed\n");
		same = 0;
	}
	printf("cuInit=%u signal=%d same=%d\n", r, (int)seen, same);
	return !same;
}

/* ---- timeout-fork ---- */

static int timeout_fork(void)
{
	unsigned int r = cu_init();
	pid_t child;

	fflush(stdout);
	child = fork();
	if (child == 0) {
		wait_stdin_eof();
		_exit(0);
	}
	printf("cuInit=%u child=%d\n", r, (int)child);
	fflush(stdout);
	wait_stdin_eof();
	return child < 0 || waitpid(child, NULL, 0) != child;
}

/* ---- fork-in-getenv ---- */

/* The preload's settings are read through getenv: this program's own, found
 * first by the loader (it is linked with --export-dynamic). The first read
 * of GPU_LOCK_PATH in the GPU thread holds there until the main thread has
 * forked. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage; /* 1: the GPU thread is inside the read; 2: forked */
static __thread int in_gpu_thread;

char *getenv(const char *name)
{
	size_t n = strlen(name);

	if (in_gpu_thread && strcmp(name, "GPU_LOCK_PATH") == 0) {
		pthread_mutex_lock(&mu);
		if (stage == 0) {
			stage = 1;
			pthread_cond_broadcast(&cv);
			while (stage != 2)
				pthread_cond_wait(&cv, &mu);
		}
		pthread_mutex_unlock(&mu);
	}
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static void *gpu_main(void *arg)
{
	in_gpu_thread = 1;
	*(unsigned int *)arg = cu_init();
	return NULL;
}

static int fork_in_getenv(void)
{
	unsigned int r = 999;
	int status = -1;
	pthread_t gpu_thread;
	pid_t child;

	pthread_mutex_lock(&mu);
	pthread_create(&gpu_thread, NULL, gpu_main, &r);
	while (stage != 1)
		pthread_cond_wait(&cv, &mu);
	child = fork();
	if (child == 0) /* the reader is gone here: its read must not be waited for */
		_exit(cu_init() == 0 ? 0 : 1);
	stage = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(gpu_thread, NULL);
	if (child > 0)
		waitpid(child, &status, 0);
	printf("cuInit=%u child=%d\n", r, WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return r != 0 || status != 0;
}

/* ---- environ ---- */

/* This program's realloc, found first by the loader, like its getenv:
 * glibc's setenv grows environ with it. It notes a realloc of the array
 * being watched, which would free it under a concurrent getenv, and hands
 * the call on to the next realloc (libc's, or a sanitizer's or valgrind's
 * where one is in use). */
static char **watched;
static int watched_reallocated;

void *realloc(void *p, size_t n)
{
	static void *(*next)(void *, size_t);

	if (!next)
		next = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	if (p && p == (void *)watched)
		watched_reallocated = 1;
	return next(p, n);
}

static int environ_mode(void)
{
	char **old, **copy;
	size_t n = 0;
	int intact = 1;
	const char *held;
	unsigned int r;

	setenv("GL_CLIENT_HOST", "1", 1); /* environ is now glibc's, from the heap */
	old = watched = environ;
	while (old[n])
		n++;
	copy = malloc((n + 1) * sizeof *copy);
	memcpy(copy, old, (n + 1) * sizeof *copy);
	r = cu_init();
	/* A reader in another thread could still be walking the old array: it
	 * must be as it was (a freed one would be scribbled over by
	 * MALLOC_PERTURB_, which meson test sets). */
	for (size_t i = 0; i <= n && !watched_reallocated; i++)
		if (old[i] != copy[i])
			intact = 0;
	if (watched_reallocated)
		intact = 0;
	held = getenv("GPU_LOCK_HELD");
	printf("cuInit=%u intact=%d held=%d\n", r, intact, held && !strncmp(held, "gpulock:", 8));
	free(copy);
	return r != 0 || !intact;
}

/* Static TLS: a small thread stack cannot hold it. */
static __thread char big_tls[128 * 1024];

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "interrupt") == 0)
		return interrupt(argc > 2 && strcmp(argv[2], "restart") == 0);
	if (strcmp(mode, "timeout-fork") == 0)
		return timeout_fork();
	if (strcmp(mode, "fork-in-getenv") == 0)
		return fork_in_getenv();
	if (strcmp(mode, "environ") == 0)
		return environ_mode();
	if (strcmp(mode, "tls") == 0) {
		big_tls[0] = 1;
		printf("cuInit=%u\n", cu_init());
		return big_tls[0] != 1;
	}
	if (strcmp(mode, "locale") == 0 && argc > 2) {
		unsigned int r;

		if (!setlocale(LC_ALL, argv[2])) {
			fprintf(stderr, "no locale %s\n", argv[2]);
			return 2;
		}
		r = cu_init();
		printf("cuInit=%u\n", r);
		return 0;
	}
	fprintf(stderr, "usage: client_host interrupt|timeout-fork|fork-in-getenv|environ|locale\n");
	return 2;
}
