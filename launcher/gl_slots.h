/* cpu_run's slots: a counting semaphore shared by every process on the
 * machine, with a fair queue in front of it.
 *
 * Slots are the files slot1..slotN in the slot directory; a slot is taken by
 * an exclusive flock(2) on the whole file, exactly as the original
 * cpu_run.sh takes it (flock -n on "exec 9>slotK"), so a slot held by either
 * launcher is busy for the other. The holder keeps the lock in the job
 * itself (the fd survives exec), so the kernel frees the slot when the job
 * ends, however it ends.
 *
 * The queue: a waiter takes a ticket, the file .ticket.<number> in the same
 * directory, holds an exclusive flock on it for as long as it waits, and
 * blocks (flock, no polling) on its nearest live predecessor's ticket. Only
 * the head, the waiter with no live predecessor, takes slots: it blocks on
 * all of them at once (one thread per slot) and the first to free is its.
 * Ticket numbers are handed out under a flock on the directory: one above
 * the highest ticket present. A ticket that exists but is not locked belongs
 * to a waiter that was killed; whoever finds it removes it.
 *
 * Functions return 0 (or a count) and -errno on failure; none prints, exits
 * or changes signal dispositions. Waiting threads block every signal.
 *
 * The parts: gl_slots_dir.c (the directory and the slot files),
 * gl_slots_queue.c (the tickets), gl_slots_semaphore.c (taking and giving
 * back slots), gl_slots_inspect.c (reading the state without taking
 * anything). */
#ifndef GL_SLOTS_H
#define GL_SLOTS_H

#include "gl_hardened.h"
#include "gl_wait.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Without the hardened directory; with it, GL_HARDENED_SLOT_DIR
 * (gl_default_slot_dir(), gl_hardened.h). */
#define GL_SLOTS_DEFAULT_DIR GL_TMP_SLOT_DIR
#define GL_SLOTS_MAX 1024
/* A directory we create: shared by every account like /tmp, sticky so that
 * no one can remove or replace another user's files. */
#define GL_SLOTS_DIR_MODE 01777
/* A slot file we create. flock needs only read access, but cpu_run.sh opens
 * slots for writing, so they are writable by everyone (fchmod, not umask). */
#define GL_SLOTS_FILE_MODE 0666
/* A ticket: read access is all a successor needs to flock it. */
#define GL_SLOTS_TICKET_MODE 0644
#define GL_SLOTS_TICKET_PREFIX ".ticket."

struct gl_slots {
	int dirfd;                 /* the slot directory, checked once, used for everything */
	unsigned nslots;
	int *fds;                  /* fds[k-1] is slot k, opened on first use, -1 before */
	/* fds for up to 16 slots, so that cpu_run's fast path never mallocs:
	 * the first malloc sets the heap up, 3 page faults per launch (11.1
	 * against 14.1, cpu_run -q true launched 300 times under perf stat) */
	int inline_fds[16];
	unsigned held;             /* the slot we hold (1-based), 0 for none */
	unsigned bad_slot;         /* after an error: the slot whose file could not be used */
	int ticket_fd;             /* our ticket, -1 when not queued */
	unsigned long long ticket; /* its number */
	unsigned long long *ahead; /* tickets present when we queued, all below ours */
	size_t nahead;
};

/* Open the slot directory dir, creating it when it is missing and create is
 * set: GL_SLOTS_DIR_MODE for dir itself, missing parents as mkdir -p makes
 * them. Refused:
 *   -ELOOP   dir is a symbolic link
 *   -ENOTDIR dir is not a directory
 *   -EPERM   dir is owned by someone other than root or the caller (*owner)
 *   -EACCES  the caller may not create files in dir (or create dir)
 *   -ENOENT  dir does not exist (and create is not set)
 * *created tells whether we made dir. Nothing is locked yet. */
int gl_slots_open(struct gl_slots *s, const char *dir, unsigned nslots, bool create,
                  uid_t *owner, bool *created);
/* Close everything: a held slot and our ticket are released. */
void gl_slots_close(struct gl_slots *s);
/* Text for an error of gl_slots_open or of a slot file. */
const char *gl_slots_strerror(int err);

/* The fast path, for a newcomer: take a free slot if no one is queued.
 * Returns 1 (s->held is ours), 0 (every slot busy, or a queue exists: join
 * it), or -errno when slot s->bad_slot cannot be used. Never blocks. */
int gl_slots_try(struct gl_slots *s);

/* Join the queue: take a ticket. *ahead: live waiters before us (dead
 * tickets found on the way are removed). */
int gl_slots_enqueue(struct gl_slots *s, unsigned *ahead);

/* Wait until every waiter before us has left or died, as w says (its
 * deadline, its reminders). Returns 0, -ETIMEDOUT or -errno. */
int gl_slots_wait_head(struct gl_slots *s, struct gl_wait *w);

/* Called once, just before blocking, when every slot is busy. */
typedef void (*gl_slots_wait_fn)(struct gl_slots *s, void *arg);

/* As the head: take the first slot that is or becomes free. on_wait (may be
 * NULL) is called first when there is none now. 0 (s->held is ours),
 * -ETIMEDOUT, or -errno (slot s->bad_slot, when not 0, cannot be used). */
int gl_slots_wait_slot(struct gl_slots *s, struct gl_wait *w, gl_slots_wait_fn on_wait, void *arg);

/* How many of the waiters queued before us are still there (each leaving
 * waiter removes its ticket first). For messages: a killed one counts
 * until someone removes its ticket. */
unsigned gl_slots_ahead(const struct gl_slots *s);

/* Leave the queue: remove and close our ticket, which wakes our successor. */
void gl_slots_dequeue(struct gl_slots *s);

/* Give back the slot we hold. */
void gl_slots_release(struct gl_slots *s);

/* Let the held slot's fd survive exec, so the command itself holds the slot.
 * Returns the fd or -errno. */
int gl_slots_keep_across_exec(struct gl_slots *s);

/* ---- Reading the state without taking anything (gpulock status) ---- */

struct gl_slot_state {
	unsigned index; /* k of slotK */
	bool exists;    /* the file is there; a missing one is free */
	bool held;      /* someone holds its flock (cpu_run, cpu_run.sh, flock(1), ...) */
	pid_t pid;      /* the locker as /proc/locks shows it; 0 when free or unknown
	                 * (another pid namespace). It may have exited: cpu_run.sh
	                 * locks with a flock(1) child on its fd 9 and the job holds
	                 * the slot through that inherited fd. cpu_run's holder is
	                 * the job itself. */
	dev_t dev;      /* the slot file, when it exists, for gl_proc_flock_holder */
	unsigned long long ino;
};

struct gl_ticket_state {
	unsigned long long number; /* lower numbers are served first */
	bool live;                 /* false: left behind by a killed waiter */
	pid_t pid;                 /* the waiting cpu_run; 0 when not live or unknown */
	double waited;             /* seconds since the ticket was taken */
};

/* The state of the slot directory dir from /proc/locks and the directory
 * alone: nothing is locked, created or removed. nslots == 0 reports
 * slot1..slotK for the highest slotK present. Fills at most slot_cap slots
 * and ticket_cap tickets (in queue order); *nslots_out and *ntickets_out
 * count all, and *nlive_out (when not NULL) the live tickets among all of
 * them. /proc/locks is read once (three times when some file is not held).
 * Returns 0, -ENOENT when dir does not exist, -ELOOP for a
 * symlink, or another -errno (e.g. /proc/locks unreadable). */
int gl_slots_inspect(const char *dir, unsigned nslots, struct gl_slot_state *slots,
                     size_t slot_cap, size_t *nslots_out, struct gl_ticket_state *tickets,
                     size_t ticket_cap, size_t *ntickets_out, size_t *nlive_out);
/* The same on an open directory fd. */
int gl_slots_inspect_at(int dirfd, unsigned nslots, struct gl_slot_state *slots, size_t slot_cap,
                        size_t *nslots_out, struct gl_ticket_state *tickets, size_t ticket_cap,
                        size_t *ntickets_out, size_t *nlive_out);

/* Is one of the slots in the directory dirfd held for this process: by
 * itself or an ancestor (as /proc/locks shows the holder; kept even by
 * children that close inherited fds, as Python's subprocess does), or
 * through a slot file's fd it inherited (cpu_run.sh's jobs hold theirs on
 * fd 9, locked by a flock(1) child that has exited)? For cpu_run run inside
 * a job that holds a slot: it must not queue again. */
bool gl_slots_held_in_tree(int dirfd);

#endif
