/* One GPU job of the stress runs: cuInit through the preload (the lock),
 * then a critical section checked by the referee, then exit. */
#include "stress_shared.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_EXITING 0x4 /* include/linux/sched.h: set before its files close */

/* Alive and not on its way out: an exiting process drops its locks before
 * it becomes a zombie, so a successor may legitimately see it still there. */
static int alive(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	char state = 'X';
	FILE *f;

	if (kill(pid, 0) < 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags);
	if (f)
		fclose(f);
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

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
	if (prev && alive(prev)) {
		atomic_fetch_add(&ref->overlaps, 1);
		atomic_store(&ref->last_overlap[0], prev);
		atomic_store(&ref->last_overlap[1], self);
	}
	atomic_fetch_add(&ref->entries, 1);
	if (work_us)
		usleep(work_us);
	prev = self;
	atomic_compare_exchange_strong(&ref->owner, &prev, 0);
	return 0;
}
