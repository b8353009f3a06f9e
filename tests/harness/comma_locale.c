#include "comma_locale.h"
#include "procs.h"

#include <check.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

const char *tl_comma_locale(const char *dir)
{
	static char out[4096];
	char *const argv[] = {"localedef", "-i", "de_DE", "-f", "UTF-8", out, NULL};
	pid_t pid;
	int r;

	snprintf(out, sizeof out, "%s/de_DE.UTF-8", dir);
	r = posix_spawnp(&pid, "localedef", NULL, NULL, argv, environ);
	ck_assert_msg(r == 0, "localedef: %s (install the locales package)", strerror(r));
	/* localedef exits 1 for warnings that still wrote the locale. */
	r = tp_wait(pid, 60);
	ck_assert_msg(r == 0 || r == 1, "localedef -i de_DE exited %d (install the locales package)",
	              r);
	ck_assert_int_eq(setenv("LOCPATH", dir, 1), 0);
	return "de_DE.UTF-8";
}
