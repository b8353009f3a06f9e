/* Process trees: nested GPU jobs never deadlock on their ancestor's lock,
 * independent jobs always take turns, and a descendant whose holder is gone
 * does not run unlocked. Every test has a hard timeout (a deadlock fails it)
 * and checks who held the lock when, from the fake driver's trace. */
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tree(void)
{
	return h_artifact("GL_CLIENT_TREE");
}

/* Counts "cuInit pid=* held=H" lines in the trace. */
static int trace_count(const char *what)
{
	char *trace = tp_slurp(h_trace);
	int n = tp_count(trace, what);

	free(trace);
	return n;
}

/* Every cuInit in the trace ran with the lock held; there were n of them. */
static void assert_all_locked(int n)
{
	char *trace = tp_slurp(h_trace);

	ck_assert_msg(tp_count(trace, "cuInit pid=") == n && tp_count(trace, "held=0") == 0,
	              "want %d cuInit lines, all held=1:\n%s", n, trace);
	free(trace);
}

/* Runs argv to success; nobody in it may have waited for the lock. */
static void run_ok(const char *const argv[], const char *want_out)
{
	char *out, *err;
	int status = h_run(argv, NULL, true, &out, &err);

	ck_assert_msg(status == 0, "exit %d; stderr:\n%s", status, err);
	ck_assert_str_eq(out, want_out);
	ck_assert_msg(tp_count(err, "waiting for the GPU lock") == 0, "someone waited:\n%s", err);
	free(out);
	free(err);
}

/* Runs argv to success where waiting is the point. */
static void run_ok_waiting(const char *const argv[])
{
	char *err;
	int status = h_run(argv, NULL, true, NULL, &err);

	ck_assert_msg(status == 0, "exit %d; stderr:\n%s", status, err);
	ck_assert_int_eq(tp_count(err, "waiting for the GPU lock"), 2);
	free(err);
}

START_TEST(fork_child_shares_the_lock)
{
	const char *argv[] = {tree(), "fork-child", NULL};

	h_setup();
	run_ok(argv, "parent cuInit=0\nchild cuInit=0\n");
	assert_all_locked(2);
}
END_TEST

START_TEST(forked_child_keeps_the_lock_after_its_parent_exits)
{
	const char *argv[] = {tree(), "fork-child-outlives", NULL};
	const char *waiter_argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	struct tp_proc parent, waiter;
	char *out;

	h_setup();
	h_spawn(&parent, argv, NULL, true);
	ck_assert_int_eq(tp_wait(parent.pid, 30), 0); /* the child lives on, holding stdin */
	h_spawn(&waiter, waiter_argv, NULL, true);
	close(waiter.in);
	h_wait_waiter(h_lock, waiter.pid); /* the lock outlived the process that took it */
	close(parent.in);                  /* now the child exits */
	out = tp_read_all(waiter.out);
	ck_assert_int_eq(tp_wait(waiter.pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	assert_all_locked(3);
}
END_TEST

START_TEST(exec_child_does_not_wait_for_its_parent)
{
	const char *plain[] = {tree(), "exec-child", h_artifact("GL_CLIENT_DLSYM"), NULL};
	/* Without GPU_LOCK_HELD too: found by ancestry, from /proc/locks. */
	const char *no_env[] = {tree(), "exec-child", "env", "-u", "GPU_LOCK_HELD",
	                        h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *shell[] = {tree(), "exec-child", "sh", "-c", "\"$0\" && \"$0\"",
	                       h_artifact("GL_CLIENT_DLSYM"), NULL};

	h_setup();
	run_ok(plain, "parent cuInit=0\ncuInit=0\n");
	run_ok(no_env, "parent cuInit=0\ncuInit=0\n");
	run_ok(shell, "parent cuInit=0\ncuInit=0\ncuInit=0\n");
	assert_all_locked(7);
}
END_TEST

START_TEST(python_subprocess_with_close_fds)
{
	/* env=None passes our GPU_LOCK_HELD; env=dict(os.environ) is Python's
	 * snapshot from before the lock, without it: ancestry covers that. */
	static const char script[] =
		"import ctypes, os, subprocess, sys\n"
		"print('parent cuInit=%d' % ctypes.CDLL('libcuda.so.1').cuInit(0), flush=True)\n"
		"a = subprocess.run([sys.argv[1]], close_fds=True).returncode\n"
		"b = subprocess.run([sys.argv[1]], close_fds=True, env=dict(os.environ)).returncode\n"
		"sys.exit(a or b)\n";
	const char *argv[] = {"python3", "-c", script, h_artifact("GL_CLIENT_DLSYM"), NULL};

	h_setup();
	run_ok(argv, "parent cuInit=0\ncuInit=0\ncuInit=0\n");
	assert_all_locked(3);
}
END_TEST

START_TEST(python_multiprocessing_spawn)
{
	static const char script[] =
		"import ctypes, multiprocessing, sys\n"
		"def child():\n"
		"    sys.exit(ctypes.CDLL('libcuda.so.1').cuInit(0))\n"
		"if __name__ == '__main__':\n"
		"    print('parent cuInit=%d' % ctypes.CDLL('libcuda.so.1').cuInit(0), flush=True)\n"
		"    p = multiprocessing.get_context('spawn').Process(target=child)\n"
		"    p.start(); p.join()\n"
		"    print('child exit=%d' % p.exitcode)\n"
		"    sys.exit(p.exitcode)\n";
	char path[200];
	const char *argv[] = {"python3", path, NULL};
	FILE *f;

	h_setup();
	snprintf(path, sizeof path, "%s/spawn.py", h_dir);
	f = fopen(path, "w");
	fputs(script, f);
	fclose(f);
	run_ok(argv, "parent cuInit=0\nchild exit=0\n");
	assert_all_locked(2);
}
END_TEST

/* Reads fd until the text so far contains needle and a newline after it. */
static void read_until(int fd, char *buf, size_t len, const char *needle)
{
	size_t have = strlen(buf);
	const char *hit;

	while (!((hit = strstr(buf, needle)) && strchr(hit, '\n'))) {
		ssize_t n = read(fd, buf + have, len - have - 1);
		ck_assert_msg(n > 0, "EOF before '%s' in:\n%s", needle, buf);
		have += n;
		buf[have] = '\0';
	}
}

/* The holder starts a child and exits; an unrelated job takes the lock;
 * then the child touches the GPU. Its GPU_LOCK_HELD names a holder that no
 * longer holds the lock, so it must wait for the unrelated job. */
START_TEST(descendant_of_a_gone_holder_takes_the_lock_itself)
{
	char fifo[200], want[64], text[1024] = "", *rest, *err;
	const char *argv[] = {tree(), "spawn-and-exit", tree(), "wait-then-init", fifo, NULL};
	struct tp_proc holder, other;
	int late, fd;

	h_setup();
	snprintf(fifo, sizeof fifo, "%s/go", h_dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	h_spawn(&holder, argv, NULL, true);
	close(holder.in);
	read_until(holder.out, text, sizeof text, "spawned ");
	late = atoi(strstr(text, "spawned ") + 8);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0); /* the holder is gone, the lock free */

	h_start_gpu_holder(&other);
	fd = open(fifo, O_WRONLY | O_CLOEXEC); /* lets the late child go on */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	h_wait_waiter(h_lock, late);

	close(other.in);
	ck_assert_int_eq(tp_wait(other.pid, 30), 0);
	rest = tp_read_all(holder.out); /* EOF: the late child exited */
	err = tp_read_all(holder.err);
	ck_assert_str_eq(rest, "late cuInit=0\n");
	snprintf(want, sizeof want, "pid %d waiting for the GPU lock", late);
	ck_assert_msg(tp_count(err, want) == 1, "stderr:\n%s", err);
	snprintf(want, sizeof want, "cuInit pid=%d held=1", late);
	ck_assert_int_eq(trace_count(want), 1);
	assert_all_locked(3);
}
END_TEST

/* A loop that never touched the GPU starts jobs side by side: they are
 * independent and take turns. Checked from enter/exit stamps. */
START_TEST(independent_siblings_take_turns)
{
	const char *argv[] = {"sh", "-c", "\"$0\" work 100 & \"$0\" work 100 & \"$0\" work 100 & wait",
	                      tree(), NULL};
	long long start[8], end[8];
	char *trace, *line;
	int n = 0, m = 0;

	h_setup();
	run_ok_waiting(argv);
	trace = tp_slurp(h_trace);
	for (line = trace; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *t = strstr(line, " t=");
		if (strncmp(line, "enter ", 6) == 0 && n < 8)
			start[n++] = atoll(t + 3);
		else if (strncmp(line, "exit ", 5) == 0 && m < 8)
			end[m++] = atoll(t + 3);
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(m, 3);
	/* Lines are appended in time order: enter, exit, enter, exit, ... */
	for (int i = 0; i < 3; i++)
		ck_assert_msg(start[i] < end[i] && (i == 0 || end[i - 1] <= start[i]),
		              "jobs overlapped:\n%s", trace);
	ck_assert_int_eq(tp_count(trace, "enter"), 3);
	free(trace);
	assert_all_locked(3);
}
END_TEST

/* A tree that must run concurrently takes the lock at its root; everything
 * below runs without blocking. Each pair member waits, bounded, until the
 * other is on the GPU too: had one blocked on the other, both would fail. */
static void eager_root_test(const char *const root[], int n)
{
	const char *argv[16];
	char pairdir[200];
	int i = 0;

	h_setup();
	snprintf(pairdir, sizeof pairdir, "%s/pair", h_dir);
	ck_assert_int_eq(mkdir(pairdir, 0755), 0);
	for (int k = 0; k < n; k++)
		argv[i++] = root[k];
	argv[i++] = "sh";
	argv[i++] = "-c";
	argv[i++] = "\"$0\" pair \"$1\" & a=$!; \"$0\" pair \"$1\" & b=$!; wait $a && wait $b";
	argv[i++] = tree();
	argv[i++] = pairdir;
	argv[i] = NULL;
	run_ok(argv, "pair cuInit=0\npair cuInit=0\n");
	assert_all_locked(2);
}

START_TEST(eager_root_with_flock)
{
	const char *root[] = {"flock", h_lock};

	eager_root_test(root, 2);
}
END_TEST

START_TEST(eager_root_with_the_original_gpu_run_sh)
{
	const char *root[] = {"bash", h_artifact("GL_SEED_GPU_RUN")};

	eager_root_test(root, 2);
}
END_TEST

/* The original tools under our holder must see GPU_LOCK_HELD and not lock
 * again (they would wait for our lock forever). */
START_TEST(original_tools_nested_under_a_preloaded_holder)
{
	const char *sh_argv[] = {tree(), "exec-child", "bash", h_artifact("GL_SEED_GPU_RUN"),
	                         h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *py_argv[] = {tree(), "exec-child", "python3", h_artifact("GL_SEED_DISPATCH"),
	                         h_artifact("GL_CLIENT_DLSYM"), NULL};

	h_setup();
	run_ok(sh_argv, "parent cuInit=0\ncuInit=0\n");
	run_ok(py_argv, "parent cuInit=0\ncuInit=0\n");
	assert_all_locked(4);
}
END_TEST

START_TEST(preloaded_tree_nested_under_the_original_gpu_run_sh)
{
	const char *argv[] = {"bash", h_artifact("GL_SEED_GPU_RUN"), tree(), "exec-child",
	                      h_artifact("GL_CLIENT_DLSYM"), NULL};

	h_setup();
	run_ok(argv, "parent cuInit=0\ncuInit=0\n");
	assert_all_locked(2);
}
END_TEST

/* One thread waits in cuInit while the main thread forks; the child calls
 * cuInit too. Neither may deadlock: the child waits on the description it
 * inherited, so parent and child get the lock together. */
START_TEST(threads_racing_a_fork)
{
	const char *argv[] = {tree(), "fork-race", NULL};
	struct tp_proc other, racer;
	char text[1024] = "", want[64], *rest;
	int forked;

	h_setup();
	h_start_gpu_holder(&other);
	h_spawn(&racer, argv, NULL, true);
	h_wait_waiter(h_lock, racer.pid);
	ck_assert_int_eq(write(racer.in, "fork\n", 5), 5);
	read_until(racer.out, text, sizeof text, "forked ");
	forked = atoi(strstr(text, "forked ") + 7);
	h_wait_waiter(h_lock, forked);
	close(other.in);
	ck_assert_int_eq(tp_wait(other.pid, 30), 0);
	rest = tp_read_all(racer.out);
	ck_assert_int_eq(tp_wait(racer.pid, 30), 0);
	ck_assert_msg(tp_count(rest, "child cuInit=0") == 1 && tp_count(rest, "parent cuInit=0") == 1,
	              "stdout:\n%s%s", text, rest);
	snprintf(want, sizeof want, "cuInit pid=%d held=1", forked);
	ck_assert_int_eq(trace_count(want), 1);
	snprintf(want, sizeof want, "cuInit pid=%d held=1", racer.pid);
	ck_assert_int_eq(trace_count(want), 1);
	assert_all_locked(3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trees");
	TCase *tc = tcase_create("trees");

	tcase_add_test(tc, fork_child_shares_the_lock);
	tcase_add_test(tc, forked_child_keeps_the_lock_after_its_parent_exits);
	tcase_add_test(tc, exec_child_does_not_wait_for_its_parent);
	tcase_add_test(tc, python_subprocess_with_close_fds);
	tcase_add_test(tc, python_multiprocessing_spawn);
	tcase_add_test(tc, descendant_of_a_gone_holder_takes_the_lock_itself);
	tcase_add_test(tc, independent_siblings_take_turns);
	tcase_add_test(tc, eager_root_with_flock);
	tcase_add_test(tc, eager_root_with_the_original_gpu_run_sh);
	tcase_add_test(tc, original_tools_nested_under_a_preloaded_holder);
	tcase_add_test(tc, preloaded_tree_nested_under_the_original_gpu_run_sh);
	tcase_add_test(tc, threads_racing_a_fork);
	tcase_set_timeout(tc, 60); /* a deadlock fails the test, it does not hang the suite */
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
