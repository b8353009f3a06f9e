#include "gl_slots.h"
#include "gl_proc.h"
#include "gl_wait.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define TICKET_MAX 1000000000000000000ULL /* 19 digits: never reached */

/* ---- the directory ---- */

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd >= 0)
		return fd;
	/* O_NOFOLLOW|O_DIRECTORY on a symlink gives ELOOP or ENOTDIR,
	 * depending on the kernel: look. */
	if ((errno == ELOOP || errno == ENOTDIR) && lstat(dir, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		errno = ELOOP; /* a loop further up the path */
	}
	return -errno;
}

/* Missing parents, as mkdir -p (the original) makes them: the umask's mode. */
static void make_parents(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof path)
		return;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		(void)mkdir(path, 0777);
		*p = '/';
	}
}

/* mkdir, then fchmod through a checked fd: the umask would narrow the mode,
 * and a chmod by path could be sent elsewhere by a swap. */
static int create_dir(const char *dir)
{
	struct stat st;
	int fd = mkdir(dir, 0700);

	if (fd < 0 && errno == ENOENT) {
		make_parents(dir);
		fd = mkdir(dir, 0700);
	}
	if (fd < 0)
		return errno == EEXIST ? -EAGAIN : -errno;
	fd = open_dir(dir);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || fchmod(fd, GL_SLOTS_DIR_MODE) < 0) {
		close(fd);
		return -EAGAIN; /* replaced under us: look again */
	}
	return fd;
}

int gl_slots_open(struct gl_slots *s, const char *dir, unsigned nslots, bool create,
                  uid_t *owner, bool *created)
{
	struct stat st;
	int fd = -ENOENT;

	memset(s, 0, sizeof *s);
	s->dirfd = -1;
	s->ticket_fd = -1;
	*created = false;
	if (nslots == 0 || nslots > GL_SLOTS_MAX)
		return -EINVAL;
	for (int tries = 0; tries < 8; tries++) {
		fd = open_dir(dir);
		if (fd != -ENOENT || !create)
			break;
		fd = create_dir(dir);
		if (fd >= 0)
			*created = true;
		if (fd != -EAGAIN)
			break;
	}
	if (fd < 0)
		return fd == -EAGAIN ? -EBUSY : fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*owner = st.st_uid;
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	/* Asked of the path, but the checks above hold for the same inode: a
	 * swap in between would have to come from root or ourselves. */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
		int r = errno == EACCES || errno == EROFS ? -EACCES : -errno;
		close(fd);
		return r;
	}
	s->fds = nslots <= sizeof s->inline_fds / sizeof *s->inline_fds
	                 ? s->inline_fds
	                 : malloc(nslots * sizeof *s->fds);
	if (!s->fds) {
		close(fd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nslots; i++)
		s->fds[i] = -1;
	s->nslots = nslots;
	s->dirfd = fd;
	return 0;
}

void gl_slots_close(struct gl_slots *s)
{
	gl_slots_dequeue(s);
	for (unsigned i = 0; s->fds && i < s->nslots; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	if (s->fds != s->inline_fds)
		free(s->fds);
	free(s->ahead);
	if (s->dirfd >= 0)
		close(s->dirfd);
	memset(s, 0, sizeof *s);
	s->dirfd = -1;
	s->ticket_fd = -1;
}

const char *gl_slots_strerror(int err)
{
	switch (-err) {
	case ELOOP:
		return "it is a symbolic link (never followed)";
	case ENOTDIR:
		return "it is not a directory";
	case EPERM:
		return "it is owned by another user (only root's or your own are trusted)";
	case EACCES:
		return "permission denied";
	case ENOENT:
		return "it does not exist";
	case EISDIR:
		return "it is a directory, not a regular file";
	case EBADFD:
		return "it is not a regular file";
	case ENOLCK:
		return "the filesystem does not support flock";
	default:
		return strerror(-err);
	}
}

/* ---- slot files ---- */

#define FILE_FLAGS (O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int check_regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return 0;
	return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
}

/* The fd of slot k, opening (or creating) its file on first use. An existing
 * file is opened without O_CREAT, so another user's slot in a sticky
 * directory works with fs.protected_regular=1; read-only where it is not
 * writable, which is all flock needs. O_NONBLOCK: opening a FIFO planted
 * under a slot's name never hangs. */
static int slot_fd(struct gl_slots *s, unsigned k)
{
	char name[32];
	int fd = -1, r;

	if (s->fds[k - 1] >= 0)
		return s->fds[k - 1];
	snprintf(name, sizeof name, "slot%u", k);
	for (int tries = 0; tries < 8; tries++) {
		fd = openat(s->dirfd, name, O_RDWR | FILE_FLAGS);
		if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
			fd = openat(s->dirfd, name, O_RDONLY | FILE_FLAGS);
		if (fd < 0 && errno == ENOENT) {
			fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | FILE_FLAGS,
			            GL_SLOTS_FILE_MODE);
			if (fd >= 0)
				(void)fchmod(fd, GL_SLOTS_FILE_MODE);
			else if (errno == EEXIST)
				continue; /* someone else just made it */
		}
		break;
	}
	if (fd < 0) {
		r = errno == EMLINK ? -ELOOP : -errno;
		s->bad_slot = k;
		return r;
	}
	r = check_regular(fd);
	if (r < 0) {
		close(fd);
		s->bad_slot = k;
		return r;
	}
	s->fds[k - 1] = fd;
	return fd;
}

/* Try slots 1..n once, without blocking. 1 got one, 0 all busy, -errno. */
static int sweep(struct gl_slots *s)
{
	for (unsigned k = 1; k <= s->nslots; k++) {
		int fd = slot_fd(s, k), r;

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

int gl_slots_keep(struct gl_slots *s)
{
	int fd;

	if (!s->held)
		return -EINVAL;
	fd = s->fds[s->held - 1];
	if (fcntl(fd, F_SETFD, 0) < 0)
		return -errno;
	return fd;
}

/* ---- tickets ---- */

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
static int scan(int dirfd, unsigned long long **out, size_t *n, unsigned *max_slot)
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

/* Is there any ticket at all (live or not)? 1, 0 or -errno. On the fast
 * path of every launch: getdents64 into a small stack buffer (a 4 KiB one
 * reached a new stack page, a page fault per launch), no DIR (whose 32 KiB
 * buffer costs a malloc and its page faults); through syscall(2), since not
 * every C library wraps it alike. */
_Static_assert(offsetof(struct dirent, d_reclen) == 16 && offsetof(struct dirent, d_name) == 19,
               "struct dirent is laid out as getdents64 writes it");

static int probe(int dirfd, unsigned long long num, int *fd_out, bool remove_dead);

/* Is anyone queued? 1 when a live ticket is found, 0 when none, -errno.
 * A ticket left by a killed waiter does not count: it used to turn every
 * newcomer away from free slots, so that a job with --max-wait 0 ran
 * without one. Tickets are looked at under the directory's flock, as the
 * queue's waiters do: a waiter creates and locks its ticket under it, so a
 * ticket seen unlocked here is dead, not just being made, and is removed. */
static int any_ticket(int dirfd)
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

static void ticket_name(char *buf, size_t len, unsigned long long num)
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

	ticket_name(name, sizeof name, num);
	fd = openat(dirfd, name, O_RDONLY | FILE_FLAGS);
	/* Anything we cannot open (gone, another user's, a symlink, a socket
	 * someone bound there) is no ticket of ours; only running short of
	 * fds or memory is an error. */
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? -errno : 0;
	if (check_regular(fd) < 0) {
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
	r = scan(s->dirfd, &nums, &n, NULL);
	if (r == 0) {
		num = n ? nums[n - 1] + 1 : 1;
		errno = EBUSY;
		for (int tries = 0; tries < 64 && num < TICKET_MAX; tries++, num++) {
			ticket_name(name, sizeof name, num);
			fd = openat(s->dirfd, name, O_RDONLY | O_CREAT | O_EXCL | FILE_FLAGS,
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
		ticket_name(name, sizeof name, s->ahead[i]);
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
	ticket_name(name, sizeof name, s->ticket);
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
		ticket_name(name, sizeof name, s->ahead[i]);
		remove_ticket(s->dirfd, name, fd);
		close(fd);
		s->ahead[i] = 0;
	}
	return 0;
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
	r = any_ticket(s->dirfd);
	if (r != 0) {
		gl_slots_release(s);
		return r < 0 ? r : 0;
	}
	return 1;
}

/* ---- inspection ---- */

/* The files looked at, and who holds them. */
struct looked {
	bool exists;
	bool held;
	pid_t pid;
	unsigned maj, min;
	unsigned long long ino;
	struct timespec mtime;
};

struct holder_pass {
	struct looked *files;
	size_t n;
	size_t found; /* files seen held so far */
};

/* A linear search per lock line: slot directories hold a few hundred files
 * at most, and this keeps one read of /proc/locks per pass however long the
 * queue is (gpulock status reads the whole queue). */
static void note_holder(const struct gl_lock_entry *e, void *arg)
{
	struct holder_pass *p = arg;

	if (e->waiting)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct looked *f = &p->files[i];

		if (f->exists && !f->held && f->ino == e->ino && f->maj == e->maj && f->min == e->min) {
			f->held = true;
			f->pid = e->pid > 0 ? e->pid : 0;
			p->found++;
		}
	}
}

/* Who holds each file, from /proc/locks. The kernel produces that table a
 * page per read(2), taking its locks anew for each: when locks come and go
 * between two pages, a line can be skipped. Files not seen held are looked
 * for twice more (free slots and dead tickets always are). */
static int find_holders(struct looked *files, size_t n)
{
	struct holder_pass p = {files, n, 0};
	size_t existing = 0;

	for (size_t i = 0; i < n; i++)
		existing += files[i].exists;
	for (int pass = 0; pass < 3 && p.found < existing; pass++) {
		int r = gl_proc_locks_scan("/proc/locks", note_holder, &p);

		if (r < 0)
			return r;
	}
	return 0;
}

static void look_at(int dirfd, const char *name, struct looked *f)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)) {
		f->exists = true;
		f->maj = major(sb.st_dev);
		f->min = minor(sb.st_dev);
		f->ino = sb.st_ino;
		f->mtime = sb.st_mtim;
	}
}

int gl_slots_inspect_at(int dirfd, unsigned nslots, struct gl_slot_state *slots, size_t slot_cap,
                        size_t *nslots_out, struct gl_ticket_state *tickets, size_t ticket_cap,
                        size_t *ntickets_out, size_t *nlive_out)
{
	unsigned long long *nums;
	struct looked *files;
	struct timespec now;
	unsigned max_slot;
	size_t n;
	int r = scan(dirfd, &nums, &n, &max_slot);

	*nslots_out = 0;
	*ntickets_out = 0;
	if (nlive_out)
		*nlive_out = 0;
	if (r < 0)
		return r;
	if (nslots == 0)
		nslots = max_slot;
	files = calloc((size_t)nslots + n + 1, sizeof *files);
	if (!files) {
		free(nums);
		return -ENOMEM;
	}
	for (unsigned k = 1; k <= nslots; k++) {
		char name[32];

		snprintf(name, sizeof name, "slot%u", k);
		look_at(dirfd, name, &files[k - 1]);
	}
	for (size_t i = 0; i < n; i++) {
		char name[64];

		ticket_name(name, sizeof name, nums[i]);
		look_at(dirfd, name, &files[nslots + i]);
	}
	r = find_holders(files, nslots + n);
	for (unsigned k = 1; k <= nslots; k++) {
		const struct looked *f = &files[k - 1];

		if (*nslots_out < slot_cap)
			slots[*nslots_out] = (struct gl_slot_state){
			        k, f->exists, f->held, f->pid, makedev(f->maj, f->min), f->ino};
		(*nslots_out)++;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < n; i++) {
		const struct looked *f = &files[nslots + i];
		struct gl_ticket_state t = {.number = nums[i], .live = f->held, .pid = f->pid};

		if (!f->exists)
			continue; /* left meanwhile */
		if (nlive_out)
			*nlive_out += f->held;
		if (*ntickets_out >= ticket_cap) { /* counted, not described */
			(*ntickets_out)++;
			continue;
		}
		t.waited = (double)(now.tv_sec - f->mtime.tv_sec) +
		           (now.tv_nsec - f->mtime.tv_nsec) / 1e9;
		if (t.waited < 0)
			t.waited = 0;
		tickets[(*ntickets_out)++] = t;
	}
	free(files);
	free(nums);
	return r;
}

int gl_slots_inspect(const char *dir, unsigned nslots, struct gl_slot_state *slots,
                     size_t slot_cap, size_t *nslots_out, struct gl_ticket_state *tickets,
                     size_t ticket_cap, size_t *ntickets_out, size_t *nlive_out)
{
	int fd = open_dir(dir), r;

	*nslots_out = 0;
	*ntickets_out = 0;
	if (nlive_out)
		*nlive_out = 0;
	if (fd < 0)
		return fd;
	r = gl_slots_inspect_at(fd, nslots, slots, slot_cap, nslots_out, tickets, ticket_cap,
	                        ntickets_out, nlive_out);
	close(fd);
	return r;
}
