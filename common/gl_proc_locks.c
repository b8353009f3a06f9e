#include "gl_proc_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* "1: FLOCK  ADVISORY  WRITE 2453 fe:00:10952849 0 EOF", waiters with "->"
 * after the ordinal. */
int gl_proc_locks_parse_line(const char *line, struct gl_lock_entry *e)
{
	char type[16], kind[16], mode[16];
	int pos = 0;
	long pid;

	memset(e, 0, sizeof *e);
	if (sscanf(line, "%*d:%n", &pos) < 0 || pos == 0)
		return -EINVAL;
	line += pos;
	while (*line == ' ')
		line++;
	if (strncmp(line, "->", 2) == 0) {
		e->waiting = true;
		line += 2;
	}
	if (sscanf(line, "%15s %15s %15s %ld %x:%x:%llu", type, kind, mode, &pid, &e->maj,
	           &e->min, &e->ino) != 7)
		return -EINVAL;
	e->is_flock = strcmp(type, "FLOCK") == 0;
	e->exclusive = strcmp(mode, "WRITE") == 0;
	e->pid = (pid_t)pid;
	return 0;
}

int gl_proc_locks_scan(const char *path, gl_lock_visit_fn visit, void *arg)
{
	/* Streams the table with a fixed buffer: it can be long on busy hosts. */
	char buf[4096];
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		char *line, *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += r;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			struct gl_lock_entry e;

			*nl = '\0';
			if (gl_proc_locks_parse_line(line, &e) == 0 && e.is_flock)
				visit(&e, arg);
			line = nl + 1;
		}
		have -= line - buf;
		memmove(buf, line, have);
		if (have == sizeof buf - 1) /* absurd line: drop it */
			have = 0;
	}
	close(fd);
	return 0;
}

struct find_ctx {
	unsigned maj, min;
	unsigned long long ino;
	struct gl_lock_entry *out;
	size_t cap, n, total;
	struct gl_lock_entry seen[GL_PROC_LOCKS_DEDUP]; /* for lines read twice */
	size_t nseen;
};

static void collect(const struct gl_lock_entry *e, void *arg)
{
	struct find_ctx *c = arg;

	if (e->ino != c->ino || e->maj != c->maj || e->min != c->min)
		return;
	/* The kernel makes /proc/locks a page per read(2), taking its locks
	 * anew for each: when locks come and go between two pages, a line can
	 * be read twice (and "number 2 of 4 waiting" said of two waiters). A
	 * process is listed once per kind of entry; pids of another pid
	 * namespace (0) can't be told apart and all count. */
	if (e->pid > 0) {
		for (size_t i = 0; i < c->nseen; i++)
			if (c->seen[i].pid == e->pid && c->seen[i].waiting == e->waiting &&
			    c->seen[i].exclusive == e->exclusive)
				return;
		if (c->nseen < GL_PROC_LOCKS_DEDUP)
			c->seen[c->nseen++] = *e;
	}
	if (c->n < c->cap)
		c->out[c->n++] = *e;
	c->total++;
}

int gl_proc_locks_find(const char *path, dev_t dev, unsigned long long ino,
                       struct gl_lock_entry *out, size_t cap, size_t *total)
{
	struct find_ctx c = {.maj = major(dev), .min = minor(dev), .ino = ino, .out = out, .cap = cap};
	int r = gl_proc_locks_scan(path, collect, &c);
	size_t n = c.n;

	*total = c.total;
	if (r < 0)
		return r;
	/* The kernel lists each holder with its waiters after it; callers want
	 * holders first, the waiters after them in the kernel's order. */
	for (size_t i = 1, h = n && !out[0].waiting; i < n; i++) {
		if (!out[i].waiting) {
			struct gl_lock_entry e = out[i];
			memmove(out + h + 1, out + h, (i - h) * sizeof *out);
			out[h++] = e;
		}
	}
	return 0;
}

int gl_proc_locks_find_held(const char *path, dev_t dev, unsigned long long ino,
                            struct gl_lock_entry *out, size_t cap, size_t *total)
{
	int r = 0;

	for (int reads = 0; reads < 3; reads++) {
		r = gl_proc_locks_find(path, dev, ino, out, cap, total);
		if (r < 0 || (cap > 0 && *total > 0 && !out[0].waiting))
			break;
	}
	return r;
}
