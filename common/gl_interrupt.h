/* Noticing the signals that mean "stop" (SIGINT, SIGTERM, SIGHUP, SIGQUIT)
 * while the preload waits inside someone else's program.
 *
 * A program with its own handler for them (Python's KeyboardInterrupt, a
 * server's clean shutdown) expects them to end a blocking call: its handler
 * runs, the call fails with EINTR, and the program acts on what the handler
 * noted. A wait for a lock that went back to sleep after each signal would
 * hold Ctrl-C off until the lock came, hours later. Nothing tells a waiter
 * which signal interrupted it, and SIGALRM or SIGCHLD must not end the
 * wait; so while the wait lasts, each of these four signals that has a
 * handler gets ours in front of it, which notes the signal, wakes the
 * waiter through an fd and then calls the host's handler as the kernel
 * would have. Afterwards the host's handlers are put back, unless the host
 * replaced them meanwhile. Signals whose disposition is the default or
 * ignore are left alone: the kernel acts on them as always. The mask is
 * never touched.
 *
 * Limits: reading and replacing a disposition are two calls, so a handler
 * another thread of the host installs in between is lost (there is no lock
 * to share with the host's sigaction). A stop signal that comes before the
 * wait starts (while the lock's holder is looked up) is handled by the
 * host as usual but does not end the wait that follows. */
#ifndef GL_INTERRUPT_H
#define GL_INTERRUPT_H

#include <stdbool.h>

/* Start noticing; a stop signal then writes 8 bytes (an eventfd count) to
 * wake_fd. false when another wait of this process is noticing already
 * (one at a time: that wait alone is interruptible). */
bool gl_interrupt_arm(int wake_fd);

/* The stop signal that came since gl_interrupt_arm, or 0. */
int gl_interrupt_caught(void);

/* Put the host's handlers back, and stop writing wake_fd: once this
 * returns, the fd may be closed. */
void gl_interrupt_disarm(void);

/* In the child of a fork during a wait: the wait is the parent's. Puts the
 * host's handlers back and forgets the parent's wake_fd (closed by the
 * caller's fork handler). Async-signal-safe, as a fork handler must be. */
void gl_interrupt_forget(void);

#endif
