/* The preload inside host programs with habits of their own: signal
 * handlers (Ctrl-C must reach a program waiting for the lock, Python's
 * included), forks at awkward moments, threads reading the environment,
 * and a locale with a decimal comma. */
#include "comma_locale.h"
#include "gl_lock.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *host(void)
{
	return h_artifact("GL_CLIENT_HOST");
}

/* Python's own handler for SIGINT: KeyboardInterrupt while cuInit waits,
 * long before the holder lets go; afterwards a new call waits again and
 * gets the lock. */
START_TEST(ctrl_c_reaches_a_waiting_python_program)
{
	const char *argv[] = {"python3", h_artifact("GL_CLIENT_INTERRUPT_PY"), NULL};
	struct tp_proc holder, py;
	char want[256], *line, *err;
	double sent, took;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&py, argv, NULL, true);
	h_wait_waiter(h_lock, py.pid);
	sent = tp_now();
	ck_assert_int_eq(kill(py.pid, SIGINT), 0);
	line = tp_read_line(py.out, 30);
	took = tp_now() - sent;
	ck_assert_str_eq(line, "KeyboardInterrupt");
	free(line);
	ck_assert_msg(took < 1.0, "KeyboardInterrupt came %.3fs after SIGINT", took);
	ck_assert_int_eq(gl_lock_is_held(h_lock), 1); /* the holder still has it */
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(write(py.in, "\n", 1), 1);
	line = tp_read_line(py.out, 30);
	ck_assert_str_eq(line, "again cuInit=0");
	free(line);
	close(py.in);
	err = tp_read_all(py.err);
	ck_assert_msg(tp_wait(py.pid, 30) == 0, "stderr:\n%s", err);
	snprintf(want, sizeof want, "pid %d stopped waiting for the GPU lock %s after ", (int)py.pid,
	         h_lock);
	ck_assert_msg(tp_count(err, want) == 1 && tp_count(err, ": SIGINT") == 1, "stderr:\n%s", err);
	free(err);
}
END_TEST

/* Each stop signal with a handler ends the wait: the handler ran, cuInit
 * returned 46, and every disposition and the mask are as the host set them.
 * With SA_RESTART too: the wait is not silently taken up again. */
static void stop_signal_test(int sig, const char *flags)
{
	const char *argv[] = {host(), "interrupt", flags, NULL};
	struct tp_proc holder, c;
	char want[128], *out, *err;
	double sent;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&c, argv, NULL, true);
	close(c.in);
	h_wait_waiter(h_lock, c.pid);
	sent = tp_now();
	ck_assert_int_eq(kill(c.pid, sig), 0);
	out = tp_read_all(c.out);
	ck_assert_msg(tp_now() - sent < 1.0, "cuInit returned %.3fs after the signal",
	              tp_now() - sent);
	err = tp_read_all(c.err);
	ck_assert_msg(tp_wait(c.pid, 30) == 0, "stderr:\n%s", err);
	snprintf(want, sizeof want, "cuInit=46 signal=%d same=1\n", sig);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(gl_lock_is_held(h_lock), 1); /* the holder still has it */
	snprintf(want, sizeof want, ": %s\n", sig == SIGINT    ? "SIGINT"
	                                      : sig == SIGTERM ? "SIGTERM"
	                                      : sig == SIGHUP  ? "SIGHUP"
	                                                       : "SIGQUIT");
	ck_assert_msg(tp_count(err, "stopped waiting for the GPU lock") == 1 && strstr(err, want),
	              "stderr:\n%s", err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	free(out);
	free(err);
}

START_TEST(stop_signals_with_handlers_end_the_wait)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

	stop_signal_test(sigs[_i], NULL);
	stop_signal_test(sigs[_i], "restart");
}
END_TEST

/* No handler: the kernel's default, as without the preload. */
START_TEST(a_stop_signal_without_a_handler_ends_the_process)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	struct tp_proc holder, c;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&c, argv, NULL, true);
	close(c.in);
	h_wait_waiter(h_lock, c.pid);
	ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
	ck_assert_int_eq(tp_wait(c.pid, 30), 128 + SIGTERM);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* A process that gave up waiting and runs unlocked, then forks: when the
 * old holder goes, the abandoned wait must not hand the lock to the child
 * (it used to, through the waiting thread's inherited fd). */
START_TEST(an_abandoned_wait_never_holds_the_lock_in_a_forked_child)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=0.2", "GPU_LOCK_ON_TIMEOUT=run", NULL};
	const char *argv[] = {host(), "timeout-fork", NULL};
	struct tp_proc holder, c;
	char *line;
	int child = 0;
	unsigned r = 99;
	double end;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&c, argv, env, true);
	line = tp_read_line(c.out, 30);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, "cuInit=%u child=%d", &r, &child), 2);
	free(line);
	ck_assert_int_eq(r, 0);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	/* The parent's thread gets the lock and drops it: free, while both
	 * processes live on. */
	end = tp_now() + 20;
	while (gl_lock_is_held(h_lock) != 0 && tp_now() < end)
		usleep(2000);
	ck_assert_msg(gl_lock_is_held(h_lock) == 0, "the lock is still held (child %d)", child);
	ck_assert_int_eq(kill(child, 0), 0);
	close(c.in);
	ck_assert_int_eq(tp_wait(c.pid, 30), 0);
}
END_TEST

/* A fork while another thread reads the settings for the first time: the
 * child must read them itself, not wait for a reader it does not have. */
START_TEST(a_fork_during_the_first_read_of_the_settings)
{
	const char *argv[] = {host(), "fork-in-getenv", NULL};
	char *out, *err;

	h_setup();
	ck_assert_msg(h_run(argv, NULL, true, &out, &err) == 0, "stderr:\n%s", err);
	ck_assert_str_eq(out, "cuInit=0 child=0\n");
	free(out);
	free(err);
}
END_TEST

/* GPU_LOCK_HELD goes into the environment without freeing the array that
 * the host's other threads may be reading. */
START_TEST(the_environment_array_is_never_freed_under_readers)
{
	const char *argv[] = {host(), "environ", NULL};
	char *out, *err;

	h_setup();
	ck_assert_msg(h_run(argv, NULL, true, &out, &err) == 0, "stderr:\n%s\nstdout:%s", err, out);
	ck_assert_str_eq(out, "cuInit=0 intact=1 held=1\n");
	free(out);
	free(err);
}
END_TEST

/* A host in a locale with a decimal comma: GPU_LOCK_TIMEOUT=0.5 is still
 * half a second. */
START_TEST(settings_are_read_the_same_in_any_locale)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=0.5", NULL};
	const char *argv[] = {host(), "locale", NULL, NULL};
	struct tp_proc holder;
	char want[256], *out, *err;

	h_setup();
	argv[2] = tl_comma_locale(h_dir);
	h_start_gpu_holder(&holder);
	ck_assert_msg(h_run(argv, env, true, &out, &err) == 0, "stderr:\n%s", err);
	ck_assert_str_eq(out, "cuInit=46\n");
	ck_assert_msg(!strstr(err, "GPU_LOCK_TIMEOUT='0.5'"), "stderr:\n%s", err);
	snprintf(want, sizeof want, "gave up waiting for the GPU lock %s after 0.5s", h_lock);
	ck_assert_msg(strstr(err, want), "stderr:\n%s", err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	free(out);
	free(err);
}
END_TEST

/* A host whose static TLS does not fit the waiting thread's small stack:
 * the wait still happens (on a thread with a stack of the default size). */
START_TEST(a_host_with_a_large_static_tls_still_waits)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=0.3", NULL};
	const char *argv[] = {host(), "tls", NULL};
	struct tp_proc holder;
	char *out, *err;

	h_setup();
	h_start_gpu_holder(&holder);
	ck_assert_msg(h_run(argv, env, true, &out, &err) == 0, "stderr:\n%s", err);
	ck_assert_str_eq(out, "cuInit=46\n");
	ck_assert_msg(strstr(err, "gave up waiting for the GPU lock") &&
	                      !strstr(err, "cannot use the GPU lock"),
	              "stderr:\n%s", err);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	free(out);
	free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("host");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ctrl_c_reaches_a_waiting_python_program);
	tcase_add_loop_test(tc, stop_signals_with_handlers_end_the_wait, 0, 4);
	tcase_add_test(tc, a_stop_signal_without_a_handler_ends_the_process);
	tcase_add_test(tc, an_abandoned_wait_never_holds_the_lock_in_a_forked_child);
	tcase_add_test(tc, a_fork_during_the_first_read_of_the_settings);
	tcase_add_test(tc, the_environment_array_is_never_freed_under_readers);
	tcase_add_test(tc, settings_are_read_the_same_in_any_locale);
	tcase_add_test(tc, a_host_with_a_large_static_tls_still_waits);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
