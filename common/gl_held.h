/* GPU_LOCK_HELD: how a lock holder tells the processes it starts that they
 * run under its lock. The original tools set "1" and trust any non-empty
 * value; gpulock sets "gpulock:PID:MAJ:MIN:INO" (the holder and the lock
 * file's device and inode, as /proc/locks names them). Non-empty, so the
 * original tools still skip locking under a gpulock holder; checkable, so a
 * descendant whose holder has gone does not run unlocked by accident. */
#ifndef GL_HELD_H
#define GL_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GL_HELD_VAR "GPU_LOCK_HELD"

struct gl_held {
	pid_t pid;
	unsigned maj, min;
	unsigned long long ino;
};

/* Parses our format; false for anything else (a value from other tools). */
bool gl_held_parse(const char *value, struct gl_held *out);
void gl_held_format(const struct gl_held *h, char *buf, size_t len);

#endif
