/* The lock core's helper threads (a bounded flock wait, one per slot in
 * cpu_run's wait for a slot): detached, on a small stack, with every signal blocked, so that
 * the host's signals (or cpu_run's) always land on its own threads. */
#ifndef GL_THREAD_H
#define GL_THREAD_H

/* Starts fn(arg) on such a thread. 0 or -errno. */
int gl_thread_start(void *(*fn)(void *), void *arg);

#endif
