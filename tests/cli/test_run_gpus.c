/* gpulock run --gpus K: K free GPUs for the command, first come first
 * served, named in its CUDA_VISIBLE_DEVICES before it starts. The GPUs are
 * fake (fake_gpus.h); the checks read /proc/locks. */
#include "cli_harness.h"
#include "fake_gpus.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* gpulock run --gpus k -- sh -c 'echo "$CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER"; cat',
 * which holds its GPUs until its stdin closes. */
static void start_job(struct tp_proc *c, const char *k)
{
	const char *argv[] = {gpulock(), "run", "--gpus", k, "--",
	                      "sh", "-c", "echo \"$CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER\"; exec cat",
	                      NULL};

	h_spawn(c, argv, NULL, false);
}

/* The line the job prints once it has its GPUs. */
static char *job_line(struct tp_proc *c)
{
	char *line = tp_read_line(c->out, 30);

	ck_assert_msg(line, "pid %d printed nothing", (int)c->pid);
	return line;
}

static char *finish(struct tp_proc *c)
{
	char *err;
	int status;

	close(c->in);
	tp_collect(c->out, c->err, NULL, &err);
	status = tp_wait(c->pid, 30);
	ck_assert_msg(status == 0, "pid %d: exit %d; stderr:\n%s", (int)c->pid, status, err);
	close(c->out);
	close(c->err);
	return err;
}

static void finish_quietly(struct tp_proc *c)
{
	free(finish(c));
}

static void uuids(char *buf, size_t len, const unsigned *idx, unsigned n)
{
	size_t at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", fake_gpu_uuid(idx[i]));
}

static bool setup(const char *test, unsigned n)
{
	h_setup();
	return fake_gpus(test, n, NULL);
}

START_TEST(free_gpus_are_handed_out_by_uuid)
{
	static const unsigned first[] = {0, 1}, third[] = {2};
	struct tp_proc a, b;
	char want[512], *line;

	if (!setup(__func__, 4))
		return;
	start_job(&a, "2");
	line = job_line(&a);
	uuids(want, sizeof want, first, 2);
	strcat(want, " PCI_BUS_ID");
	ck_assert_str_eq(line, want);
	free(line);
	/* The command holds them itself: gpulock exec'd it. */
	ck_assert_int_eq(tp_held_as(h_lock, a.pid), 'R');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), a.pid), 'W');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 1), a.pid), 'W');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 2), a.pid), 0);
	start_job(&b, "1");
	line = job_line(&b);
	uuids(want, sizeof want, third, 1);
	strcat(want, " PCI_BUS_ID");
	ck_assert_str_eq(line, want);
	free(line);
	ck_assert_str_eq(finish(&b), "");
	finish_quietly(&a);
}
END_TEST

/* First come, first served: a request for one GPU that comes after one
 * for two waits behind it, though a GPU is free. */
START_TEST(a_later_smaller_request_does_not_overtake)
{
	unsigned both[2], last = 3;
	struct tp_proc a, b, c;
	char want[512], *line;

	if (!setup(__func__, 3))
		return;
	start_job(&a, "2");
	free(job_line(&a));
	start_job(&b, "2");
	tp_wait_lock(fake_gpu_lock(h_lock, 0), b.pid, true, 20); /* the head, waiting for more */
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 2), b.pid), 0); /* holding none meanwhile */
	start_job(&c, "1");
	line = tp_read_line(c.err, 30);
	snprintf(want, sizeof want, "gpulock: pid %d waiting for 1 GPU: 1 request ahead in the queue",
	         (int)c.pid);
	ck_assert_str_eq(line, want);
	free(line);
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 2), c.pid), 0);
	finish_quietly(&a);
	/* Two of the three: which two depends on the order in which a's exit
	 * let go of GPUs 0 and 1 (b takes what is free when it looks). Once b
	 * has them, the third is c's. */
	line = job_line(&b);
	for (unsigned i = 0; i < 3; i++)
		if (!strstr(line, fake_gpu_uuid(i)))
			last = i;
	ck_assert_msg(last < 3, "%s", line);
	for (unsigned i = 0, k = 0; i < 3; i++)
		if (i != last)
			both[k++] = i;
	uuids(want, sizeof want, both, 2);
	strcat(want, " PCI_BUS_ID");
	ck_assert_str_eq(line, want);
	free(line);
	line = job_line(&c);
	uuids(want, sizeof want, &last, 1);
	strcat(want, " PCI_BUS_ID");
	ck_assert_str_eq(line, want);
	free(line);
	finish_quietly(&b);
	finish_quietly(&c);
}
END_TEST

START_TEST(all_is_the_whole_machine)
{
	static const unsigned every[] = {0, 1, 2};
	struct tp_proc a;
	char want[512], *line;

	if (!setup(__func__, 3))
		return;
	start_job(&a, "all");
	line = job_line(&a);
	uuids(want, sizeof want, every, 3);
	strcat(want, " PCI_BUS_ID");
	ck_assert_str_eq(line, want);
	free(line);
	ck_assert_int_eq(tp_held_as(h_lock, a.pid), 'W');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), a.pid), 0);
	finish_quietly(&a);
}
END_TEST

START_TEST(a_count_that_cannot_be_met_is_refused_at_once)
{
	const char *five[] = {gpulock(), "run", "--gpus", "5", "--", "true", NULL};
	const char *zero[] = {gpulock(), "run", "--gpus", "0", "--", "true", NULL};
	const char *word[] = {gpulock(), "run", "--gpus", "two", "--", "true", NULL};
	const char *eager[] = {gpulock(), "run", "--gpus", "1", "--eager", "--", "true", NULL};
	char lock[300];
	const char *env[] = {lock, NULL};

	if (!setup(__func__, 4))
		return;
	snprintf(lock, sizeof lock, "GPU_LOCK_PATH=%s", h_lock);
	expect_exact(five, env, 125, "", "gpulock: --gpus 5: this machine has 4 GPUs\n");
	expect_exact(zero, env, 125, "",
	             "gpulock: --gpus '0': expected a number of GPUs (1 to 4) or 'all'\n"
	             "Try 'gpulock run --help'.\n");
	expect_exact(word, env, 125, "",
	             "gpulock: --gpus 'two': expected a number of GPUs (1 to 4) or 'all'\n"
	             "Try 'gpulock run --help'.\n");
	expect_exact(eager, env, 125, "",
	             "gpulock: --gpus and --eager cannot go together (--gpus takes its GPUs before "
	             "the command starts, as --eager does)\nTry 'gpulock run --help'.\n");
}
END_TEST

START_TEST(no_wait_and_timeout_end_with_75)
{
	const char *no_wait[] = {gpulock(), "run", "--gpus", "1", "--no-wait", "--", "true", NULL};
	const char *timeout[] = {gpulock(), "run", "--gpus", "1", "-t", "0.1", "--", "true", NULL};
	struct tp_proc a;
	char *err, want[256];
	int status;

	if (!setup(__func__, 2))
		return;
	start_job(&a, "2");
	free(job_line(&a));
	status = h_run(no_wait, NULL, false, NULL, &err);
	ck_assert_int_eq(status, 75);
	ck_assert_msg(tp_count(err, "gave up waiting for 1 GPU at once (--no-wait)") == 1, "%s", err);
	free(err);
	status = h_run(timeout, NULL, false, NULL, &err);
	ck_assert_int_eq(status, 75);
	snprintf(want, sizeof want, "gave up waiting for 1 GPU after 0.1s (--timeout)");
	ck_assert_msg(tp_count(err, want) == 1, "%s", err);
	free(err);
	finish_quietly(&a);
}
END_TEST

/* Inside the command, everything runs under its GPUs: a preloaded CUDA
 * program and another gpulock run --gpus go straight through. */
START_TEST(the_commands_own_gpu_calls_go_straight_through)
{
	char inner[1024];
	const char *argv[] = {gpulock(), "run", "--gpus", "1", "--", "sh", "-c", inner, NULL};
	const char *preload[] = {NULL, NULL};
	char env_preload[4200], lib[4096], *out, *err;
	int status;

	if (!setup(__func__, 2))
		return;
	preload_value(lib, sizeof lib, h_artifact("GL_PRELOAD")); /* a sanitizer runtime first */
	snprintf(env_preload, sizeof env_preload, "GL_INNER_PRELOAD=%s", lib);
	preload[0] = env_preload;
	snprintf(inner, sizeof inner,
	         "LD_PRELOAD=$GL_INNER_PRELOAD GPU_LOCK_TIMEOUT=0 %s && "
	         "%s run --gpus 1 --no-wait -- sh -c 'echo \"$CUDA_VISIBLE_DEVICES\"'",
	         h_artifact("GL_CLIENT_DLSYM"), gpulock());
	status = h_run(argv, preload, false, &out, &err);
	ck_assert_msg(status == 0, "exit %d: %s", status, err);
	ck_assert_str_eq(err, "");
	snprintf(inner, sizeof inner, "cuInit=0\n%s\n", fake_gpu_uuid(0));
	ck_assert_str_eq(out, inner);
	free(out);
	free(err);
}
END_TEST

/* The command holds its locks through the fds gpulock run handed it: its
 * own CUDA calls must find them, however many other jobs hold the machine
 * lock shared (newer lines come first in /proc/locks, in one list per CPU:
 * behind 100 of them, a look at the first 16 missed its own, and the
 * command waited for itself), and whatever lines a read of /proc/locks
 * skips. */
START_TEST(the_command_finds_its_locks_among_many_holders)
{
	char inner[1024], lib[4096], env_preload[4200];
	const char *argv[] = {gpulock(), "run", "--gpus", "1", "--", "sh", "-c", inner, NULL};
	const char *extra[] = {env_preload, NULL};
	const char *holder_argv[] = {"flock", "-s", h_lock, "cat", NULL};
	struct tp_proc job, holders[100];
	char *line, *out, *err;

	if (!setup(__func__, 2))
		return;
	preload_value(lib, sizeof lib, h_artifact("GL_PRELOAD"));
	snprintf(env_preload, sizeof env_preload, "GL_INNER_PRELOAD=%s", lib);
	snprintf(inner, sizeof inner,
	         "echo ready; read x; LD_PRELOAD=$GL_INNER_PRELOAD GPU_LOCK_TIMEOUT=10 exec %s",
	         h_artifact("GL_CLIENT_DLSYM"));
	h_spawn(&job, argv, extra, false);
	line = tp_read_line(job.out, 30);
	ck_assert_str_eq(line, "ready");
	free(line);
	for (int i = 0; i < 100; i++) {
		h_spawn(&holders[i], holder_argv, NULL, false);
		tp_wait_lock(h_lock, holders[i].pid, false, 20);
	}
	ck_assert_int_eq(write(job.in, "go\n", 3), 3);
	close(job.in);
	tp_collect(job.out, job.err, &out, &err);
	ck_assert_int_eq(tp_wait(job.pid, 60), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	close(job.out);
	close(job.err);
	for (int i = 0; i < 100; i++) {
		close(holders[i].in);
		ck_assert_int_eq(tp_wait(holders[i].pid, 30), 0);
		close(holders[i].out);
		close(holders[i].err);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run --gpus");
	TCase *tc = tcase_create("run --gpus");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, free_gpus_are_handed_out_by_uuid);
	tcase_add_test(tc, a_later_smaller_request_does_not_overtake);
	tcase_add_test(tc, all_is_the_whole_machine);
	tcase_add_test(tc, a_count_that_cannot_be_met_is_refused_at_once);
	tcase_add_test(tc, no_wait_and_timeout_end_with_75);
	tcase_add_test(tc, the_commands_own_gpu_calls_go_straight_through);
	tcase_add_test(tc, the_command_finds_its_locks_among_many_holders);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
