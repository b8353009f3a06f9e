#include "gl_meminfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "MemAvailable:   12345678 kB" */
static int field(const char *text, const char *name, unsigned long long *bytes)
{
	size_t len = strlen(name);
	unsigned long long kib;
	char unit[4];

	for (const char *line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, name, len) != 0 || line[len] != ':')
			continue;
		if (sscanf(line + len + 1, "%llu %3s", &kib, unit) != 2 || strcmp(unit, "kB") != 0)
			return -ENODATA;
		*bytes = kib * 1024;
		return 0;
	}
	return -ENODATA;
}

int gl_meminfo_read(const char *path, unsigned long long *total, unsigned long long *avail)
{
	/* The fields we want are in the first three lines; 4 KiB holds them
	 * with room to spare and saves reading the other fifty. */
	char buf[4096];
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	while (len < (ssize_t)sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	r = field(buf, "MemTotal", total);
	return r < 0 ? r : field(buf, "MemAvailable", avail);
}
