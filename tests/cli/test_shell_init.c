/* The lines of gpulock shell-init, run by the real shell they are for (the
 * one named in argv[1]; the test is skipped where it is not installed).
 * gpulock and its library are installed into the test's directory, in the
 * multiarch layout where the build's libdir is one, so that the lines hold
 * the loader's literal $LIB as an installed copy prints it. */
#include "cli_harness.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *shell;  /* sh, bash, zsh or fish */
static bool fish;
static bool has_ef; /* test -ef: fish only from 3.5 */
static char prefix[256]; /* h_dir/prefix: bin/gpulock, LIBDIR/libgpulock_preload.so */
static char lib[1024];   /* the installed library */
static char value[1024]; /* what the lines add: lib, or with $LIB for its libdir */
static char init[256];   /* the lines, saved */

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

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	char buf[65536];
	ssize_t n;

	ck_assert_msg(in >= 0 && out >= 0, "copy %s to %s", from, to);
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

/* Installs gpulock and the library under h_dir/prefix and saves the lines
 * the installed gpulock prints for the shell. */
static void install(void)
{
	const char *libdir = h_artifact("GL_LIBDIR_NAME");
	static const char *const no_override[] = {"GPULOCK_PRELOAD=", NULL};
	char path[768], *out, *err;
	const char *argv[] = {path, "shell-init", shell, NULL};
	FILE *f;

	h_setup();
	snprintf(prefix, sizeof prefix, "%s/prefix", h_dir);
	snprintf(path, sizeof path, "%s/%s", prefix, libdir);
	make_dirs(path);
	snprintf(lib, sizeof lib, "%s/libgpulock_preload.so", path);
	copy_file(h_artifact("GL_PRELOAD"), lib);
	snprintf(path, sizeof path, "%s/bin", prefix);
	make_dirs(path);
	strcat(path, "/gpulock");
	copy_file(gpulock(), path);
	if (strncmp(libdir, "lib/", 4) == 0)
		snprintf(value, sizeof value, "%s/$LIB/libgpulock_preload.so", prefix);
	else
		snprintf(value, sizeof value, "%s", lib);

	ck_assert_int_eq(h_run(argv, no_override, false, &out, &err), 0);
	ck_assert_str_eq(err, "");
	snprintf(init, sizeof init, "%s/init.%s", h_dir, shell);
	f = fopen(init, "we");
	ck_assert_ptr_nonnull(f);
	fputs(out, f);
	ck_assert_int_eq(fclose(f), 0);
	free(out);
	free(err);
}

/* The shell runs script, with its arguments in $1.. ($argv in fish). */
static int run_shell(const char *script, const char *a1, const char *a2,
                     const char *const extra[], char **out, char **err)
{
	const char *argv[8] = {shell, "-c", script};
	int n = 3;

	if (!fish)
		argv[n++] = "shell"; /* $0 */
	argv[n++] = a1;
	argv[n++] = a2;
	argv[n] = NULL;
	return h_run(argv, extra, false, out, err);
}

/* LD_PRELOAD after the lines ran twice, from before (NULL: unset). */
static void assert_sourced(const char *before, const char *want)
{
	const char *script = fish ? "if test -n \"$argv[2]\"; set -gx LD_PRELOAD $argv[3]; end\n"
	                            "source $argv[1]; source $argv[1]\n"
	                            "set -q LD_PRELOAD; and printf '%s\\n' \"$LD_PRELOAD\"; "
	                            "or echo unset"
	                          : "if [ -n \"$2\" ]; then LD_PRELOAD=$3; export LD_PRELOAD; "
	                            "else unset LD_PRELOAD; fi\n"
	                            ". \"$1\"; . \"$1\"\n"
	                            "printf '%s\\n' \"${LD_PRELOAD-unset}\"";
	const char *argv[8] = {shell, "-c", script};
	char want_out[8192], *out, *err;
	int n = 3;

	if (!fish)
		argv[n++] = "shell";
	argv[n++] = init;
	argv[n++] = before ? "set" : "";
	argv[n++] = before ? before : "";
	argv[n] = NULL;
	ck_assert_int_eq(h_run(argv, NULL, false, &out, &err), 0);
	snprintf(want_out, sizeof want_out, "%s\n", want);
	ck_assert_msg(strcmp(out, want_out) == 0, "%s: LD_PRELOAD='%s' gave '%s', not '%s'", shell,
	              before ? before : "(unset)", out, want_out);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}

/* Added last, once however often the lines run, unless that file is listed. */
START_TEST(the_lines_add_the_library_last_once)
{
	char want[4096], spaced[600], link[300];

	install();
	assert_sourced(NULL, value);
	assert_sourced("", value);
	assert_sourced(value, value);
	/* A sanitizer runtime first stays first. */
	snprintf(want, sizeof want, "/x/first.so:%s", value);
	assert_sourced("/x/first.so", want);
	/* The library under another name, alone or among others. An older
	 * fish, without test -ef, adds it again: harmless, the loader loads a
	 * file once. */
	snprintf(link, sizeof link, "%s/gl.so", h_dir);
	ck_assert_int_eq(symlink(lib, link), 0);
	snprintf(spaced, sizeof spaced, "/x/first.so %s", link);
	for (int i = 0; i < 3; i++) {
		const char *before = i == 0 ? link : i == 1 ? lib : spaced;
		if (has_ef)
			snprintf(want, sizeof want, "%s", before);
		else
			snprintf(want, sizeof want, "%s:%s", before, value);
		assert_sourced(before, want);
	}
}
END_TEST

/* An old install's path does not stop the lines: the library is added
 * after it, and a CUDA program started under them takes the lock. */
START_TEST(a_stale_entry_does_not_stop_the_lines)
{
	char stale[300], want[2048], before[4096], loader[512];
	char *out, *err;
	const char *script = fish ? "set -gx LD_PRELOAD $argv[1]; source $argv[2]; exec $argv[3]"
	                          : "LD_PRELOAD=$1; export LD_PRELOAD; . \"$2\"; exec \"$3\"";
	static const char *const no_wait[] = {"GPU_LOCK_TIMEOUT=0", NULL};
	struct tp_proc holder;

	install();
	snprintf(stale, sizeof stale, "%s/old/lib/libgpulock_preload.so", h_dir);
	snprintf(want, sizeof want, "%s:%s", stale, value);
	assert_sourced(stale, want);

	/* The client, run under the lines with the stale entry first, while the
	 * lock is held: its cuInit fails (46), so our library took part. */
	preload_value(before, sizeof before, stale);
	h_start_gpu_holder(&holder);
	{
		const char *argv[8] = {shell, "-c", script};
		int n = 3;

		if (!fish)
			argv[n++] = "shell";
		argv[n++] = before;
		argv[n++] = init;
		argv[n++] = h_artifact("GL_CLIENT_DLSYM");
		argv[n] = NULL;
		ck_assert_int_eq(h_run(argv, no_wait, false, &out, &err), 1); /* cuInit failed */
	}
	ck_assert_str_eq(out, "cuInit=46\n");
	snprintf(loader, sizeof loader, "ERROR: ld.so: object '%s' from LD_PRELOAD cannot be preloaded",
	         stale);
	ck_assert_msg(tp_count(err, loader) == 1, "%s", err);
	ck_assert_msg(tp_count(err, "gave up waiting for the GPU lock") == 1, "%s", err);
	free(out);
	free(err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Once the library is gone, the lines add nothing and say nothing: the
 * loader would complain in every process about a missing entry. */
START_TEST(the_lines_do_nothing_once_the_library_is_gone)
{
	install();
	ck_assert_int_eq(unlink(lib), 0);
	assert_sourced(NULL, "unset");
	assert_sourced("/x/first.so", "/x/first.so");
}
END_TEST

/* The profile line documented for the shell: silent without gpulock on the
 * PATH, the lines with it. */
START_TEST(the_guarded_profile_line_outlives_an_uninstall)
{
	static const char *const no_override[] = {"GPULOCK_PRELOAD=", NULL};
	char bin[300], want[1100], line[300];
	char *out, *err;

	install();
	if (fish)
		snprintf(line, sizeof line,
		         "set -gx PATH $argv[1] /usr/bin /bin\n"
		         "command -q gpulock; and gpulock shell-init fish | source\n"
		         "set -q LD_PRELOAD; and printf '%%s\\n' $LD_PRELOAD; or echo unset");
	else
		snprintf(line, sizeof line,
		         "PATH=$1:/usr/bin:/bin; unset LD_PRELOAD\n"
		         "command -v gpulock >/dev/null && eval \"$(gpulock shell-init %s)\"\n"
		         "printf '%%s\\n' \"${LD_PRELOAD-unset}\"",
		         shell);
	snprintf(bin, sizeof bin, "%s/nothing-here", h_dir);
	ck_assert_int_eq(run_shell(line, bin, NULL, no_override, &out, &err), 0);
	ck_assert_str_eq(out, "unset\n");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	snprintf(bin, sizeof bin, "%s/bin", prefix);
	ck_assert_int_eq(run_shell(line, bin, NULL, no_override, &out, &err), 0);
	snprintf(want, sizeof want, "%s\n", value);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

/* Where the shell is: meson test's skip (77) when it is not installed. */
static bool installed(const char *name)
{
	const char *path = getenv("PATH");
	char dirs[4096], file[PATH_MAX];

	snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof file, "%s/%s", d, name);
		if (access(file, X_OK) == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	Suite *s = suite_create("gpulock shell-init");
	TCase *tc = tcase_create("shell-init");

	if (argc != 2) {
		fprintf(stderr, "usage: test_shell_init sh|bash|zsh|fish\n");
		return 2;
	}
	shell = argv[1];
	fish = strcmp(shell, "fish") == 0;
	if (!installed(shell)) {
		printf("SKIP: %s is not installed (scripts/setup installs it)\n", shell);
		return 77;
	}
	if (fish) {
		/* fish reports an unknown test operator on stderr, with status 2 */
		const char *probe = "fish -c 'test / -ef / 2>/dev/null'";
		has_ef = system(probe) == 0;
		if (!has_ef)
			printf("NOTE: this fish has no test -ef: it may list the library twice\n");
	} else {
		has_ef = true;
	}
	tcase_add_test(tc, the_lines_add_the_library_last_once);
	tcase_add_test(tc, a_stale_entry_does_not_stop_the_lines);
	tcase_add_test(tc, the_lines_do_nothing_once_the_library_is_gone);
	tcase_add_test(tc, the_guarded_profile_line_outlives_an_uninstall);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
