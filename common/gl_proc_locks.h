/* The kernel's table of file locks, /proc/locks: who holds and who waits on
 * a file. */
#ifndef GL_PROC_LOCKS_H
#define GL_PROC_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gl_lock_entry {
	pid_t pid;      /* as /proc/locks shows it; may be <= 0 in another pid namespace */
	bool waiting;   /* a "->" line: blocked on the lock, not holding it */
	bool exclusive; /* WRITE, as opposed to READ (LOCK_SH) */
	bool is_flock;  /* FLOCK, as opposed to POSIX or OFDLCK */
	unsigned maj, min;
	unsigned long long ino;
};

/* Parse one line of /proc/locks. Returns 0 or -EINVAL. */
int gl_proc_locks_parse_line(const char *line, struct gl_lock_entry *e);

/* Calls visit for every flock entry of the locks table at path. Returns 0 or
 * -errno. */
typedef void (*gl_lock_visit_fn)(const struct gl_lock_entry *e, void *arg);
int gl_proc_locks_scan(const char *path, gl_lock_visit_fn visit, void *arg);

/* The flock entries of file (dev, ino) from the locks table at path (normally
 * /proc/locks): holders first, then waiters in the order the kernel lists
 * them. Fills at most cap entries; *total counts all. An entry like one
 * already listed (the same pid > 0, holding or waiting, shared or not) is a
 * line read twice and left out, for the first GL_PROC_LOCKS_DEDUP distinct
 * ones. Returns 0 or -errno. */
#define GL_PROC_LOCKS_DEDUP 64
int gl_proc_locks_find(const char *path, dev_t dev, unsigned long long ino,
                       struct gl_lock_entry *out, size_t cap, size_t *total);

/* The same, for a file that is likely held: the kernel produces /proc/locks a
 * page per read(2), taking its locks anew for each, so when locks come and
 * go between two pages a line can be skipped. A read that shows no holder is
 * taken again, up to 3 reads in all. */
int gl_proc_locks_find_held(const char *path, dev_t dev, unsigned long long ino,
                            struct gl_lock_entry *out, size_t cap, size_t *total);
#endif
