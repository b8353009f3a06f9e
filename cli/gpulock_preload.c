/* The preload library that goes with this gpulock, and whether an
 * LD_PRELOAD value already names it: for run, doctor and shell-init.
 * A name is not enough: an entry left by an old install (an old path in a
 * profile) names a file that is gone or another one, and must not stop the
 * real library from being added. Only the same file (device and inode)
 * counts. */
#include "gpulock.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

/* The library where we would look for it, or NULL. */
static const char *find_preload(void)
{
	static char found[PATH_MAX];
	char exe[PATH_MAX], *dir;
	const char *candidates[4];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *override = getenv("GPULOCK_PRELOAD");
	struct stat st;

	/* Absolute: the command may change directory before it loads it. */
	if (override && *override)
		return stat(override, &st) == 0 && S_ISREG(st.st_mode) && realpath(override, found)
		               ? found
		               : NULL;
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	dir = dirname(exe);
	/* In the build tree, then installed beside us, then where meson put it. */
	candidates[0] = "%s/../preload/" PRELOAD_NAME;
	candidates[1] = "%s/../" GL_LIBDIR_NAME "/" PRELOAD_NAME;
	candidates[2] = "%s/../lib/" PRELOAD_NAME;
	candidates[3] = NULL;
	for (int i = 0; candidates[i]; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, candidates[i], dir);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && realpath(path, found))
			return found;
	}
	if (stat(GL_LIBDIR "/" PRELOAD_NAME, &st) == 0)
		return GL_LIBDIR "/" PRELOAD_NAME;
	return NULL;
}

const char *cli_preload_path(const char **why)
{
	const char *lib = find_preload(), *override = getenv("GPULOCK_PRELOAD");

	*why = NULL;
	if (!lib)
		*why = override && *override
		               ? "GPULOCK_PRELOAD names no library file"
		               : "cannot find " PRELOAD_NAME " next to this program (or set "
		                 "GPULOCK_PRELOAD)";
	else if (strpbrk(lib, " :"))
		*why = "the preload library's path has a space or a ':', which LD_PRELOAD cannot "
		       "hold (it splits entries there): install it elsewhere, or set GPULOCK_PRELOAD "
		       "to a path without";
	return *why ? NULL : lib;
}

/* What the loader puts for $LIB: glibc builds it from the directory its own
 * libc is installed in, less /usr (lib/x86_64-linux-gnu on Debian, lib64 on
 * Fedora). NULL when that cannot be told: the entry is then not compared. */
static const char *loader_lib(void)
{
	static char lib[PATH_MAX];
	Dl_info info;
	const char *p;
	char *slash;

	if (lib[0])
		return lib;
	if (!dladdr((const void *)gnu_get_libc_version, &info) || !info.dli_fname)
		return NULL;
	p = info.dli_fname;
	if (strncmp(p, "/usr/", 5) == 0)
		p += 4;
	if (p[0] != '/' || !(slash = strrchr(p, '/')) || slash == p)
		return NULL;
	snprintf(lib, sizeof lib, "%.*s", (int)(slash - p - 1), p + 1);
	return lib;
}

/* The length of the token NAME at s (just after a '$'), as $NAME or
 * ${NAME}, or 0. */
static size_t token_len(const char *s, const char *name)
{
	size_t n = strlen(name);

	if (s[0] == '{' && strncmp(s + 1, name, n) == 0 && s[n + 1] == '}')
		return n + 2;
	if (strncmp(s, name, n) == 0 && !isalnum((unsigned char)s[n]) && s[n] != '_')
		return n;
	return 0;
}

/* The entry with $LIB and $PLATFORM replaced as the loader replaces them in
 * this process. False for $ORIGIN (the directory of whichever program the
 * loader starts) and anything that does not fit. */
static bool expand_entry(const char *e, char *out, size_t len)
{
	size_t o = 0;

	while (*e) {
		const char *value = NULL;
		size_t n = 0, vlen;

		if (e[0] == '$') {
			if ((n = token_len(e + 1, "LIB")) != 0)
				value = loader_lib();
			else if ((n = token_len(e + 1, "PLATFORM")) != 0)
				/* the auxiliary vector holds the string's address */
				value = (const char *)getauxval( // NOLINT(performance-no-int-to-ptr)
					AT_PLATFORM);
			else if (token_len(e + 1, "ORIGIN") != 0)
				return false;
			if (n && !value)
				return false;
		}
		if (!value) { /* any other '$' is the loader's literal '$' too */
			value = e;
			n = 0;
			vlen = 1;
		} else {
			vlen = strlen(value);
		}
		if (o + vlen >= len)
			return false;
		memcpy(out + o, value, vlen);
		o += vlen;
		e += n ? n + 1 : 1;
	}
	out[o] = '\0';
	return true;
}

bool cli_preload_listed(const char *list, const char *lib)
{
	char entry[PATH_MAX], path[PATH_MAX];
	struct stat want, st;

	if (!list || stat(lib, &want) < 0)
		return false;
	while (*list) {
		size_t n = strcspn(list, ": "); /* the loader's separators */

		/* Without a slash the loader searches its library path: such an
		 * entry is not ours to find, and naming a file twice is harmless. */
		if (n > 0 && n < sizeof entry) {
			memcpy(entry, list, n);
			entry[n] = '\0';
			if (strchr(entry, '/') && expand_entry(entry, path, sizeof path) &&
			    stat(path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
				return true;
		}
		list += n;
		if (*list)
			list++;
	}
	return false;
}

int cli_preload_add(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int r;

	if (cli_preload_listed(old, lib))
		return 0;
	if (old && *old)
		r = asprintf(&value, "%s:%s", old, lib);
	else
		r = asprintf(&value, "%s", lib);
	if (r < 0)
		return -ENOMEM;
	r = setenv("LD_PRELOAD", value, 1);
	free(value);
	return r < 0 ? -ENOMEM : 0;
}
