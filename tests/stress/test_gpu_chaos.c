/* The multi-GPU chaos run (gpu_stress.c) on 4 fake GPUs (fake_gpus.h: a
 * mount namespace with its own /proc/driver as root, the fake NVML
 * otherwise; skipped where neither works). GL_GPU_CHAOS_SECONDS (default
 * 30) sets how long jobs are started, GL_GPU_CHAOS_WORKERS (default 6) how
 * many loops start them; each job must be done within GL_GPU_CHAOS_BOUND
 * seconds (default 20) of its start. GL_GPU_CHAOS_GROUPS=1 (the meson test
 * gpu-chaos-groups) is the group variant: multi-process jobs in the mix. */
#include "fake_gpus.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GPUS 4

static double setting(const char *name, double fallback)
{
	const char *v = getenv(name);

	return v && atof(v) > 0 ? atof(v) : fallback;
}

START_TEST(gpu_chaos)
{
	double seconds = setting("GL_GPU_CHAOS_SECONDS", 30), deadline;
	double bound = setting("GL_GPU_CHAOS_BOUND", 20) * tp_scale();
	int workers = (int)setting("GL_GPU_CHAOS_WORKERS", tp_scale() > 1 ? 2 : 6);
	char uuids[GPUS * 64] = "", env_uuids[GPUS * 64 + 32], env_gpulock[4200], env_run[4200];
	char workers_arg[16], seconds_arg[32], bound_arg[16], *out, *err;
	bool groups = getenv("GL_GPU_CHAOS_GROUPS") && strcmp(getenv("GL_GPU_CHAOS_GROUPS"), "1") == 0;
	const char *extra[] = {env_uuids, env_gpulock, env_run, groups ? "GPU_STRESS_GROUPS=1" : NULL,
	                       NULL};
	const char *argv[] = {h_artifact("GL_GPU_STRESS"), "chaos", workers_arg, seconds_arg,
	                      bound_arg, NULL};
	struct tp_proc c;

	/* Under memcheck every job starts tens of times slower and the chaos
	 * stops them all the time: a group job's ranks then miss their
	 * barrier's bound and valgrind's own fds break the fd checks, which
	 * measures valgrind. The normal and sanitizer builds run it. */
	if (getenv("GL_UNDER_VALGRIND")) {
		tp_skip(__func__, "not under valgrind (the normal and sanitizer builds run it)");
		return;
	}
	int status;

	h_setup();
	if (!fake_gpus(__func__, GPUS, NULL))
		return;
	for (unsigned i = 0; i < GPUS; i++)
		snprintf(uuids + strlen(uuids), sizeof uuids - strlen(uuids), "%s%s", i ? "," : "",
		         fake_gpu_uuid(i));
	snprintf(env_uuids, sizeof env_uuids, "GPU_STRESS_UUIDS=%s", uuids);
	snprintf(env_gpulock, sizeof env_gpulock, "GPU_STRESS_GPULOCK=%s", h_artifact("GL_GPULOCK"));
	snprintf(env_run, sizeof env_run, "GPU_STRESS_GPU_RUN=%s", h_artifact("GL_SEED_GPU_RUN"));
	snprintf(workers_arg, sizeof workers_arg, "%d", workers);
	snprintf(seconds_arg, sizeof seconds_arg, "%g", seconds);
	snprintf(bound_arg, sizeof bound_arg, "%g", bound);
	/* gpu_stress stops starting jobs after seconds, waits at most the bound
	 * for the last ones, and then some: past that, it hangs. */
	deadline = seconds + bound + 60;
	h_spawn(&c, argv, extra, true);
	close(c.in);
	tp_collect_within(c.out, c.err, &out, &err, deadline);
	status = tp_wait(c.pid, 30);
	close(c.out);
	close(c.err);
	fprintf(stderr, "fake GPUs through %s\n%s%s", fake_gpus_source(), err, out);
	ck_assert_msg(status == 0, "exit %d", status);
	ck_assert_msg(strstr(out, "overlaps=0 whole_overlaps=0 fifo_breaks=0 fd_breaks=0 failed=0 "
	                          "late=0 unfinished=0 strays=0 leftover_locks=0 "),
	              "%s", out);
	if (groups)
		ck_assert_msg(strstr(out, " deadlocks=0 ") && strstr(out, " stale_job_files=0 ") &&
		                      strstr(out, " other_files=0 leftover_locks_after=0 final_job=ok"),
		              "%s", out);
	free(out);
	free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpu_chaos");
	TCase *tc = tcase_create("gpu_chaos");

	tcase_add_test(tc, gpu_chaos);
	tcase_set_timeout(tc, 3600); /* the run has deadlines of its own */
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
