#include "gl_command.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gl_command_find(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	bool denied = false;
	struct stat st;

	if (!name || !*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		if (stat(name, &st) < 0)
			return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EACCES;
		return S_ISREG(st.st_mode) && access(name, X_OK) == 0 ? 0 : -EACCES;
	}
	if (!path)
		path = "/bin:/usr/bin"; /* glibc's execvp default */
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		int dirlen = (int)(end - p);

		if ((size_t)snprintf(out, len, "%.*s%s%s", dirlen, p, dirlen ? "/" : "", name) < len &&
		    stat(out, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 0;
			denied = true;
		}
		if (!*end)
			break;
		p = end;
	}
	return denied ? -EACCES : -ENOENT;
}
