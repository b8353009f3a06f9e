#include "gl_hardened.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool gl_hardened_dir_ok(const char *dir)
{
	struct stat st;

	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

const char *gl_default_lock_path(void)
{
	return gl_hardened_dir_ok(GL_HARDENED_DIR) ? GL_HARDENED_LOCK_PATH : GL_TMP_LOCK_PATH;
}

const char *gl_default_slot_dir(void)
{
	return gl_hardened_dir_ok(GL_HARDENED_DIR) ? GL_HARDENED_SLOT_DIR : GL_TMP_SLOT_DIR;
}

/* The value of a string of at most 10 digits (not strtoul: one symbol less
 * for every process that loads the preload to bind). */
static unsigned long long decimal(const char *digits)
{
	unsigned long long v = 0;

	for (; *digits; digits++)
		v = v * 10 + (unsigned long long)(*digits - '0');
	return v;
}

/* The name of the /etc/passwd line "name:x:uid:..." for uid, or false. */
static bool passwd_line(const char *line, size_t n, uid_t uid, char *name, size_t len)
{
	const char *c1 = memchr(line, ':', n), *c2, *c3;
	char num[16];
	size_t k;

	if (!c1 || !(c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line))) ||
	    !(c3 = memchr(c2 + 1, ':', n - (size_t)(c2 + 1 - line))))
		return false;
	k = (size_t)(c3 - c2 - 1);
	if (k == 0 || k >= sizeof num)
		return false;
	memmove(num, c2 + 1, k);
	num[k] = '\0';
	if (strspn(num, "0123456789") != k || k > 10 || decimal(num) != (unsigned long long)uid)
		return false;
	k = (size_t)(c1 - line);
	if (k == 0 || k >= len)
		return false;
	memmove(name, line, k);
	name[k] = '\0';
	return true;
}

static bool passwd_name(uid_t uid, char *name, size_t len)
{
	char buf[4096];
	size_t have = 0;
	bool found = false;
	ssize_t r;
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (!found && (r = read(fd, buf + have, sizeof buf - have)) > 0) {
		char *start = buf, *nl;

		have += (size_t)r;
		while (!found && (nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			found = passwd_line(start, (size_t)(nl - start), uid, name, len);
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof buf) /* a line longer than the buffer: skip it */
			have = 0;
	}
	if (!found && have) /* a last line without a newline */
		found = passwd_line(buf, have, uid, name, len);
	close(fd);
	return found;
}

void gl_owner_text(uid_t uid, char *buf, size_t len)
{
	char name[64];

	if (passwd_name(uid, name, sizeof name))
		snprintf(buf, len, "%s, uid %u", name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

const char *gl_file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "of an unknown type";
}
