/* /proc/locks parsing. The first byte picks the mode:
 *  even: gl_proc_locks_parse_line on one line;
 *  odd:  gl_proc_locks_find on the whole input as a locks table (a memfd,
 *        read through /proc/self/fd), looking for the file of the first
 *        line that parses, with a cap from the first byte. Checks the
 *        streaming with its 4 KiB buffer against parsing line by line, and
 *        the order it promises: holders first, then waiters. */
#include "fuzz.h"
#include "gl_proc_locks.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int table_fd = -1;

static void fuzz_line(const char *line)
{
	struct gl_lock_entry e;
	int r;

	memset(&e, 0xa5, sizeof e);
	r = gl_proc_locks_parse_line(line, &e);
	FUZZ_ASSERT(r == 0 || r == -EINVAL);
	if (r == 0) /* a parsed entry is fully written */
		FUZZ_ASSERT((e.waiting == 0 || e.waiting == 1) && (e.exclusive == 0 || e.exclusive == 1) &&
		            (e.is_flock == 0 || e.is_flock == 1));
}

/* Is e like one of the first GL_PROC_LOCKS_DEDUP distinct entries seen (a
 * line read twice)? Else it is one of them, while there is room. */
static bool seen_before(const struct gl_lock_entry *e, struct gl_lock_entry *seen, size_t *n)
{
	if (e->pid <= 0)
		return false;
	for (size_t i = 0; i < *n; i++)
		if (seen[i].pid == e->pid && seen[i].waiting == e->waiting &&
		    seen[i].exclusive == e->exclusive)
			return true;
	if (*n < GL_PROC_LOCKS_DEDUP)
		seen[(*n)++] = *e;
	return false;
}

/* The expected matches: every complete line that parses as a flock of the
 * file, less those read twice. Lines of real tables are short; longer ones
 * are dropped in part by design, so the comparison covers inputs whose
 * lines all fit the buffer. */
static bool reference(char *text, size_t size, unsigned maj, unsigned min,
                      unsigned long long ino, size_t *holders, size_t *waiters)
{
	static struct gl_lock_entry seen[GL_PROC_LOCKS_DEDUP];
	char *line = text, *nl;
	size_t nseen = 0;

	*holders = *waiters = 0;
	while ((nl = memchr(line, '\n', size - (size_t)(line - text))) != NULL) {
		struct gl_lock_entry e;

		if (nl - line > 1000)
			return false;
		*nl = '\0';
		if (gl_proc_locks_parse_line(line, &e) == 0 && e.is_flock && e.maj == maj &&
		    e.min == min && e.ino == ino && !seen_before(&e, seen, &nseen))
			(*(e.waiting ? waiters : holders))++;
		*nl = '\n';
		line = nl + 1;
	}
	return size - (size_t)(line - text) <= 1000;
}

static void fuzz_table(const uint8_t *data, size_t size, unsigned cap)
{
	struct gl_lock_entry out[16], first;
	char path[64], *text = fuzz_cstring(data, size), *nl;
	unsigned maj = 0, min = 0;
	unsigned long long ino = 0;
	size_t total = 12345, holders, waiters, n;
	bool comparable;
	int r;

	if (table_fd < 0)
		table_fd = memfd_create("locks", MFD_CLOEXEC);
	FUZZ_ASSERT(table_fd >= 0);
	FUZZ_ASSERT(ftruncate(table_fd, 0) == 0);
	FUZZ_ASSERT(pwrite(table_fd, data, size, 0) == (ssize_t)size);

	/* The file of the first line that parses: a match is then likely. */
	for (char *line = text; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		r = gl_proc_locks_parse_line(line, &first);
		if (nl)
			*nl = '\n';
		if (r == 0) {
			maj = first.maj;
			min = first.min;
			ino = first.ino;
			break;
		}
	}
	comparable = memchr(data, '\0', size) == NULL &&
	             reference(text, size, maj, min, ino, &holders, &waiters);

	snprintf(path, sizeof path, "/proc/self/fd/%d", table_fd);
	memset(out, 0xa5, sizeof out);
	r = gl_proc_locks_find(path, makedev(maj, min), ino, out, cap, &total);
	FUZZ_ASSERT(r == 0);
	n = total < cap ? total : cap;
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(out[i].is_flock && out[i].maj == maj && out[i].min == min &&
		            out[i].ino == ino);
		if (i > 0 && out[i - 1].waiting)
			FUZZ_ASSERT(out[i].waiting); /* holders first */
	}
	if (comparable) {
		FUZZ_ASSERT(total == holders + waiters);
		/* Uncapped: exactly the table's holders, then its waiters. (Capped,
		 * out holds the first cap matches, in that order.) */
		for (size_t i = 0; n == total && i < n; i++)
			FUZZ_ASSERT(out[i].waiting == (i >= holders));
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		fuzz_table(data + 1, size - 1, (data[0] >> 1) % 17);
		return 0;
	}
	s = fuzz_cstring(data + 1, size - 1);
	fuzz_line(s);
	free(s);
	return 0;
}
