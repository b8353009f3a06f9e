/* The slots' state read without taking anything, for gpulock status and
 * cpu_run's messages, and whether a job of ours holds a slot. */
#include "gl_slots_internal.h"
#include "gl_proc.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

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
	int r = slots_scan(dirfd, &nums, &n, &max_slot);

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

		slots_ticket_name(name, sizeof name, nums[i]);
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
	int fd = slots_open_dir(dir), r;

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

/* ---- a job of ours in a slot ---- */

/* Do we have an fd open on a held slot file, inherited from the job that
 * holds it? (cpu_run.sh's jobs hold theirs through fd 9, taken by a flock(1)
 * child that has exited, so no ancestor shows in /proc/locks.) */
static bool slot_fd_inherited(int slot_dirfd, const struct gl_slot_state *st, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		struct stat fs, ss;
		char name[32];
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &fs) < 0 || !S_ISREG(fs.st_mode))
			continue;
		for (size_t i = 0; i < n && !found; i++) {
			snprintf(name, sizeof name, "slot%u", st[i].index);
			found = st[i].held && fstatat(slot_dirfd, name, &ss, AT_SYMLINK_NOFOLLOW) == 0 &&
			        ss.st_dev == fs.st_dev && ss.st_ino == fs.st_ino;
		}
	}
	closedir(d);
	return found;
}

/* Never inlined (an LTO build could): inlined into cpu_run's launch path,
 * its 40 KiB frame would be taken on every launch and getenv called below
 * it on fresh stack pages, 1.4 page faults and 2-6 us of CPU time more per
 * launch (measured with the spawns of scripts/bench, section 6). */
bool __attribute__((noinline)) gl_slots_held_in_tree(int dirfd)
{
	struct gl_slot_state st[GL_SLOTS_MAX];
	size_t n, nt;

	gl_slots_inspect_at(dirfd, 0, st, GL_SLOTS_MAX, &n, NULL, 0, &nt, NULL);
	if (n > GL_SLOTS_MAX)
		n = GL_SLOTS_MAX;
	for (size_t i = 0; i < n; i++)
		if (st[i].held && st[i].pid > 0 &&
		    (st[i].pid == getpid() || gl_proc_is_ancestor(st[i].pid)))
			return true;
	return slot_fd_inherited(dirfd, st, n);
}
