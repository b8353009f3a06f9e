/* One GPU job of the stress runs: cuInit through the preload (the lock),
 * then a critical section checked by the referee, then exit. */
#include "stress_shared.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct referee *ref = referee_map(getenv("STRESS_REFEREE"), 0);
	int work_us = argc > 1 ? atoi(argv[1]) : 0;
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	unsigned int (*cu_init)(unsigned int) = h ? (unsigned int (*)(unsigned int))dlsym(h, "cuInit") : NULL;
	int self = getpid(), prev;

	if (!ref || !cu_init)
		return 2;
	if (cu_init(0) != 0)
		return 3;
	prev = atomic_exchange(&ref->owner, self);
	if (prev && referee_alive(prev)) {
		atomic_fetch_add(&ref->overlaps, 1);
		atomic_store(&ref->last_overlap[0], prev);
		atomic_store(&ref->last_overlap[1], self);
	}
	atomic_fetch_add(&ref->entries, 1);
	if (work_us)
		usleep(work_us);
	prev = self;
	atomic_compare_exchange_strong(&ref->owner, &prev, 0);
	/* No exit handlers: in a sanitizer build LeakSanitizer's check at
	 * exit stops the world through a ptrace helper, and a SIGSTOP of the
	 * chaos in the middle of it leaves the client spinning for ever,
	 * holding the lock. */
	_exit(0);
}
