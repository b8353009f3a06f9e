/* gpulock run: which library the command gets in LD_PRELOAD, which settings
 * reach its environment, and what a wait that times out does, lazy and
 * eager. */
#include "cli_harness.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines of text. */
static int lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

#define SHOW_PRELOAD "printf '%s\\n' \"$LD_PRELOAD\""

/* LD_PRELOAD as a command started by gpulock run sees it, when gpulock is
 * started with entries (after the sanitizer runtime, where there is one). */
static char *preload_seen(const char *entries)
{
	const char *argv[] = {gpulock(), "run", "--", "sh", "-c", SHOW_PRELOAD, NULL};
	char env_preload[4400], *out;
	const char *extra[] = {env_preload, NULL};

	preload_env(env_preload, sizeof env_preload, entries);
	ck_assert_int_eq(h_run(argv, extra, false, &out, NULL), 0);
	return out;
}

static void assert_unchanged(const char *entries)
{
	char want[4400], *out = preload_seen(entries);

	preload_value(want, sizeof want, entries);
	strcat(want, "\n");
	ck_assert_str_eq(out, want);
	free(out);
}

/* The client, run by gpulock run -n with entries in LD_PRELOAD while holder
 * holds the lock: its cuInit must fail (46) because our library, not the
 * stale entry, took part. */
static void assert_locked_out(const char *entries, pid_t holder, char **err)
{
	const char *argv[] = {gpulock(), "run", "-n", "--", h_artifact("GL_CLIENT_DLSYM"), NULL};
	char env_preload[4400], want[512], *out;
	const char *extra[] = {env_preload, NULL};

	preload_env(env_preload, sizeof env_preload, entries);
	ck_assert_int_eq(h_run(argv, extra, false, &out, err), 1); /* the client's own status */
	ck_assert_str_eq(out, "cuInit=46\n");
	snprintf(want, sizeof want,
	         "gave up waiting for the GPU lock %s at once (GPU_LOCK_TIMEOUT=0 / gpulock run "
	         "--no-wait); it is held by pid %d (",
	         h_lock, (int)holder);
	ck_assert_msg(tp_count(*err, want) == 1, "%s", *err);
	free(out);
}

/* An old install's path left in a profile names the library, but not this
 * one: it must not stop gpulock run from adding the real one, last. */
START_TEST(run_adds_the_preload_past_a_stale_entry)
{
	char stale[256], want[8600], loader[512], *out, *err;
	struct tp_proc holder;

	h_setup();
	snprintf(stale, sizeof stale, "%s/old/lib/libgpulock_preload.so", h_dir);
	out = preload_seen(stale);
	preload_value(want, sizeof want, stale);
	snprintf(want + strlen(want), sizeof want - strlen(want), ":%s\n", h_artifact("GL_PRELOAD"));
	ck_assert_str_eq(out, want);
	free(out);

	h_start_gpu_holder(&holder);
	assert_locked_out(stale, holder.pid, &err);
	/* The loader's complaint names the stale entry, in gpulock and in the
	 * client (and in valgrind's launcher, under valgrind); nothing else is
	 * said. */
	snprintf(loader, sizeof loader,
	         "ERROR: ld.so: object '%s' from LD_PRELOAD cannot be preloaded "
	         "(cannot open shared object file): ignored.",
	         stale);
	ck_assert_msg(tp_count(err, loader) >= 2 && lines(err) == tp_count(err, loader) + 1, "%s",
	              err);
	free(err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* The library listed under another name (a symlink), among other entries,
 * split by colons or spaces as the loader splits them: not added again. */
START_TEST(run_recognises_the_preload_by_its_file)
{
	char link[256], entries[600];

	h_setup();
	snprintf(link, sizeof link, "%s/gl.so", h_dir);
	ck_assert_int_eq(symlink(h_artifact("GL_PRELOAD"), link), 0);
	assert_unchanged(link);
	snprintf(entries, sizeof entries, "%s:", link);
	assert_unchanged(entries);
	snprintf(entries, sizeof entries, "%s/first.so %s", h_dir, link);
	assert_unchanged(entries);
	assert_unchanged(h_artifact("GL_PRELOAD"));
}
END_TEST

/* LD_PRELOAD splits at spaces and colons: a library whose path has one
 * cannot be preloaded, and gpulock says so before running anything (the
 * command ran unlocked, with a loader error, and doctor said all was well).
 * A relative GPULOCK_PRELOAD is made absolute: the command may change
 * directory before it loads it. */
START_TEST(run_refuses_a_preload_path_ld_preload_cannot_hold)
{
	static const char *const bad[] = {"we ird", "co:lon", NULL};
	char dir[300], lib[400], env[500], cwd[4096], rel[300], want[600], pre[4300];
	const char *extra[] = {env, pre, NULL}; /* a sanitizer runtime stays first */
	const char *run[] = {gpulock(), "run", "--", "sh", "-c", "echo ran", NULL};
	const char *show[] = {gpulock(), "run", "--", "sh", "-c", "printf '%s\\n' \"$LD_PRELOAD\"",
	                      NULL};
	char *out, *err;

	h_setup();
	preload_env(pre, sizeof pre, "");
	for (int i = 0; bad[i]; i++) {
		snprintf(dir, sizeof dir, "%s/%s", h_dir, bad[i]);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(lib, sizeof lib, "%s/libgpulock_preload.so", dir);
		tp_copy_file(h_artifact("GL_PRELOAD"), lib); /* a copy: a link would resolve */
		snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", lib);
		ck_assert_int_eq(h_run(run, extra, false, &out, &err), 125);
		ck_assert_str_eq(out, "");
		ck_assert_msg(strstr(err, "gpulock: the preload library's path has a space or a ':'"),
		              "%s", err);
		free(out);
		free(err);
	}
	/* Relative: given from the test's directory, passed on absolute. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(h_dir), 0);
	snprintf(rel, sizeof rel, "rel.so");
	ck_assert_int_eq(symlink(h_artifact("GL_PRELOAD"), rel), 0);
	snprintf(env, sizeof env, "GPULOCK_PRELOAD=%s", rel);
	ck_assert_int_eq(h_run(show, extra, false, &out, &err), 0);
	snprintf(want, sizeof want, "%s\n", h_artifact("GL_PRELOAD"));
	ck_assert_msg(strstr(out, want) && !strstr(out, "rel.so"), "LD_PRELOAD=%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* Where the loader expands $LIB: the directory of the C library, less /usr,
 * as glibc builds it; the test checks the loader agrees. */
static void loader_lib(char *buf, size_t len)
{
	Dl_info info;
	const char *p;

	ck_assert(dladdr((const void *)gnu_get_libc_version, &info) && info.dli_fname);
	p = info.dli_fname;
	if (strncmp(p, "/usr/", 5) == 0)
		p += 4;
	snprintf(buf, len, "%.*s", (int)(strrchr(p, '/') - p - 1), p + 1);
}

/* A link to our library at h_dir/NAME/DIR/libgpulock_preload.so; the entry
 * h_dir/NAME/TOKEN/libgpulock_preload.so must load it: the loader says
 * nothing about it. */
static void plant(const char *name, const char *dir, const char *token, char *entry, size_t len)
{
	char path[PATH_MAX], env_preload[PATH_MAX + 64], *err;
	const char *argv[] = {"true", NULL};
	const char *extra[] = {env_preload, NULL};

	snprintf(path, sizeof path, "%s/%s/%s/", h_dir, name, dir);
	for (char *slash = strchr(path + strlen(h_dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
		*slash = '/';
	}
	snprintf(path, sizeof path, "%s/%s/%s/libgpulock_preload.so", h_dir, name, dir);
	ck_assert_int_eq(symlink(h_artifact("GL_PRELOAD"), path), 0);
	snprintf(entry, len, "%s/%s/%s/libgpulock_preload.so", h_dir, name, token);
	preload_env(env_preload, sizeof env_preload, entry);
	ck_assert_int_eq(h_run(argv, extra, false, NULL, &err), 0);
	ck_assert_msg(strcmp(err, "") == 0, "the loader does not expand %s to %s:\n%s", token, dir,
	              err);
	free(err);
}

/* The lines shell-init prints for a multiarch install hold a literal $LIB,
 * which the loader expands per process: gpulock run recognises them, and
 * $PLATFORM too. */
START_TEST(run_expands_lib_and_platform_as_the_loader_does)
{
	char lib[PATH_MAX], entry[PATH_MAX], *err;
	const char *platform = (const char *)getauxval(AT_PLATFORM);
	struct tp_proc holder;

	h_setup();
	loader_lib(lib, sizeof lib);
	plant("pfx", lib, "$LIB", entry, sizeof entry);
	assert_unchanged(entry);
	plant("braced", lib, "${LIB}", entry, sizeof entry);
	assert_unchanged(entry);
	h_start_gpu_holder(&holder);
	assert_locked_out(entry, holder.pid, &err);
	ck_assert_msg(lines(err) == 1, "%s", err);
	free(err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_ptr_nonnull(platform);
	plant("plat", platform, "$PLATFORM", entry, sizeof entry);
	assert_unchanged(entry);
}
END_TEST

/* Every option that names a setting reaches the command's environment, lazy
 * and eager alike: CUDA programs in an eager tree must wait on the same
 * lock, with the same patience. */
START_TEST(run_options_reach_the_command_in_both_modes)
{
	char other[256], want[600], env_preload[4300];
	const char *extra[] = {env_preload, NULL};
	struct {
		const char *opt, *arg;
		char want[400];
	} cases[] = {{"-l", other, ""},        {"--lock", other, ""},  {"-t", "1m30s", ""},
	             {"--timeout", "forever", ""}, {"-n", NULL, ""},      {"--no-wait", NULL, ""},
	             {"-q", NULL, ""},           {"--quiet", NULL, ""}};

	h_setup();
	snprintf(other, sizeof other, "%s/other.lock", h_dir);
	snprintf(cases[0].want, sizeof cases[0].want, "%s||\n", other);
	snprintf(cases[1].want, sizeof cases[1].want, "%s||\n", other);
	snprintf(cases[2].want, sizeof cases[2].want, "%s|90.000000000|\n", h_lock);
	snprintf(cases[3].want, sizeof cases[3].want, "%s|forever|\n", h_lock);
	snprintf(cases[4].want, sizeof cases[4].want, "%s|0.000000000|\n", h_lock);
	snprintf(cases[5].want, sizeof cases[5].want, "%s|0.000000000|\n", h_lock);
	snprintf(cases[6].want, sizeof cases[6].want, "%s||1\n", h_lock);
	snprintf(cases[7].want, sizeof cases[7].want, "%s||1\n", h_lock);
	preload_env(env_preload, sizeof env_preload, "");
	for (int eager = 0; eager < 2; eager++)
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			const char *argv[12] = {gpulock(), "run"};
			int n = 2;

			if (eager)
				argv[n++] = "--eager";
			argv[n++] = cases[i].opt;
			if (cases[i].arg)
				argv[n++] = cases[i].arg;
			argv[n++] = "--";
			argv[n++] = "sh";
			argv[n++] = "-c";
			argv[n++] = "printf '%s|%s|%s\\n' \"$GPU_LOCK_PATH\" \"$GPU_LOCK_TIMEOUT\" "
			            "\"$GPU_LOCK_QUIET\"";
			argv[n] = NULL;
			snprintf(want, sizeof want, "%s", cases[i].want);
			expect_exact(argv, extra, 0, want, "");
		}
}
END_TEST

/* err is the eager wait's lines: "gpulock: pid N waiting for ..." when it
 * waited, then "gpulock: pid N gave up waiting ...". */
static void assert_gave_up(const char *err, bool waited, const char *how, pid_t holder)
{
	char want[512];
	const char *last = strchr(err, '\n');

	snprintf(want, sizeof want, "waiting for the GPU lock %s, held by pid %d (", h_lock,
	         (int)holder);
	ck_assert_msg(lines(err) == 1 + waited && tp_count(err, want) == waited, "%s", err);
	last = waited && last ? last + 1 : err;
	snprintf(want, sizeof want, "gave up waiting for the GPU lock %s %s; it is held by pid %d (",
	         h_lock, how, (int)holder);
	ck_assert_msg(strncmp(last, "gpulock: pid ", 13) == 0 && tp_count(last, want) == 1, "%s", err);
}

/* GPU_LOCK_ON_TIMEOUT=run never turns a timed-out eager wait into an unlocked
 * run that exits 0: gpulock exits 75 and the command never runs. The command
 * still gets the variable, for its own CUDA calls. */
START_TEST(run_eager_times_out_with_75_whatever_on_timeout_says)
{
	char env_preload[4300], *out, *err;
	const char *extra[] = {"GPU_LOCK_ON_TIMEOUT=run", env_preload, NULL};
	const char *bounded[] = {gpulock(), "run", "-e", "-t", "0.2", "--", "echo", "ran", NULL};
	const char *busy[] = {gpulock(), "run", "-e", "-n", "--", "echo", "ran", NULL};
	const char *free_lock[] = {gpulock(), "run", "-e", "-t", "5", "--", "sh", "-c",
	                           "printf '%s\\n' \"$GPU_LOCK_ON_TIMEOUT\"", NULL};
	struct tp_proc holder;

	h_setup();
	preload_env(env_preload, sizeof env_preload, "");
	h_start_gpu_holder(&holder);
	ck_assert_int_eq(h_run(bounded, extra, false, &out, &err), 75);
	ck_assert_str_eq(out, "");
	assert_gave_up(err, true, "after 0.2s (--timeout)", holder.pid);
	free(out);
	free(err);
	ck_assert_int_eq(h_run(busy, extra, false, &out, &err), 75);
	ck_assert_str_eq(out, "");
	assert_gave_up(err, false, "at once (--no-wait)", holder.pid);
	free(out);
	free(err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	expect_exact(free_lock, extra, 0, "run\n", "");
}
END_TEST

/* Lazy, the wait happens in the command, whose own status is the result:
 * never 75. --no-wait is named as such in the message. */
START_TEST(run_lazy_timeouts_leave_the_status_to_the_command)
{
	const char *bounded[] = {gpulock(), "run", "-t", "0.2", "--", h_artifact("GL_CLIENT_DLSYM"),
	                         NULL};
	char want[512], *err;
	struct tp_proc holder;

	h_setup();
	h_start_gpu_holder(&holder);
	assert_locked_out("", holder.pid, &err);
	ck_assert_msg(lines(err) == 1, "%s", err);
	free(err);
	snprintf(want, sizeof want, "gave up waiting for the GPU lock %s after 0.2s (GPU_LOCK_TIMEOUT)",
	         h_lock);
	expect(bounded, 1, "cuInit=46\n", want);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpulock run");
	TCase *tc = tcase_create("run");

	tcase_add_test(tc, run_adds_the_preload_past_a_stale_entry);
	tcase_add_test(tc, run_recognises_the_preload_by_its_file);
	tcase_add_test(tc, run_refuses_a_preload_path_ld_preload_cannot_hold);
	tcase_add_test(tc, run_expands_lib_and_platform_as_the_loader_does);
	tcase_add_test(tc, run_options_reach_the_command_in_both_modes);
	tcase_add_test(tc, run_eager_times_out_with_75_whatever_on_timeout_says);
	tcase_add_test(tc, run_lazy_timeouts_leave_the_status_to_the_command);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
