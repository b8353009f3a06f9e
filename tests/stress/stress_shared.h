/* The referee shared by the stress clients: a word in a shared file that
 * names the process inside the critical section. Entering while it names a
 * live process is an overlap: two holders at once. A holder killed inside
 * leaves its pid behind, which is fine once it is dead (the kernel released
 * its lock when it died); a stopped holder is alive and still holds. */
#ifndef STRESS_SHARED_H
#define STRESS_SHARED_H

#include <stdatomic.h>
#include <sys/types.h>

struct referee {
	_Atomic int owner;
	_Atomic int overlaps;
	_Atomic long entries;
	_Atomic int last_overlap[2]; /* the pair, for the report */
};

struct referee *referee_map(const char *path, int create);

/* pid is alive and not on its way out. An exiting process drops its locks
 * (its files close) before it becomes a zombie, so a successor may see it
 * still there: PF_EXITING, set before the files close, tells them apart. */
int referee_alive(pid_t pid);

#endif
