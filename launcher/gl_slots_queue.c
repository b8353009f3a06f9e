/* The queue in front of the slots: tickets, taken in turn under the
 * directory's flock, each held (exclusively) by its waiter. */
#include "gl_slots_internal.h"
#include "gl_wait.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TICKET_MAX 1000000000000000000ULL /* 19 digits: never reached */

static bool ticket_number(const char *name, unsigned long long *num)
{
	const size_t plen = sizeof GL_SLOTS_TICKET_PREFIX - 1;
	unsigned long long v = 0;
	const char *p;

	if (strncmp(name, GL_SLOTS_TICKET_PREFIX, plen) != 0)
		return false;
	p = name + plen;
	if (!*p || strlen(p) > 18 || strspn(p, "0123456789") != strlen(p))
		return false;
	for (; *p; p++)
		v = v * 10 + (unsigned)(*p - '0');
	*num = v;
	return true;
}

static bool slot_number(const char *name, unsigned *k)
{
	unsigned long v = 0;
	const char *p;

	if (strncmp(name, "slot", 4) != 0)
		return false;
	p = name + 4;
	if (!*p || *p == '0' || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p))
		return false;
	for (; *p; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (v > GL_SLOTS_MAX)
		return false;
	*k = (unsigned)v;
	return true;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* The ticket numbers in the directory, ascending (malloc'd), and the highest
 * slotK present. */
int slots_scan(int dirfd, unsigned long long **out, size_t *n, unsigned *max_slot)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned long long *v = NULL, num;
	size_t len = 0, cap = 0;
	struct dirent *d;
	DIR *dp;
	unsigned k;

	*out = NULL;
	*n = 0;
	if (max_slot)
		*max_slot = 0;
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		int r = -errno;
		close(fd);
		return r;
	}
	while ((d = readdir(dp)) != NULL) {
		if (max_slot && slot_number(d->d_name, &k) && k > *max_slot)
			*max_slot = k;
		if (!ticket_number(d->d_name, &num))
			continue;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			unsigned long long *nv = realloc(v, ncap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(dp);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[len++] = num;
	}
	closedir(dp);
	if (len)
		qsort(v, len, sizeof *v, cmp_ull);
	*out = v;
	*n = len;
	return 0;
}

/* On the fast path of every launch: getdents64 into a small stack buffer
 * (a 4 KiB one reached a new stack page), no DIR, whose 32 KiB buffer costs
 * a malloc and its page faults: 3.0 page faults per launch fewer than
 * fdopendir/readdir (11.0 against 14.1, cpu_run -q true launched 400 times
 * under perf stat). Through syscall(2), since not every C library wraps it
 * alike. */
_Static_assert(offsetof(struct dirent, d_reclen) == 16 && offsetof(struct dirent, d_name) == 19,
               "struct dirent is laid out as getdents64 writes it");

static int probe(int dirfd, unsigned long long num, int *fd_out, bool remove_dead);

/* Is anyone queued? 1 when a live ticket is found, 0 when none, -errno.
 * A ticket left by a killed waiter does not count: it used to turn every
 * newcomer away from free slots, so that a job with --max-wait 0 ran
 * without one. Tickets are looked at under the directory's flock, as the
 * queue's waiters do: a waiter creates and locks its ticket under it, so a
 * ticket seen unlocked here is dead, not just being made, and is removed. */
int slots_any_ticket(int dirfd)
{
	char buf[1024] __attribute__((aligned(8)));
	unsigned long long num;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int found = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (!found && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n && !found;) {
			/* getdents64's record is struct dirent with 64-bit
			 * offsets, as meson builds (and in musl always) */
			const struct dirent *d = (const struct dirent *)(const void *)(buf + off);

			int live = 0, tfd = -1;

			if (ticket_number(d->d_name, &num)) {
				live = gl_flock(dirfd, LOCK_EX);
				if (live == 0) {
					live = probe(dirfd, num, &tfd, true);
					(void)flock(dirfd, LOCK_UN);
				}
			}
			if (live > 0)
				close(tfd);
			found = live;
			off += d->d_reclen;
		}
	}
	if (!found && n < 0)
		found = -errno;
	close(fd);
	return found;
}

void slots_ticket_name(char *buf, size_t len, unsigned long long num)
{
	snprintf(buf, len, GL_SLOTS_TICKET_PREFIX "%llu", num);
}

/* Remove the ticket if its name still refers to the file we have open: the
 * number cannot be handed out again while we (holding a higher one) wait,
 * but a foreign file could have taken its place. Another user's ticket in a
 * sticky directory cannot be removed by us: it stays, and is skipped as dead
 * by everyone until its owner's next run (or root) removes it. */
static void remove_ticket(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		(void)unlinkat(dirfd, name, 0);
}

/* Open ticket num and find out whether its waiter is alive. Returns 1 and
 * the open fd when it is (its flock is taken), 0 when the ticket is gone or
 * dead (a dead one is removed), -errno. A file we cannot open or that is not
 * a regular file is no ticket of ours: it is skipped. */
static int probe(int dirfd, unsigned long long num, int *fd_out, bool remove_dead)
{
	char name[64];
	int fd, r;

	slots_ticket_name(name, sizeof name, num);
	fd = openat(dirfd, name, O_RDONLY | SLOTS_FILE_FLAGS);
	/* Anything we cannot open (gone, another user's, a symlink, a socket
	 * someone bound there) is no ticket of ours; only running short of
	 * fds or memory is an error. */
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? -errno : 0;
	if (slots_check_regular(fd) < 0) {
		close(fd);
		return 0;
	}
	r = gl_flock(fd, LOCK_SH | LOCK_NB);
	if (r == -EWOULDBLOCK) {
		*fd_out = fd;
		return 1;
	}
	if (r == 0 && remove_dead)
		remove_ticket(dirfd, name, fd);
	close(fd);
	return r;
}

int gl_slots_enqueue(struct gl_slots *s, unsigned *ahead)
{
	unsigned long long *nums = NULL, num = 0;
	size_t n = 0;
	char name[64];
	int fd = -1, r;
	unsigned live = 0;

	if (s->ticket_fd >= 0)
		return -EALREADY;
	/* Numbers come from the directory's flock: every ticket below ours is
	 * created and locked before we look, so an unlocked one is dead. */
	r = gl_flock(s->dirfd, LOCK_EX);
	if (r < 0)
		return r;
	r = slots_scan(s->dirfd, &nums, &n, NULL);
	if (r == 0) {
		num = n ? nums[n - 1] + 1 : 1;
		errno = EBUSY;
		for (int tries = 0; tries < 64 && num < TICKET_MAX; tries++, num++) {
			slots_ticket_name(name, sizeof name, num);
			fd = openat(s->dirfd, name, O_RDONLY | O_CREAT | O_EXCL | SLOTS_FILE_FLAGS,
			            GL_SLOTS_TICKET_MODE);
			if (fd >= 0 || errno != EEXIST)
				break;
		}
		if (fd < 0) {
			r = errno == EEXIST ? -EBUSY : -errno;
		} else {
			(void)fchmod(fd, GL_SLOTS_TICKET_MODE);
			r = gl_flock(fd, LOCK_EX | LOCK_NB);
			if (r < 0) {
				(void)unlinkat(s->dirfd, name, 0);
				close(fd);
			}
		}
	}
	(void)flock(s->dirfd, LOCK_UN);
	if (r < 0) {
		free(nums);
		return r;
	}
	s->ticket_fd = fd;
	s->ticket = num;
	s->ahead = nums;
	s->nahead = n;
	/* Count the live ones; clear out the dead. */
	for (size_t i = 0; i < n; i++) {
		int pfd = -1;

		r = probe(s->dirfd, nums[i], &pfd, true);
		if (r == 1) {
			live++;
			close(pfd);
		} else if (r == 0) {
			nums[i] = 0; /* gone: no need to look again */
		}
	}
	*ahead = live;
	return 0;
}

unsigned gl_slots_ahead(const struct gl_slots *s)
{
	unsigned n = 0;
	struct stat st;
	char name[64];

	for (size_t i = 0; i < s->nahead; i++) {
		if (s->ahead[i] == 0)
			continue;
		slots_ticket_name(name, sizeof name, s->ahead[i]);
		n += fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	return n;
}

void gl_slots_dequeue(struct gl_slots *s)
{
	char name[64];

	if (s->ticket_fd < 0)
		return;
	/* Unlink first: the successor, woken by the close, finds it gone. */
	slots_ticket_name(name, sizeof name, s->ticket);
	(void)unlinkat(s->dirfd, name, 0);
	close(s->ticket_fd);
	s->ticket_fd = -1;
}

int gl_slots_wait_head(struct gl_slots *s, struct gl_wait *w)
{
	char name[64];

	/* Every ticket below ours is in s->ahead, and no new one can appear
	 * below ours. Walk down from the nearest: block on a live one until it
	 * leaves (it got its slot) or dies (the kernel drops its flock), then
	 * go on to the next, which may be alive if the one we followed died. */
	for (size_t i = s->nahead; i-- > 0;) {
		int fd = -1, winner = -1, r;

		if (s->ahead[i] == 0)
			continue;
		r = probe(s->dirfd, s->ahead[i], &fd, true);
		if (r < 0)
			return r;
		if (r == 0) {
			s->ahead[i] = 0;
			continue;
		}
		r = gl_wait_first(&fd, 1, LOCK_SH, w, &winner);
		if (r < 0) {
			close(fd);
			return r;
		}
		/* Its waiter removes its ticket before letting go; still there
		 * means it was killed. */
		slots_ticket_name(name, sizeof name, s->ahead[i]);
		remove_ticket(s->dirfd, name, fd);
		close(fd);
		s->ahead[i] = 0;
	}
	return 0;
}
