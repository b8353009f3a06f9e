/* The preload against the fake driver, with real processes: every route to
 * cuInit, waiting behind every kind of holder, timeouts, unusable lock files,
 * escape hatches, bad settings, threads, and programs that never touch the
 * GPU. The fake cuInit records whether the lock was held when it ran. */
#include "gl_lock_settings.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char expect[256];

/* "cuInit pid=P held=1" for the pid of the last run: the lock was held when
 * the driver's cuInit ran. */
static void assert_trace(const char *entry, pid_t pid, int held)
{
	char *trace = tp_slurp(h_trace);

	snprintf(expect, sizeof expect, "%s pid=%d held=%d", entry, (int)pid, held);
	ck_assert_msg(tp_count(trace, expect) >= 1, "trace lacks '%s':\n%s", expect, trace);
	snprintf(expect, sizeof expect, "%s pid=%d held=%d", entry, (int)pid, !held);
	ck_assert_msg(tp_count(trace, expect) == 0, "trace has '%s':\n%s", expect, trace);
	free(trace);
}

/* Runs a client to completion; returns its pid. */
static pid_t run_client(const char *var, const char *arg, const char *const extra[],
                        bool preload, int want_status, const char *want_out, char **err)
{
	const char *argv[] = {h_artifact(var), arg, NULL};
	struct tp_proc c;
	char *out, *e;
	int status;

	h_spawn(&c, argv, extra, preload);
	close(c.in);
	out = tp_read_all(c.out);
	e = tp_read_all(c.err);
	status = tp_wait(c.pid, 30);
	ck_assert_msg(status == want_status, "%s exited %d, not %d; stderr:\n%s", var, status,
	              want_status, e);
	ck_assert_str_eq(out, want_out); /* the preload never writes to stdout */
	free(out);
	if (err)
		*err = e;
	else
		free(e);
	return c.pid;
}

static void route_test(const char *var, const char *arg, const char *entry, const char *out)
{
	pid_t pid;

	h_setup();
	pid = run_client(var, arg, NULL, true, 0, out, NULL);
	assert_trace(entry, pid, 1);
	/* Without the preload the same client runs unlocked: the check can fail. */
	pid = run_client(var, arg, NULL, false, 0, out, NULL);
	assert_trace(entry, pid, 0);
}

START_TEST(route_plt)
{
	route_test("GL_CLIENT_PLT", NULL, "cuInit", "cuInit=0\n");
}
END_TEST

START_TEST(route_dlsym)
{
	route_test("GL_CLIENT_DLSYM", NULL, "cuInit", "cuInit=0\n");
}
END_TEST

START_TEST(route_get_proc_address_v2)
{
	route_test("GL_CLIENT_GPA", "v2", "cuInit", "cuInit=0\n");
}
END_TEST

START_TEST(route_get_proc_address_v1)
{
	route_test("GL_CLIENT_GPA", "v1", "cuInit", "cuInit=0\n");
}
END_TEST

START_TEST(route_get_proc_address_direct)
{
	route_test("GL_CLIENT_GPA", "direct", "cuInit", "cuInit=0\n");
}
END_TEST

START_TEST(route_cuda_set_device)
{
	route_test("GL_CLIENT_SETDEVICE", NULL, "cudaSetDevice", "cudaSetDevice=0\n");
}
END_TEST

static void nvcc_test(const char *var)
{
	const char *bin = getenv(var);
	char *out;
	pid_t pid;
	struct tp_proc c;
	const char *argv[] = {bin, NULL};

	if (!bin || !*bin) {
		tp_skip(var, "nvcc was not found when the tests were built");
		return;
	}
	h_setup();
	h_spawn(&c, argv, NULL, true);
	close(c.in);
	out = tp_read_all(c.out);
	free(tp_read_all(c.err));
	ck_assert_int_eq(tp_wait(c.pid, 60), 0);
	ck_assert_ptr_nonnull(strstr(out, "cuda="));
	pid = c.pid;
	assert_trace("cuInit", pid, 1);
	free(out);
}

START_TEST(route_nvcc_static_cudart)
{
	nvcc_test("GL_CLIENT_NVCC_STATIC");
}
END_TEST

START_TEST(route_nvcc_shared_cudart)
{
	nvcc_test("GL_CLIENT_NVCC_SHARED");
}
END_TEST

/* Starts a preloaded waiter and returns once the kernel lists it as blocked
 * on the lock. */
static void start_waiter(struct tp_proc *c, const char *const extra[])
{
	const char *argv[] = {h_artifact("GL_CLIENT_GPA"), "v2", NULL};

	h_spawn(c, argv, extra, true);
	close(c->in);
	h_wait_waiter(h_lock, c->pid);
}

static char *waiter_err; /* the last finished waiter's stderr */

static void finish_waiter(struct tp_proc *c, const char *want_err)
{
	char *out = tp_read_all(c->out), *err = tp_read_all(c->err);

	ck_assert_int_eq(tp_wait(c->pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_msg(tp_count(err, want_err) == 1, "stderr lacks '%s':\n%s", want_err, err);
	ck_assert_msg(tp_count(err, "got the GPU lock") == 1, "stderr:\n%s", err);
	assert_trace("cuInit", c->pid, 1);
	free(out);
	waiter_err = err;
}

/* An outside holder: argv runs with the lock held until its stdin closes. */
static void waits_behind(const char *const holder_argv[])
{
	struct tp_proc holder, waiter;

	h_setup();
	h_spawn(&holder, holder_argv, NULL, false);
	h_wait_holder(h_lock, 0);
	start_waiter(&waiter, NULL);
	close(holder.in); /* release */
	finish_waiter(&waiter, "waiting for the GPU lock");
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}

START_TEST(waits_for_util_linux_flock)
{
	const char *argv[] = {"flock", h_lock, "cat", NULL};

	waits_behind(argv);
}
END_TEST

START_TEST(waits_for_original_gpu_run_sh)
{
	const char *argv[] = {"bash", h_artifact("GL_SEED_GPU_RUN"), "cat", NULL};

	waits_behind(argv);
}
END_TEST

START_TEST(waits_for_python_fcntl_flock)
{
	const char *argv[] = {"python3", h_artifact("GL_SEED_DISPATCH"), "cat", NULL};

	waits_behind(argv);
}
END_TEST

START_TEST(wait_names_the_holder)
{
	struct tp_proc holder, waiter;
	char want[128];

	h_setup();
	h_start_gpu_holder(&holder);
	start_waiter(&waiter, NULL);
	/* "held by pid N (its command line) for 0.1s"; the command line is
	 * checked loosely, since a valgrind run shows valgrind's. */
	snprintf(want, sizeof want, "held by pid %d (", (int)holder.pid);
	close(holder.in);
	finish_waiter(&waiter, want);
	ck_assert_msg(tp_count(waiter_err, "client_dlsym") == 1 || getenv("GL_UNDER_VALGRIND"),
	              "stderr:\n%s", waiter_err);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* gpu_run.sh's flock(1) has exited by the time the lock is held: the
 * waiting line names the shell, which holds it through the inherited fd. */
START_TEST(wait_names_who_holds_the_lock_for_gpu_run_sh)
{
	const char *seed = h_artifact("GL_SEED_GPU_RUN");
	const char *argv[] = {"bash", seed, "cat", NULL};
	struct tp_proc holder, waiter;
	char want[700], *line;

	h_setup();
	h_spawn(&holder, argv, NULL, false);
	free(tp_read_line(holder.err, 20)); /* "waiting", then it locks */
	line = tp_read_line(holder.err, 20);
	ck_assert_msg(strstr(line, "[gpu_run] acquired GPU lock"), "%s", line);
	free(line);
	start_waiter(&waiter, NULL);
	snprintf(want, sizeof want, "held by pid %d (bash %s cat) for ", (int)holder.pid, seed);
	close(holder.in);
	finish_waiter(&waiter, want);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

START_TEST(quiet_silences_the_wait)
{
	static const char *const quiet[] = {"GPU_LOCK_QUIET=1", NULL};
	struct tp_proc holder, waiter;
	char *out, *err;

	h_setup();
	h_start_gpu_holder(&holder);
	start_waiter(&waiter, quiet);
	close(holder.in);
	out = tp_read_all(waiter.out);
	err = tp_read_all(waiter.err);
	ck_assert_int_eq(tp_wait(waiter.pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_str_eq(err, "");
	assert_trace("cuInit", waiter.pid, 1);
}
END_TEST

START_TEST(kill_9_of_the_holder_lets_the_waiter_in)
{
	struct tp_proc holder, waiter;

	h_setup();
	h_start_gpu_holder(&holder);
	start_waiter(&waiter, NULL);
	kill(holder.pid, SIGKILL);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 128 + SIGKILL);
	finish_waiter(&waiter, "waiting for the GPU lock");
}
END_TEST

START_TEST(timeout_fails_cuinit_with_46)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=0.3", NULL};
	struct tp_proc holder;
	char *err;
	pid_t pid;

	h_setup();
	h_start_gpu_holder(&holder);
	pid = run_client("GL_CLIENT_DLSYM", NULL, env, true, 1, "cuInit=46\n", &err);
	ck_assert_int_eq(tp_count(err, "gave up waiting for the GPU lock"), 1);
	ck_assert_int_eq(tp_count(err, "after 0.3s (GPU_LOCK_TIMEOUT)"), 1);
	snprintf(expect, sizeof expect, "cuInit pid=%d", (int)pid);
	ck_assert_int_eq(tp_count(tp_slurp(h_trace), expect), 0); /* the driver never ran */
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

START_TEST(timeout_with_run_policy_proceeds_with_a_warning)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=0", "GPU_LOCK_ON_TIMEOUT=run", NULL};
	struct tp_proc holder;
	char *err;

	h_setup();
	h_start_gpu_holder(&holder);
	run_client("GL_CLIENT_DLSYM", NULL, env, true, 0, "cuInit=0\n", &err);
	ck_assert_int_eq(tp_count(err, "gave up waiting"), 1);
	ck_assert_int_eq(tp_count(err, "running without the GPU lock (GPU_LOCK_ON_TIMEOUT=run)"), 1);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Every unusable lock path fails cuInit with 304 and a message naming the
 * path and the reason; GPU_LOCK_ON_ERROR=run goes on unlocked. */
static void unusable_test(const char *path, const char *reason)
{
	char env_path[256];
	const char *env[] = {env_path, NULL};
	const char *run_env[] = {env_path, "GPU_LOCK_ON_ERROR=run", NULL};
	char want[512], *err;
	pid_t pid;

	snprintf(env_path, sizeof env_path, "GPU_LOCK_PATH=%s", path);
	pid = run_client("GL_CLIENT_GPA", "v2", env, true, 1, "cuInit=304\n", &err);
	snprintf(want, sizeof want, "cannot use the GPU lock %s: %s", path, reason);
	ck_assert_msg(tp_count(err, want) == 1, "stderr lacks '%s':\n%s", want, err);
	ck_assert_int_eq(tp_count(err, "GPU_LOCK_ON_ERROR=run"), 1);
	snprintf(expect, sizeof expect, "cuInit pid=%d", (int)pid);
	ck_assert_int_eq(tp_count(tp_slurp(h_trace), expect), 0);

	run_client("GL_CLIENT_GPA", "v2", run_env, true, 0, "cuInit=0\n", &err);
	ck_assert_int_eq(tp_count(err, "running without the GPU lock (GPU_LOCK_ON_ERROR=run)"), 1);
}

START_TEST(unusable_missing_directory)
{
	char path[160];

	h_setup();
	snprintf(path, sizeof path, "%s/no-such-dir/gpu.lock", h_dir);
	unusable_test(path, "its directory does not exist");
}
END_TEST

START_TEST(unusable_symlinks)
{
	char path[160], target[160];

	h_setup();
	snprintf(path, sizeof path, "%s/link.lock", h_dir);
	snprintf(target, sizeof target, "%s/mine", h_dir);
	close(open(target, O_CREAT | O_WRONLY, 0600));
	ck_assert_int_eq(symlink(target, path), 0);
	unusable_test(path, "it is a symbolic link");
	unlink(path);
	ck_assert_int_eq(symlink("/dev/null", path), 0);
	unusable_test(path, "it is a symbolic link");
	unlink(path);
	ck_assert_int_eq(symlink("/nonexistent/x", path), 0);
	unusable_test(path, "it is a symbolic link");
}
END_TEST

START_TEST(unusable_directory_fifo_device)
{
	char path[160];

	h_setup();
	snprintf(path, sizeof path, "%s/dir.lock", h_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	unusable_test(path, "it is a directory");
	snprintf(path, sizeof path, "%s/fifo.lock", h_dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	unusable_test(path, "it is a FIFO, not a regular file (owned by ");
	unusable_test("/dev/null", "it is a character device, not a regular file (owned by root, uid 0)");
}
END_TEST

START_TEST(unusable_directory_not_writable)
{
	char dir[160], path[200];

	h_setup();
	snprintf(dir, sizeof dir, "%s/ro", h_dir);
	ck_assert_int_eq(mkdir(dir, 0555), 0);
	snprintf(path, sizeof path, "%s/gpu.lock", dir);
	if (geteuid() == 0) { /* root writes anywhere: run the clients as nobody */
		ck_assert_int_eq(chmod(h_dir, 0777), 0); /* for the trace file */
		h_become_nobody();
	}
	unusable_test(path, "permission denied");
}
END_TEST

/* Escape hatches and an ancestor's lock: no lock file, no wait. */
static void no_lock_test(const char *setting)
{
	const char *env[] = {setting, NULL};
	struct tp_proc holder;
	char *err;
	pid_t pid;

	h_setup();
	pid = run_client("GL_CLIENT_GPA", "v2", env, true, 0, "cuInit=0\n", &err);
	assert_trace("cuInit", pid, 0);
	ck_assert_int_eq(access(h_lock, F_OK), -1); /* never even opened */
	/* With a holder present it does not wait either. */
	h_start_gpu_holder(&holder);
	run_client("GL_CLIENT_GPA", "v2", env, true, 0, "cuInit=0\n", &err);
	ck_assert_str_eq(err, "");
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}

START_TEST(psrun_skip_gpu_lock)
{
	no_lock_test("PSRUN_SKIP_GPU_LOCK=1");
}
END_TEST

START_TEST(gpu_skip_lock)
{
	no_lock_test("GPU_SKIP_LOCK=1");
}
END_TEST

START_TEST(gpu_lock_held_from_the_original_tools)
{
	no_lock_test("GPU_LOCK_HELD=1");
}
END_TEST

/* A bad value warns once, naming variable, value and expectation, and the
 * default applies: here, the lock is still taken. */
START_TEST(bad_values_warn_once_and_use_the_default)
{
	static const char *const values[] = {"5x", "-1", "nan", "1m30", "99999999999", "1e3", NULL};
	char setting[64], want[128], *err;
	pid_t pid;

	h_setup();
	for (int i = 0; values[i]; i++) {
		const char *env[] = {setting, NULL};
		snprintf(setting, sizeof setting, "GPU_LOCK_TIMEOUT=%s", values[i]);
		pid = run_client("GL_CLIENT_THREADS", NULL, env, true, 0, "cuInit=0\n", &err);
		snprintf(want, sizeof want, "GPU_LOCK_TIMEOUT='%s': expected a duration", values[i]);
		ck_assert_msg(tp_count(err, want) == 1, "want one '%s' in:\n%s", want, err);
		ck_assert_int_eq(tp_count(err, "gpulock:"), 1);
		assert_trace("cuInit", pid, 1);
	}
}
END_TEST

/* An empty variable is the default, as ${VAR:-default} in the original
 * tools: no warning in any CUDA program, and the lock is taken as usual.
 * (GPU_LOCK_PATH= would mean /tmp/gpu.lock: the CLI test covers it.) */
START_TEST(empty_values_mean_the_defaults_without_a_warning)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=", "GPU_LOCK_QUIET=",
	                                  "GPU_LOCK_ON_TIMEOUT=", "GPU_LOCK_ON_ERROR=",
	                                  "GPU_LOCK_DEBUG=", "GPU_SKIP_LOCK=", NULL};
	char *err;
	pid_t pid;

	h_setup();
	pid = run_client("GL_CLIENT_THREADS", NULL, env, true, 0, "cuInit=0\n", &err);
	ck_assert_str_eq(err, "");
	assert_trace("cuInit", pid, 1);
}
END_TEST

START_TEST(bad_lock_path_falls_back_to_the_default_path_warning_once)
{
	static const char *const env[] = {"GPU_LOCK_PATH=relative.lock", "GPU_LOCK_QUIET=maybe",
	                                  "GPU_LOCK_TIMEOUT=0", "GPU_LOCK_ON_TIMEOUT=run", NULL};
	/* The default is the machine's real lock file: a job holding it is not
	 * waited for (timeout 0, run), and a file this test made goes again. */
	bool existed = access(GL_DEFAULT_LOCK_PATH, F_OK) == 0;
	char *err;

	h_setup();
	run_client("GL_CLIENT_THREADS", NULL, env, true, 0, "cuInit=0\n", &err);
	if (!existed)
		unlink(GL_DEFAULT_LOCK_PATH);
	ck_assert_int_eq(tp_count(err, "GPU_LOCK_PATH='relative.lock': expected an absolute path"), 1);
	ck_assert_int_eq(tp_count(err, "GPU_LOCK_QUIET='maybe': expected 1 or 0"), 1);
	ck_assert_int_eq(access("relative.lock", F_OK), -1);
}
END_TEST

START_TEST(threads_take_the_lock_once)
{
	static const char *const env[] = {"GPU_LOCK_DEBUG=1", NULL};
	char *err, *trace;
	pid_t pid;

	h_setup();
	pid = run_client("GL_CLIENT_THREADS", NULL, env, true, 0, "cuInit=0\n", &err);
	ck_assert_msg(tp_count(err, "took the GPU lock") == 1, "stderr:\n%s", err);
	ck_assert_int_eq(tp_count(err, "cuInit reached through dlsym"), 1);
	trace = tp_slurp(h_trace);
	snprintf(expect, sizeof expect, "cuInit pid=%d held=1", (int)pid);
	ck_assert_int_eq(tp_count(trace, expect), 16);
	snprintf(expect, sizeof expect, "cuInit pid=%d held=0", (int)pid);
	ck_assert_int_eq(tp_count(trace, expect), 0);
}
END_TEST

START_TEST(debug_names_the_route)
{
	static const char *const env[] = {"GPU_LOCK_DEBUG=1", NULL};
	char *err;

	h_setup();
	run_client("GL_CLIENT_GPA", "v2", env, true, 0, "cuInit=0\n", &err);
	ck_assert_msg(
		tp_count(err, "cuInit reached through cuGetProcAddress_v2, asked by client_gpa") == 1,
		"stderr:\n%s", err);
	run_client("GL_CLIENT_PLT", NULL, env, true, 0, "cuInit=0\n", &err);
	ck_assert_msg(tp_count(err, "cuInit reached through the PLT") == 1, "stderr:\n%s", err);
}
END_TEST

START_TEST(lock_fd_is_close_on_exec)
{
	struct tp_proc holder;
	char fddir[64], link[384], target[300], info[384];
	struct dirent *d;
	DIR *dir;
	int found = 0;

	h_setup();
	h_start_gpu_holder(&holder);
	snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)holder.pid);
	dir = opendir(fddir);
	ck_assert_ptr_nonnull(dir);
	while ((d = readdir(dir)) != NULL) {
		ssize_t n;
		char *fdinfo;
		snprintf(link, sizeof link, "%s/%s", fddir, d->d_name);
		n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, h_lock) != 0)
			continue;
		found++;
		snprintf(info, sizeof info, "/proc/%d/fdinfo/%s", (int)holder.pid, d->d_name);
		fdinfo = tp_slurp(info);
		/* flags are octal; O_CLOEXEC is 02000000 */
		ck_assert_msg(strtoul(strstr(fdinfo, "flags:") + 6, NULL, 8) & O_CLOEXEC,
		              "lock fd without O_CLOEXEC: %s", fdinfo);
		free(fdinfo);
	}
	closedir(dir);
	ck_assert_int_eq(found, 1); /* exactly one fd: nothing leaked */
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Programs that never touch the GPU never open the lock file. */
START_TEST(non_gpu_programs_open_no_lock_file)
{
	const char *true_argv[] = {"/bin/true", NULL};
	const char *py_argv[] = {"python3", "-c", "pass", NULL};
	const char *sh_argv[] = {"sh", "-c", "ls / >/dev/null; echo ok", NULL};
	char *out;

	h_setup();
	ck_assert_int_eq(h_run(true_argv, NULL, true, NULL, NULL), 0);
	ck_assert_int_eq(h_run(py_argv, NULL, true, NULL, NULL), 0);
	ck_assert_int_eq(h_run(sh_argv, NULL, true, &out, NULL), 0);
	ck_assert_str_eq(out, "ok\n");
	ck_assert_int_eq(access(h_lock, F_OK), -1);
}
END_TEST

START_TEST(rtld_next_from_another_library_still_works)
{
	h_setup();
	run_client("GL_CLIENT_RTLD_NEXT", NULL, NULL, true, 0, "next=b\n", NULL);
	run_client("GL_CLIENT_RTLD_NEXT", NULL, NULL, false, 0, "next=b\n", NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload");
	TCase *routes = tcase_create("routes"), *waits = tcase_create("waits"),
	      *errors = tcase_create("errors"), *settings = tcase_create("settings"),
	      *hygiene = tcase_create("hygiene");
	/* Skipped without nvcc: meson runs this case as a test of its own. */
	TCase *nvcc = tcase_create("nvcc");

	tcase_add_test(routes, route_plt);
	tcase_add_test(routes, route_dlsym);
	tcase_add_test(routes, route_get_proc_address_v2);
	tcase_add_test(routes, route_get_proc_address_v1);
	tcase_add_test(routes, route_get_proc_address_direct);
	tcase_add_test(routes, route_cuda_set_device);
	tcase_add_test(nvcc, route_nvcc_static_cudart);
	tcase_add_test(nvcc, route_nvcc_shared_cudart);
	tcase_add_test(waits, waits_for_util_linux_flock);
	tcase_add_test(waits, waits_for_original_gpu_run_sh);
	tcase_add_test(waits, waits_for_python_fcntl_flock);
	tcase_add_test(waits, wait_names_the_holder);
	tcase_add_test(waits, wait_names_who_holds_the_lock_for_gpu_run_sh);
	tcase_add_test(waits, quiet_silences_the_wait);
	tcase_add_test(waits, kill_9_of_the_holder_lets_the_waiter_in);
	tcase_add_test(errors, timeout_fails_cuinit_with_46);
	tcase_add_test(errors, timeout_with_run_policy_proceeds_with_a_warning);
	tcase_add_test(errors, unusable_missing_directory);
	tcase_add_test(errors, unusable_symlinks);
	tcase_add_test(errors, unusable_directory_fifo_device);
	tcase_add_test(errors, unusable_directory_not_writable);
	tcase_add_test(settings, psrun_skip_gpu_lock);
	tcase_add_test(settings, gpu_skip_lock);
	tcase_add_test(settings, gpu_lock_held_from_the_original_tools);
	tcase_add_test(settings, bad_values_warn_once_and_use_the_default);
	tcase_add_test(settings, empty_values_mean_the_defaults_without_a_warning);
	tcase_add_test(settings, bad_lock_path_falls_back_to_the_default_path_warning_once);
	tcase_add_test(settings, threads_take_the_lock_once);
	tcase_add_test(settings, debug_names_the_route);
	tcase_add_test(hygiene, lock_fd_is_close_on_exec);
	tcase_add_test(hygiene, non_gpu_programs_open_no_lock_file);
	tcase_add_test(hygiene, rtld_next_from_another_library_still_works);
	tcase_set_timeout(routes, 120);
	tcase_set_timeout(waits, 60);
	tcase_set_timeout(errors, 60);
	tcase_set_timeout(settings, 60);
	tcase_set_timeout(hygiene, 60);
	suite_add_tcase(s, routes);
	suite_add_tcase(s, waits);
	suite_add_tcase(s, errors);
	suite_add_tcase(s, settings);
	suite_add_tcase(s, hygiene);
	tcase_set_tags(nvcc, "conditional");
	tcase_set_timeout(nvcc, 120);
	suite_add_tcase(s, nvcc);
	return tp_run_suite(s);
}
