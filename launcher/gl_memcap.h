/* A hard memory cap for a job through a cgroup v2 the caller may manage
 * itself: as root, or in a subtree delegated to the user (systemd's
 * Delegate=, a container's own cgroup namespace). Never RLIMIT_AS, which
 * caps address space, not memory, and breaks programs that reserve large
 * virtual ranges (the JVM, Go, CUDA, ASan).
 *
 * The calling process moves itself into a new cgroup "cpu_run-PID" with
 * memory.max set and swap forbidden (memory.swap.max = 0: a job over its cap
 * must not push the rest of the machine into swap, the thrashing the cap is
 * there to prevent). The command exec'd afterwards, and everything it
 * starts, stays in it. Empty cgroups of earlier jobs are removed the next
 * time one is made in the same place. */
#ifndef GL_MEMCAP_H
#define GL_MEMCAP_H

#include <stddef.h>

#define GL_MEMCAP_PREFIX "cpu_run-"

/* Enter a new capped cgroup: the nearest cgroup, from ours upwards, that has
 * the memory controller enabled for its children and that we may write.
 * Returns 0 and the new cgroup's directory in path; -ENOTSUP when there is
 * none, with the reason in why (e.g. "cgroup v2 at /sys/fs/cgroup/unified
 * has no memory controller"); or another -errno with why set. */
int gl_memcap_enter(unsigned long long bytes, char *path, size_t len, char *why, size_t whylen);

#endif
