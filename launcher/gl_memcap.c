#include "gl_memcap.h"
#include "gl_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	int fd, r = 0;
	size_t len = strlen(text);

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		r = -errno;
	close(fd);
	return r;
}

/* mountinfo escapes blanks in paths as \040 and backslashes as \134. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Where the cgroup2 filesystem is mounted, and which cgroup its root is. */
static int find_mount(char *mnt, size_t mlen, char *root, size_t rlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		char r_buf[PATH_MAX], m_buf[PATH_MAX];
		const char *dash = strstr(line, " - ");

		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r_buf, m_buf) != 2)
			continue;
		unescape(r_buf);
		unescape(m_buf);
		snprintf(mnt, mlen, "%s", m_buf);
		snprintf(root, rlen, "%s", r_buf);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* Our cgroup v2 path: the "0::" line of /proc/self/cgroup. */
static int own_cgroup(char *buf, size_t len)
{
	char text[8192];
	const char *p;
	ssize_t r = gl_read_small("/proc/self/cgroup", text, sizeof text);

	if (r < 0)
		return (int)r;
	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "0::", 3) == 0) {
			size_t n = strcspn(p + 3, "\n");
			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(buf, p + 3, n);
			buf[n] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strstr(p, word)) != NULL; p += len)
		if ((p == text || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' ' || p[len] == '\n'))
			return true;
	return false;
}

/* Empty cgroups left by earlier jobs: rmdir fails (EBUSY) on any that still
 * has processes, so trying them all is safe. */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, GL_MEMCAP_PREFIX, sizeof GL_MEMCAP_PREFIX - 1) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", parent, e->d_name) < sizeof path)
			(void)rmdir(path);
	}
	closedir(d);
}

static int enter_under(const char *parent, unsigned long long bytes, char *path, size_t len,
                       char *why, size_t whylen)
{
	char value[32];
	int r;

	remove_stale(parent);
	if ((size_t)snprintf(path, len, "%s/" GL_MEMCAP_PREFIX "%d", parent, (int)getpid()) >= len)
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, whylen, "cannot create a cgroup in %s: %s", parent, strerror(-r));
		return r;
	}
	snprintf(value, sizeof value, "%llu", bytes);
	r = write_text(path, "memory.max", value);
	if (r < 0) {
		snprintf(why, whylen, "cannot set %s/memory.max: %s", path, strerror(-r));
		goto fail;
	}
	/* No swap accounting (swapaccount=0, no swap at all): nothing to forbid. */
	r = write_text(path, "memory.swap.max", "0");
	if (r < 0 && r != -ENOENT) {
		snprintf(why, whylen, "cannot set %s/memory.swap.max: %s", path, strerror(-r));
		goto fail;
	}
	snprintf(value, sizeof value, "%d", (int)getpid());
	r = write_text(path, "cgroup.procs", value);
	if (r < 0) {
		snprintf(why, whylen, "cannot move into %s: %s", path, strerror(-r));
		goto fail;
	}
	return 0;
fail:
	(void)rmdir(path);
	return r;
}

int gl_memcap_enter(unsigned long long bytes, char *path, size_t len, char *why, size_t whylen)
{
	char mnt[PATH_MAX], root[PATH_MAX], cg[PATH_MAX], dir[PATH_MAX], ctl[1024], file[PATH_MAX + 32];
	const char *rel;
	size_t mlen;
	int r, last = -ENOTSUP;

	snprintf(why, whylen, "no cgroup v2 filesystem is mounted");
	if (find_mount(mnt, sizeof mnt, root, sizeof root) < 0)
		return -ENOTSUP;
	if (own_cgroup(cg, sizeof cg) < 0) {
		snprintf(why, whylen, "this process is in no cgroup v2 (see /proc/self/cgroup)");
		return -ENOTSUP;
	}
	/* Our cgroup relative to the mount's root (a cgroup namespace or a
	 * bind mount may show only a subtree). */
	rel = cg;
	if (strcmp(root, "/") != 0) {
		size_t rl = strlen(root);
		if (strncmp(cg, root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0')) {
			snprintf(why, whylen, "our cgroup %s is outside the cgroup v2 mount at %s", cg,
			         mnt);
			return -ENOTSUP;
		}
		rel = cg + rl;
	}
	if ((size_t)snprintf(dir, sizeof dir, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel) >=
	    sizeof dir)
		return -ENAMETOOLONG;
	mlen = strlen(mnt);
	snprintf(why, whylen,
	         "cgroup v2 at %s has no memory controller that we may use (ours, %s, and those "
	         "above it do not enable \"memory\" for children we can create)",
	         mnt, cg);
	/* From our cgroup upwards: a cgroup with processes cannot have domain
	 * controllers for children (except the root), so ours rarely works and
	 * a parent usually does when it is ours to write. */
	for (;;) {
		snprintf(file, sizeof file, "%s/cgroup.subtree_control", dir);
		if (gl_read_small(file, ctl, sizeof ctl) >= 0 && has_word(ctl, "memory") &&
		    access(dir, W_OK) == 0) {
			r = enter_under(dir, bytes, path, len, why, whylen);
			if (r == 0)
				return 0;
			last = r;
		}
		if (strlen(dir) <= mlen)
			break;
		*strrchr(dir, '/') = '\0'; /* rel starts with '/': never above mnt */
	}
	return last == -ENOTSUP ? -ENOTSUP : last;
}
