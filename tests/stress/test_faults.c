/* Faults and load, in the short form CI runs (scripts/stress runs the long
 * one): mutual exclusion under random kills and stops, 500 waiters, hand-off
 * after a crash, the host's signals, and a lock file deleted or replaced
 * while it is held. */
#include "preload_harness.h"
#include "procs.h"
#include "gl_proc_locks.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Under valgrind every client is a 50 MB emulator: fewer of them. */
static bool slow(void)
{
	return getenv("GL_UNDER_VALGRIND") != NULL;
}

/* Run a stress_run or slot_stress mode: it must exit 0 and say expect. With
 * slot_dir, CPU_RUN_SLOT_DIR is a fresh directory of the test's. */
static void stress(const char *const argv[], bool preload, bool slot_dir, const char *expect)
{
	char slots[4200], *out, *err;
	const char *extra[] = {slots, NULL};
	int status;

	h_setup();
	snprintf(slots, sizeof slots, "CPU_RUN_SLOT_DIR=%s/slots", h_dir);
	status = h_run(argv, slot_dir ? extra : NULL, preload, &out, &err);
	ck_assert_msg(status == 0, "exit %d:\n%s%s", status, out, err);
	ck_assert_msg(strstr(out, expect), "%s", out);
	fprintf(stderr, "%s", out);
}

START_TEST(mutual_exclusion_under_kills_and_stops)
{
	const char *argv[] = {h_artifact("GL_STRESS_RUN"), "chaos", slow() ? "4" : "20",
	                      slow() ? "4" : "10", "2000", "600", NULL};

	stress(argv, true, false, "overlaps=0 failed_workers=0 unfinished=0");
}
END_TEST

START_TEST(five_hundred_waiters_finish_one_at_a_time)
{
	const char *argv[] = {h_artifact("GL_STRESS_RUN"), "burst", slow() ? "40" : "500", NULL};

	stress(argv, true, false,
	       slow() ? "clients=40 queued=all entries=40 overlaps=0 failed=0"
	              : "clients=500 queued=all entries=500 overlaps=0 failed=0");
}
END_TEST

/* The same for cpu_run's slots: never more than N jobs in, first come first
 * served among the survivors, under random kills and stops of launchers
 * waiting in the queue and of running jobs. */
START_TEST(cpu_run_slots_under_kills_and_stops)
{
	const char *argv[] = {h_artifact("GL_SLOT_STRESS"), "chaos", "3", slow() ? "4" : "20",
	                      slow() ? "4" : "10", "20000", "600", NULL};

	stress(argv, false, true, "over=0 fifo_breaks=0 failed_workers=0 unfinished=0");
}
END_TEST

/* 500 launchers queued behind a held slot all run, one at a time and in
 * order, and leave no file or fd behind (slot_stress checks the fds). */
START_TEST(cpu_run_five_hundred_waiters)
{
	const char *argv[] = {h_artifact("GL_SLOT_STRESS"), "burst", slow() ? "40" : "500", NULL};

	stress(argv, false, true,
	       slow() ? "clients=40 queued=40 entries=40 most_in=1 over=0 fifo_breaks=0 failed=0"
	              : "clients=500 queued=500 entries=500 most_in=1 over=0 fifo_breaks=0 failed=0");
}
END_TEST

/* Files named name.N in dir. */
static int files_named(const char *dir, const char *name)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, name, strlen(name)) == 0 && e->d_name[strlen(name)] == '.';
	closedir(d);
	return n;
}

/* A child of the holder finds the lock held for its tree every time, also
 * while other flocks come and go and /proc/locks skips lines between pages
 * (unseen= in the output shows how often a plain read missed the holder).
 * The files of those flocks are in the test's directory, nowhere else. */
START_TEST(tree_check_survives_proc_locks_churn)
{
	const char *argv[] = {h_artifact("GL_STRESS_RUN"), "tree", "200", slow() ? "200" : "2000",
	                      NULL};

	stress(argv, false, false,
	       slow() ? "tree: calls=200 nested=200 " : "tree: calls=2000 nested=2000 ");
	ck_assert_int_eq(files_named(h_dir, "churn"), 200);
}
END_TEST

/* A helper that cannot set up fails at once, saying why: here the churn
 * process cannot open its first file. */
START_TEST(tree_helper_fails_fast_saying_why)
{
	const char *argv[] = {h_artifact("GL_STRESS_RUN"), "tree", "2", "10", NULL};
	char path[300], *out, *err;

	h_setup();
	snprintf(path, sizeof path, "%s/churn.0", h_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(h_run(argv, NULL, false, &out, &err), 2);
	ck_assert_str_eq(out, "");
	snprintf(path, sizeof path, "stress_run: %s/churn.0: %s\nstress_run: the churn process failed\n",
	         h_dir, strerror(EISDIR));
	ck_assert_str_eq(err, path);
	free(out);
	free(err);
}
END_TEST

/* kill -9 of the holder in the middle of its work: the next waiter is in
 * within 50 ms, and there is nothing to clean up. */
START_TEST(hand_off_after_kill_9_is_immediate)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	struct tp_proc holder, waiter;
	char line[32] = {0};
	double t0, t1;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&waiter, argv, NULL, true);
	close(waiter.in);
	h_wait_waiter(h_lock, waiter.pid);
	t0 = now();
	kill(holder.pid, SIGKILL);
	ck_assert_int_gt(read(waiter.out, line, sizeof line - 1), 0);
	t1 = now();
	ck_assert_str_eq(line, "cuInit=0\n");
	ck_assert_int_eq(tp_wait(holder.pid, 30), 128 + SIGKILL);
	ck_assert_int_eq(tp_wait(waiter.pid, 30), 0);
	fprintf(stderr, "hand-off after kill -9: %.1f ms\n", (t1 - t0) * 1e3);
	if (!getenv("GL_UNDER_VALGRIND"))
		ck_assert_msg(t1 - t0 < 0.050, "hand-off took %.1f ms", (t1 - t0) * 1e3);
	/* The same lock file, still usable, nothing left behind. */
	ck_assert_int_eq(tp_count(tp_slurp(h_trace), "held=0"), 0);
}
END_TEST

/* The host's own signal set-up survives a wait, with a signal arriving in
 * the middle of it: on the blocking path and on the bounded (thread) one. */
static void signals_test(const char *const extra[])
{
	const char *argv[] = {h_artifact("GL_CLIENT_SIGNALS"), NULL};
	struct tp_proc holder, host;
	char *out, *err;

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&host, argv, extra, true);
	close(host.in);
	h_wait_waiter(h_lock, host.pid);
	kill(host.pid, SIGALRM);
	kill(host.pid, SIGCHLD);
	kill(host.pid, SIGWINCH);
	kill(host.pid, SIGUSR1); /* blocked: stays pending, harmless */
	/* They are handled while the wait goes on. */
	h_wait_waiter(h_lock, host.pid);
	close(holder.in);
	out = tp_read_all(host.out);
	err = tp_read_all(host.err);
	ck_assert_msg(tp_wait(host.pid, 30) == 0, "stderr:\n%s", err);
	ck_assert_str_eq(out, "cuInit=0 alarms=1 others=2 same=1\n");
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}

START_TEST(host_signals_undisturbed_blocking_wait)
{
	signals_test(NULL);
}
END_TEST

START_TEST(host_signals_undisturbed_bounded_wait)
{
	static const char *const env[] = {"GPU_LOCK_TIMEOUT=60", NULL};

	signals_test(env);
}
END_TEST

struct waitctx {
	pid_t pid;
	bool found;
};

static void find_waiter(const struct gl_lock_entry *e, void *arg)
{
	struct waitctx *w = arg;

	if (e->waiting && e->pid == w->pid)
		w->found = true;
}

/* Waits until pid is blocked on some flock, on any file: the old lock
 * file has no path any more. */
static void wait_blocked(pid_t pid)
{
	double deadline = now() + 20;
	struct waitctx w = {pid, false};

	while (!w.found) {
		ck_assert_msg(now() < deadline, "pid %d never blocked on a lock", (int)pid);
		gl_proc_locks_scan("/proc/locks", find_waiter, &w);
		if (!w.found)
			usleep(1000);
	}
}

/* An age clean-up deletes (or replaces) the lock file while it is held: a
 * newcomer creates a new file, and must still wait for the holder of the
 * old one. */
static void swapped_test(bool recreate)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	struct tp_proc holder, late;
	char *out, *err, want[96];

	h_setup();
	h_start_gpu_holder(&holder);
	ck_assert_int_eq(unlink(h_lock), 0);
	if (recreate)
		close(open(h_lock, O_CREAT | O_WRONLY, 0666));
	h_spawn(&late, argv, NULL, true);
	close(late.in);
	wait_blocked(late.pid);
	close(holder.in);
	out = tp_read_all(late.out);
	err = tp_read_all(late.err);
	ck_assert_int_eq(tp_wait(late.pid, 30), 0);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	snprintf(want, sizeof want, "was deleted or replaced while pid %d held it", (int)holder.pid);
	ck_assert_msg(tp_count(err, want) == 1, "stderr:\n%s", err);
	snprintf(want, sizeof want, "cuInit pid=%d held=1", (int)late.pid);
	ck_assert_int_eq(tp_count(tp_slurp(h_trace), want), 1);
}

START_TEST(lock_file_deleted_while_held)
{
	swapped_test(false);
}
END_TEST

START_TEST(lock_file_replaced_while_held)
{
	swapped_test(true);
}
END_TEST

/* A waiter blocked on the old file when it is deleted: it gets that lock
 * when the holder goes, sees the path names another file, and locks that
 * one, so a newcomer still waits for it. */
START_TEST(lock_file_deleted_while_waited_for)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	static const char *const hold[] = {"CLIENT_HOLD=1", NULL};
	struct tp_proc holder, first, second;
	char line[32] = {0};

	h_setup();
	h_start_gpu_holder(&holder);
	h_spawn(&first, argv, hold, true);
	h_wait_waiter(h_lock, first.pid);
	ck_assert_int_eq(unlink(h_lock), 0);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_gt(read(first.out, line, sizeof line - 1), 0);
	ck_assert_str_eq(line, "cuInit=0\n");
	h_wait_holder(h_lock, first.pid); /* it holds the file the path names now */
	h_spawn(&second, argv, NULL, true);
	close(second.in);
	h_wait_waiter(h_lock, second.pid);
	close(first.in);
	ck_assert_int_eq(tp_wait(first.pid, 30), 0);
	ck_assert_int_eq(tp_wait(second.pid, 30), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");

	tcase_add_test(tc, mutual_exclusion_under_kills_and_stops);
	tcase_add_test(tc, five_hundred_waiters_finish_one_at_a_time);
	tcase_add_test(tc, cpu_run_slots_under_kills_and_stops);
	tcase_add_test(tc, cpu_run_five_hundred_waiters);
	tcase_add_test(tc, tree_check_survives_proc_locks_churn);
	tcase_add_test(tc, tree_helper_fails_fast_saying_why);
	tcase_add_test(tc, hand_off_after_kill_9_is_immediate);
	tcase_add_test(tc, host_signals_undisturbed_blocking_wait);
	tcase_add_test(tc, host_signals_undisturbed_bounded_wait);
	tcase_add_test(tc, lock_file_deleted_while_held);
	tcase_add_test(tc, lock_file_replaced_while_held);
	tcase_add_test(tc, lock_file_deleted_while_waited_for);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
