/* What an installed gpulock gives the tools that start jobs without a
 * profile: preload-path (scripts, container recipes), the systemd drop-in
 * of shell-init systemd, and a crontab's LD_PRELOAD line in cron's bare
 * environment. gpulock and its library are installed into the test's
 * directory as meson would put them (the multiarch layout where the
 * build's libdir is one). The drop-in is loaded by systemd-analyze in a
 * case of its own (conditional: skipped where it is not installed). */
#include "cli_harness.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const no_override[] = {"GPULOCK_PRELOAD=", NULL};
static char bin[1024];   /* the installed gpulock */
static char lib[1024];   /* the installed library, by its real path */
static char value[1024]; /* what shell-init adds: lib, or with $LIB for its libdir */

/* path's real path (malloc'd): TMPDIR may be a symlink. */
static char *real(const char *path)
{
	char *r = realpath(path, NULL);

	ck_assert_msg(r, "realpath %s: %s", path, strerror(errno));
	return r;
}

static void make_dirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s/", path);
	for (char *slash = strchr(buf + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		ck_assert_msg(mkdir(buf, 0755) == 0 || errno == EEXIST, "mkdir %s", buf);
		*slash = '/';
	}
}

/* gpulock in h_dir/prefix/bin; the library beside it in LIBDIR unless
 * with_lib is false. */
static void install(bool with_lib)
{
	const char *libdir = h_artifact("GL_LIBDIR_NAME");
	char *prefix, dir[900];

	h_setup();
	ck_assert_int_gt(asprintf(&prefix, "%s/prefix", real(h_dir)), 0);
	snprintf(dir, sizeof dir, "%s/bin", prefix);
	make_dirs(dir);
	snprintf(bin, sizeof bin, "%s/gpulock", dir);
	tp_copy_file(gpulock(), bin);
	snprintf(dir, sizeof dir, "%s/%s", prefix, libdir);
	make_dirs(dir);
	snprintf(lib, sizeof lib, "%s/libgpulock_preload.so", dir);
	if (with_lib)
		tp_copy_file(h_artifact("GL_PRELOAD"), lib);
	if (strncmp(libdir, "lib/", 4) == 0)
		snprintf(value, sizeof value, "%s/$LIB/libgpulock_preload.so", prefix);
	else
		snprintf(value, sizeof value, "%s", lib);
	free(prefix);
}

static void expect_path(const char *const extra[], const char *want)
{
	const char *argv[] = {bin, "preload-path", NULL};
	char *out;

	ck_assert_int_gt(asprintf(&out, "%s\n", want), 0);
	expect_exact(argv, extra, 0, out, "");
	free(out);
}

/* Exactly what run adds to LD_PRELOAD, one line, whether installed or
 * in the build tree. */
START_TEST(preload_path_prints_the_library_run_adds)
{
	char env[4200], want[4200], *out, *err;
	const char *plain[] = {gpulock(), "preload-path", NULL};
	const char *run[] = {bin, "run", "--", "sh", "-c", "printf '%s\\n' \"$LD_PRELOAD\"", NULL};
	const char *const extra[] = {env, "GPULOCK_PRELOAD=", NULL};

	install(true);
	snprintf(want, sizeof want, "%s\n", real(h_artifact("GL_PRELOAD")));
	expect_exact(plain, no_override, 0, want, "");
	expect_path(no_override, lib);

	/* A sanitizer runtime, where the build has one, stays first. */
	preload_env(env, sizeof env, "");
	ck_assert_int_eq(h_run(run, extra, false, &out, &err), 0);
	preload_value(want, sizeof want, lib);
	strcat(want, "\n");
	/* Under memcheck, gpulock's LD_PRELOAD holds valgrind's own libraries,
	 * which valgrind takes out again for the untraced sh: an empty entry
	 * stays in front (harmless to the loader). */
	ck_assert_str_eq(getenv("GL_UNDER_VALGRIND") && out[0] == ':' ? out + 1 : out, want);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

/* GPULOCK_PRELOAD wins, made absolute and resolved, as run uses it. */
START_TEST(preload_path_follows_gpulock_preload)
{
	char link[1024], env[1100];
	const char *const extra[] = {env, NULL};

	install(true);
	snprintf(link, sizeof link, "%s/other.so", h_dir);
	ck_assert_int_eq(symlink(lib, link), 0);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", link);
	expect_path(extra, lib);
}
END_TEST

/* Not found: run's own message and status, nothing on stdout. */
START_TEST(preload_path_fails_as_run_does)
{
	char missing[1024], spaced[1024], env[1100], *system_lib;
	const char *argv[] = {bin, "preload-path", NULL};
	const char *run[] = {bin, "run", "--", "true", NULL};
	const char *const extra[] = {env, NULL};

	install(false);
	snprintf(missing, sizeof missing, "%s/missing.so", h_dir);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", missing);
	expect_exact(argv, extra, 125, "", "gpulock: GPULOCK_PRELOAD names no library file\n");
	expect_exact(run, extra, 125, "", "gpulock: GPULOCK_PRELOAD names no library file\n");

	/* A path LD_PRELOAD would split. */
	snprintf(spaced, sizeof spaced, "%s/a b", h_dir);
	ck_assert_int_eq(mkdir(spaced, 0755), 0);
	strcat(spaced, "/libgpulock_preload.so");
	tp_copy_file(h_artifact("GL_PRELOAD"), spaced);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", spaced);
	expect_exact(argv, extra, 125, "",
	             "gpulock: the preload library's path has a space or a ':', which LD_PRELOAD "
	             "cannot hold (it splits entries there): install it elsewhere, or set "
	             "GPULOCK_PRELOAD to a path without\n");

	/* Nothing beside gpulock: the configured libdir is the last place it
	 * looks, which has the library where this machine has it installed. */
	ck_assert_int_gt(asprintf(&system_lib, "%s/libgpulock_preload.so",
	                          h_artifact("GL_INSTALLED_LIBDIR")),
	                 0);
	if (access(system_lib, F_OK) == 0) {
		expect_path(no_override, system_lib);
	} else {
		static const char msg[] = "gpulock: cannot find libgpulock_preload.so next to this "
		                          "program (or set GPULOCK_PRELOAD)\n";
		expect_exact(argv, no_override, 125, "", msg);
		expect_exact(run, no_override, 125, "", msg);
	}
	free(system_lib);
}
END_TEST

/* The drop-in, exactly: set is the value it sets, note_lib the library
 * its multiarch note names (NULL: no note). */
static void expect_drop_in(const char *const extra[], const char *note_lib, const char *set)
{
	const char *argv[] = {bin, "shell-init", "systemd", NULL};
	char want[8192];
	int n;

	n = snprintf(want, sizeof want,
	             "# gpulock: take the GPU lock at the first CUDA call of every program that\n"
	             "# a service starts.\n");
	if (note_lib)
		n += snprintf(want + n, sizeof want - (size_t)n,
		              "# %s is not in a multiarch directory:\n"
		              "# 32-bit programs will print a loader warning and run normally\n"
		              "# (gpulock-preload(7), EXPORTING IT EVERYWHERE, says how to silence "
		              "it).\n",
		              note_lib);
	snprintf(want + n, sizeof want - (size_t)n,
	         "# As a drop-in for one service: /etc/systemd/system/UNIT.service.d/gpulock.conf\n"
	         "# (systemctl edit UNIT opens one there); for every service, systemd 246 and\n"
	         "# later: /etc/systemd/system/service.d/gpulock.conf; for user units, the same\n"
	         "# under ~/.config/systemd/user/. Then systemctl [--user] daemon-reload, and\n"
	         "# restart the services. It replaces the LD_PRELOAD a unit sets with\n"
	         "# Environment= (one set with EnvironmentFile= wins over it): list both there.\n"
	         "# Remove it when gpulock is uninstalled: the loader would complain about the\n"
	         "# missing library in every process.\n"
	         "[Service]\n"
	         "Environment=LD_PRELOAD=%s\n",
	         set);
	expect_exact(argv, extra, 0, want, "");
}

/* A library path with characters systemd reads specially: % starts a
 * specifier, \ an escape, quotes quote. Made in h_dir; its real path. */
static void odd_library(char *path, size_t len, char *escaped, size_t elen)
{
	char *base = real(h_dir), dir[1024];

	snprintf(dir, sizeof dir, "%s/w%%k\"q'x\\y", base);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, len, "%s/libgpulock_preload.so", dir);
	tp_copy_file(h_artifact("GL_PRELOAD"), path);
	snprintf(escaped, elen, "%s/w%%%%k\\\"q\\'x\\\\y/libgpulock_preload.so", base);
	free(base);
}

START_TEST(the_systemd_drop_in_sets_ld_preload)
{
	char odd[1100], escaped[1100], env[1200];
	const char *const extra[] = {env, NULL};

	install(true);
	expect_drop_in(no_override, strstr(value, "$LIB") ? NULL : lib, value);
	/* Escaped for systemd; not in a multiarch directory. */
	odd_library(odd, sizeof odd, escaped, sizeof escaped);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", odd);
	expect_drop_in(extra, odd, escaped);
}
END_TEST

/* systemd-analyze verify loads a unit with the drop-in and says nothing. */
static void verify(const char *const extra[])
{
	char units[512], path[1024], env_path[600], *out, *err;
	const char *gen[] = {bin, "shell-init", "systemd", NULL};
	const char *argv[] = {"systemd-analyze", "verify", "--man=no", path, NULL};
	const char *const env[] = {env_path, NULL};
	FILE *f;

	tp_make_dir(units, sizeof units);
	snprintf(path, sizeof path, "%s/gl-test.service.d", units);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	strcat(path, "/gpulock.conf");
	ck_assert_int_eq(h_run(gen, extra, false, &out, &err), 0);
	ck_assert_str_eq(err, "");
	tp_write_file(path, out);
	free(out);
	free(err);
	snprintf(path, sizeof path, "%s/gl-test.service", units);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fputs("[Unit]\nDescription=gpulock test\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n", f);
	ck_assert_int_eq(fclose(f), 0);
	/* The trailing ':' keeps the usual directories after ours. */
	snprintf(env_path, sizeof env_path, "SYSTEMD_UNIT_PATH=%s:", units);
	ck_assert_int_eq(h_run(argv, env, false, &out, &err), 0);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strcmp(err, "") == 0, "systemd-analyze verify:\n%s", err);
	free(out);
	free(err);
}

START_TEST(systemd_loads_the_drop_in_cleanly)
{
	char odd[1100], escaped[1100], env[1200];
	const char *const extra[] = {env, NULL};

	install(true);
	if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
		tp_skip("systemd_loads_the_drop_in_cleanly", "systemd-analyze is not installed");
		return;
	}
	verify(no_override);
	odd_library(odd, sizeof odd, escaped, sizeof escaped);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", odd);
	verify(extra);
}
END_TEST

/* A crontab that starts with the LD_PRELOAD line, the $LIB form included
 * (cron passes it as written; the loader expands it): cron runs the entry
 * with sh -c in a bare environment, and its first CUDA call takes the lock. */
START_TEST(a_crontab_line_takes_the_lock_in_a_bare_environment)
{
	char env_preload[4300], env_lock[600], env_lib[4200], entry[4200], entries[4200];
	const char *argv[] = {"env",       "-i",    "HOME=/",  "LOGNAME=root", "PATH=/usr/bin:/bin",
	                      "SHELL=/bin/sh", env_preload, env_lock, env_lib, "CLIENT_HOLD=1",
	                      "/bin/sh",   "-c",    entry,     NULL};
	struct tp_proc job;
	char *line;

	install(true);
	preload_value(entries, sizeof entries, value);
	snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", entries);
	snprintf(env_lock, sizeof env_lock, "GPU_LOCK_PATH=%s", h_lock);
	snprintf(env_lib, sizeof env_lib, "LD_LIBRARY_PATH=%s", h_artifact("GL_FIXTURES_DIR"));
	snprintf(entry, sizeof entry, "exec %s", h_artifact("GL_CLIENT_DLSYM"));
	h_spawn(&job, argv, NULL, false);
	line = tp_read_line(job.out, 30);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "cuInit=0");
	h_wait_holder(h_lock, job.pid);
	close(job.in);
	ck_assert_int_eq(tp_wait(job.pid, 30), 0);
	free(line);
	close(job.out);
	close(job.err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpulock installed");
	TCase *tc = tcase_create("install");
	TCase *analyze = tcase_create("systemd-analyze");

	tcase_add_test(tc, preload_path_prints_the_library_run_adds);
	tcase_add_test(tc, preload_path_follows_gpulock_preload);
	tcase_add_test(tc, preload_path_fails_as_run_does);
	tcase_add_test(tc, the_systemd_drop_in_sets_ld_preload);
	tcase_add_test(tc, a_crontab_line_takes_the_lock_in_a_bare_environment);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(analyze, systemd_loads_the_drop_in_cleanly);
	tcase_set_tags(analyze, "conditional");
	tcase_set_timeout(analyze, 60);
	suite_add_tcase(s, analyze);
	return tp_run_suite(s);
}
