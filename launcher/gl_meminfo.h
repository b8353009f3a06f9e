/* MemTotal and MemAvailable from /proc/meminfo (or a file in its format, for
 * tests). MemAvailable is the kernel's own estimate of how much a new job can
 * allocate without swapping: free memory plus the reclaimable part of the
 * page cache and slab (Linux 3.14+). */
#ifndef GL_MEMINFO_H
#define GL_MEMINFO_H

#define GL_MEMINFO_PATH "/proc/meminfo"

/* Both values in bytes. Returns 0, -ENODATA when a field is missing (a
 * kernel older than 3.14 has no MemAvailable), or -errno from reading. */
int gl_meminfo_read(const char *path, unsigned long long *total, unsigned long long *avail);

#endif
