/* The semaphore itself: taking a free slot, waiting for one as the head of
 * the queue, giving it back, and handing it to the command. */
#include "gl_slots_internal.h"
#include "gl_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

/* Try slots 1..n once, without blocking. 1 got one, 0 all busy, -errno. */
static int sweep(struct gl_slots *s)
{
	for (unsigned k = 1; k <= s->nslots; k++) {
		int fd = slots_file_fd(s, k), r;

		if (fd < 0)
			return fd;
		r = gl_flock(fd, LOCK_EX | LOCK_NB);
		if (r == 0) {
			s->held = k;
			return 1;
		}
		if (r != -EWOULDBLOCK) {
			s->bad_slot = k;
			return r;
		}
	}
	return 0;
}

void gl_slots_release(struct gl_slots *s)
{
	if (s->held) {
		(void)flock(s->fds[s->held - 1], LOCK_UN);
		s->held = 0;
	}
}

int gl_slots_keep_across_exec(struct gl_slots *s)
{
	int fd;

	if (!s->held)
		return -EINVAL;
	fd = s->fds[s->held - 1];
	if (fcntl(fd, F_SETFD, 0) < 0)
		return -errno;
	return fd;
}
int gl_slots_wait_slot(struct gl_slots *s, struct gl_wait *w, gl_slots_wait_fn on_wait, void *arg)
{
	int winner = -1, r = sweep(s);

	if (r != 0)
		return r < 0 ? r : 0;
	if (on_wait)
		on_wait(s, arg);
	/* Every slot file is open now (sweep opened them all). */
	s->bad_slot = 0;
	r = gl_wait_first(s->fds, (int)s->nslots, LOCK_EX, w, &winner);
	if (r < 0)
		return r;
	s->held = (unsigned)winner + 1;
	return 0;
}

int gl_slots_try(struct gl_slots *s)
{
	int r = sweep(s);

	if (r <= 0)
		return r;
	/* Taken: now make sure no one was queued before us. Looking after
	 * taking closes the race with a waiter that queued meanwhile: either
	 * its ticket is visible now, or it queued after we had the slot. A
	 * slot freed for the head and grabbed by us in between is handed back
	 * at once: its blocked flock takes it. */
	r = slots_any_ticket(s->dirfd);
	if (r != 0) {
		gl_slots_release(s);
		return r < 0 ? r : 0;
	}
	return 1;
}
