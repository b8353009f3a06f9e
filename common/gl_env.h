/* Setting a variable in our own environment from inside a multithreaded
 * host, for the processes it starts later (GPU_LOCK_HELD). */
#ifndef GL_ENV_H
#define GL_ENV_H

/* Set name=value in environ. Unlike setenv(3), nothing another thread may
 * be reading is ever freed or moved: glibc's setenv grows environ with
 * realloc, which can free the array under a concurrent getenv (glibc
 * before 2.40). Here an existing entry is replaced by one pointer store,
 * and a new one is added by publishing a new array; the old array and
 * strings are left as they are (a few bytes, once per process). A host
 * calling setenv at the very same moment may lose that one update, as it
 * would racing another thread's setenv without its lock; the lock is
 * glibc's own and not reachable. 0 or -ENOMEM. */
int gl_env_publish(const char *name, const char *value);

#endif
