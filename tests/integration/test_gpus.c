/* Multi-GPU machines: a process that sees some of the GPUs holds the
 * whole-machine lock shared and its GPUs' locks exclusive, taken in the
 * order of their UUIDs; one that sees them all holds the machine. A waiting
 * whole-machine request is never overtaken. The GPUs are fake (fake_gpus.h),
 * the checks read /proc/locks: who holds which file, shared or not. */
#include "fake_gpus.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool setup(const char *test, unsigned n, const char *const *models)
{
	h_setup();
	return fake_gpus(test, n, models);
}

/* A preloaded client with these settings ("NAME=value", NULL-terminated)
 * that holds what it took until its stdin closes; returns once it has
 * passed cuInit. */
static void start_client(struct tp_proc *c, const char *const *env)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[16] = {"CLIENT_HOLD=1"};
	size_t n = 1;
	char *line;

	for (; env && *env && n < 15; env++)
		extra[n++] = *env;
	extra[n] = NULL;
	h_spawn(c, argv, extra, true);
	line = tp_read_line(c->out, 30);
	ck_assert_msg(line && strcmp(line, "cuInit=0") == 0, "client: %s", line ? line : "(EOF)");
	free(line);
}

/* Start a client that is expected to wait; returns at once. */
static void spawn_client(struct tp_proc *c, const char *const *env)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[16] = {"CLIENT_HOLD=1"};
	size_t n = 1;

	for (; env && *env && n < 15; env++)
		extra[n++] = *env;
	extra[n] = NULL;
	h_spawn(c, argv, extra, true);
}

/* Release a client and check that it ends well; returns its stderr. */
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

START_TEST(some_gpus_hold_the_machine_shared_and_their_own)
{
	static const char *const env[] = {"CUDA_VISIBLE_DEVICES=1,2", NULL};
	struct tp_proc c;

	if (!setup(__func__, 4, NULL))
		return;
	start_client(&c, env);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'R');
	for (unsigned i = 0; i < 4; i++)
		ck_assert_msg(tp_held_as(fake_gpu_lock(h_lock, i), c.pid) == (i == 1 || i == 2 ? 'W' : 0),
		              "GPU %u (%s)", i, fake_gpus_source());
	finish_quietly(&c);
}
END_TEST

START_TEST(jobs_on_different_gpus_run_at_once)
{
	static const char *const env0[] = {"CUDA_VISIBLE_DEVICES=0", NULL};
	static const char *const env1[] = {"CUDA_VISIBLE_DEVICES=1", NULL};
	struct tp_proc a, b;
	char *err;

	if (!setup(__func__, 2, NULL))
		return;
	start_client(&a, env0);
	start_client(&b, env1);
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), a.pid), 'W');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 1), b.pid), 'W');
	err = finish(&b);
	ck_assert_msg(tp_count(err, "waiting") == 0, "%s", err);
	free(err);
	finish_quietly(&a);
}
END_TEST

/* Named by index and by a UUID prefix: the same GPU, so the second waits,
 * and says for what and for whom. */
START_TEST(a_busy_gpu_is_waited_for)
{
	static const char *const env1[] = {"CUDA_VISIBLE_DEVICES=1", NULL};
	char prefix[64], want[512];
	const char *env2[] = {prefix, NULL};
	struct tp_proc a, b;
	char *err;

	if (!setup(__func__, 3, NULL))
		return;
	snprintf(prefix, sizeof prefix, "CUDA_VISIBLE_DEVICES=%.12s", fake_gpu_uuid(1));
	start_client(&a, env1);
	spawn_client(&b, env2);
	tp_wait_lock(fake_gpu_lock(h_lock, 1), b.pid, true, 20);
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 0); /* the machine comes last */
	finish_quietly(&a);
	tp_wait_lock(fake_gpu_lock(h_lock, 1), b.pid, false, 20);
	err = finish(&b);
	snprintf(want, sizeof want, "gpulock: pid %d waiting for the lock of GPU 1 %s, held by pid %d",
	         (int)b.pid, fake_gpu_lock(h_lock, 1), (int)a.pid);
	ck_assert_msg(tp_count(err, want) == 1, "want '%s' in:\n%s", want, err);
	snprintf(want, sizeof want, "gpulock: pid %d got the lock of GPU 1 in %s.d after ",
	         (int)b.pid, h_lock);
	ck_assert_msg(tp_count(err, want) == 1, "want '%s' in:\n%s", want, err);
	free(err);
}
END_TEST

/* The locks are taken in the order of the UUIDs, not as the list names
 * them nor in PCI order: GPU 3's UUID sorts first, so a job for GPUs 0
 * and 3 waits for 3 holding nothing of 0. Any one order would do, as long
 * as it is everyone's. */
START_TEST(gpus_are_taken_in_uuid_order)
{
	static const char *const env3[] = {"CUDA_VISIBLE_DEVICES=3", NULL};
	static const char *const env03[] = {"CUDA_VISIBLE_DEVICES=0,3", NULL};
	struct tp_proc a, b;

	if (!setup(__func__, 4, NULL))
		return;
	start_client(&a, env3);
	spawn_client(&b, env03);
	tp_wait_lock(fake_gpu_lock(h_lock, 3), b.pid, true, 20);
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), b.pid), 0);
	finish_quietly(&a);
	tp_wait_lock(fake_gpu_lock(h_lock, 0), b.pid, false, 20);
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 3), b.pid), 'W');
	finish_quietly(&b);
}
END_TEST

START_TEST(every_gpu_is_the_whole_machine)
{
	static const char *const all[] = {"CUDA_VISIBLE_DEVICES=1,0", NULL};
	static const char *const unset[] = {NULL};
	struct tp_proc c;

	if (!setup(__func__, 2, NULL))
		return;
	start_client(&c, all);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'W');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), c.pid), 0);
	finish_quietly(&c);
	start_client(&c, unset);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'W');
	finish_quietly(&c);
}
END_TEST

/* An unset CUDA_VISIBLE_DEVICES sees every GPU: it waits for a job on any. */
START_TEST(the_whole_machine_waits_for_a_job_on_one_gpu)
{
	static const char *const env2[] = {"CUDA_VISIBLE_DEVICES=2", NULL};
	struct tp_proc a, c;

	if (!setup(__func__, 4, NULL))
		return;
	start_client(&a, env2);
	spawn_client(&c, NULL);
	tp_wait_lock(h_lock, c.pid, true, 20);
	finish_quietly(&a);
	tp_wait_lock(h_lock, c.pid, false, 20);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'W');
	finish_quietly(&c);
}
END_TEST

/* flock(2) grants shared locks while an exclusive request waits: without
 * care, jobs on single GPUs would keep flock(1) or gpu_run.sh out for as
 * long as they kept coming. A job that comes after the whole-machine
 * request waits for it. */
START_TEST(a_waiting_whole_machine_request_goes_first)
{
	static const char *const env0[] = {"CUDA_VISIBLE_DEVICES=0", NULL};
	static const char *const env1[] = {"CUDA_VISIBLE_DEVICES=1", NULL};
	const char *flock_argv[] = {"flock", "-x", h_lock, "cat", NULL};
	struct tp_proc a, w, b;
	char *line, want[256];

	if (!setup(__func__, 2, NULL))
		return;
	start_client(&a, env0);
	h_spawn(&w, flock_argv, NULL, false);
	tp_wait_lock(h_lock, w.pid, true, 20);
	spawn_client(&b, env1);
	line = tp_read_line(b.err, 30);
	snprintf(want, sizeof want,
	         "gpulock: pid %d waiting for the lock of GPU 1 in %s.d: a request for the whole "
	         "machine (pid %d) waits for the GPU lock %s, and goes first",
	         (int)b.pid, h_lock, (int)w.pid, h_lock);
	ck_assert_str_eq(line, want);
	free(line);
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 0);
	finish_quietly(&a);
	tp_wait_lock(h_lock, w.pid, false, 20); /* the machine is flock(1)'s */
	/* b holds its GPU (taken first) but does not run: no machine */
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 1), b.pid), 'W');
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 0);
	close(w.in); /* cat ends, flock(1) with it */
	ck_assert_int_eq(tp_wait(w.pid, 30), 0);
	close(w.out);
	close(w.err);
	tp_wait_lock(h_lock, b.pid, false, 20);
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 'R');
	finish_quietly(&b);
}
END_TEST

/* A job that waits for its GPU holds nothing of the machine meanwhile: a
 * whole-machine request waits for the jobs that run, not for those that
 * queue for a GPU (the GPUs are taken first, the machine last). Which of
 * the two then goes first once the running job ends is not fixed: the job
 * was there before the request. */
START_TEST(a_job_waiting_for_its_gpu_does_not_hold_the_machine)
{
	static const char *const env0[] = {"CUDA_VISIBLE_DEVICES=0", NULL};
	const char *flock_argv[] = {"flock", "-x", h_lock, "cat", NULL};
	struct tp_proc a, b, w;

	if (!setup(__func__, 2, NULL))
		return;
	start_client(&a, env0);
	spawn_client(&b, env0);
	tp_wait_lock(fake_gpu_lock(h_lock, 0), b.pid, true, 20);
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 0);
	h_spawn(&w, flock_argv, NULL, false);
	tp_wait_lock(h_lock, w.pid, true, 20);
	/* the request waits for a alone */
	ck_assert_int_eq(tp_held_as(h_lock, a.pid), 'R');
	ck_assert_int_eq(tp_held_as(h_lock, b.pid), 0);
	close(w.in); /* the request goes: cat ends at once once flock(1) has it */
	kill(w.pid, SIGKILL);
	tp_wait(w.pid, 30);
	close(w.out);
	close(w.err);
	finish_quietly(&a);
	tp_wait_lock(h_lock, b.pid, false, 20);
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 0), b.pid), 'W');
	finish_quietly(&b);
}
END_TEST

START_TEST(no_visible_gpu_takes_no_lock)
{
	static const char *const none[] = {"CUDA_VISIBLE_DEVICES=", NULL};
	struct tp_proc holder, c;
	char *err;

	if (!setup(__func__, 2, NULL))
		return;
	h_start_gpu_holder(&holder);
	start_client(&c, none);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 0);
	err = finish(&c);
	ck_assert_str_eq(err, "");
	free(err);
	finish_quietly(&holder);
}
END_TEST

/* CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID: on
 * GPUs of different models, an index names a GPU we cannot tell. */
START_TEST(an_index_on_mixed_models_takes_the_machine)
{
	static const char *const models[] = {"NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3"};
	static const char *const by_index[] = {"CUDA_VISIBLE_DEVICES=1", NULL};
	static const char *const pci[] = {"CUDA_VISIBLE_DEVICES=1", "CUDA_DEVICE_ORDER=PCI_BUS_ID",
	                                  NULL};
	struct tp_proc c;
	char *err;

	if (!setup(__func__, 2, models))
		return;
	start_client(&c, by_index);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'W');
	err = finish(&c);
	ck_assert_msg(tp_count(err, "cuInit: taking the lock of the whole machine: ") == 1 &&
	                      tp_count(err, "gpulock:") == 1,
	              "%s", err);
	free(err);
	start_client(&c, pci);
	ck_assert_int_eq(tp_held_as(h_lock, c.pid), 'R');
	ck_assert_int_eq(tp_held_as(fake_gpu_lock(h_lock, 1), c.pid), 'W');
	err = finish(&c);
	ck_assert_str_eq(err, "");
	free(err);
}
END_TEST

START_TEST(no_wait_gives_up_on_a_busy_gpu)
{
	static const char *const env0[] = {"CUDA_VISIBLE_DEVICES=0", NULL};
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[] = {"CUDA_VISIBLE_DEVICES=0", "GPU_LOCK_TIMEOUT=0", NULL};
	struct tp_proc a;
	char *err, want[512];

	if (!setup(__func__, 2, NULL))
		return;
	start_client(&a, env0);
	ck_assert_int_ne(h_run(argv, extra, true, NULL, &err), 0);
	snprintf(want, sizeof want, "gave up waiting for the lock of GPU 0 %s at once",
	         fake_gpu_lock(h_lock, 0));
	ck_assert_msg(tp_count(err, want) == 1, "want '%s' in:\n%s", want, err);
	free(err);
	finish_quietly(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpus");
	TCase *tc = tcase_create("gpus");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, some_gpus_hold_the_machine_shared_and_their_own);
	tcase_add_test(tc, jobs_on_different_gpus_run_at_once);
	tcase_add_test(tc, a_busy_gpu_is_waited_for);
	tcase_add_test(tc, gpus_are_taken_in_uuid_order);
	tcase_add_test(tc, every_gpu_is_the_whole_machine);
	tcase_add_test(tc, the_whole_machine_waits_for_a_job_on_one_gpu);
	tcase_add_test(tc, a_waiting_whole_machine_request_goes_first);
	tcase_add_test(tc, a_job_waiting_for_its_gpu_does_not_hold_the_machine);
	tcase_add_test(tc, no_visible_gpu_takes_no_lock);
	tcase_add_test(tc, an_index_on_mixed_models_takes_the_machine);
	tcase_add_test(tc, no_wait_gives_up_on_a_busy_gpu);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
