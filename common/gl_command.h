/* Finding a command as execvp(3) will, before waiting for anything: a
 * launcher that waits for a slot or the GPU lock and only then finds that
 * its command does not exist has wasted the wait. */
#ifndef GL_COMMAND_H
#define GL_COMMAND_H

#include <stddef.h>

/* The path execvp would run for name, in out (a name with a '/' as it is;
 * else the first match in PATH, /bin:/usr/bin when unset; an empty entry is
 * the working directory). 0, -ENOENT (not found) or -EACCES (found, but
 * nothing executable). */
int gl_command_find(const char *name, char *out, size_t len);

#endif
