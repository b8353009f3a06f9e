/* Long waits are not silent: the preload, gpulock wait and cpu_run each
 * repeat a reminder line, the first after a minute of waiting. All three
 * wait side by side, so the suite spends that minute once. */
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first line of fd that contains needle, within timeout seconds. */
static char *line_with(int fd, const char *needle, double timeout)
{
	char *line;

	while ((line = tp_read_line(fd, timeout)) && !strstr(line, needle))
		free(line);
	ck_assert_msg(line, "ended without a line with '%s'", needle);
	return line;
}

/* The command a process of ours shows: under valgrind, valgrind's. */
static const char *shown(const char *command)
{
	return getenv("GL_UNDER_VALGRIND") ? "" : command;
}

/* The GPU lock's first reminder, from pid, number place of 2 waiting. */
static void expect_gpu_reminder(int fd, pid_t pid, int place, pid_t holder, double timeout)
{
	char want[4096], *line = line_with(fd, "still waiting", timeout);

	snprintf(want, sizeof want,
	         "gpulock: pid %d still waiting for the GPU lock %s after 1m00s (number %d of 2 "
	         "waiting); held by pid %d (%s",
	         (int)pid, h_lock, place, (int)holder, shown(h_artifact("GL_CLIENT_DLSYM")));
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "got:  %s\nwant: %s...", line, want);
	free(line);
}

START_TEST(each_waiter_reminds_after_a_minute)
{
	char slots[1024], slot1[1100], want[4096], *line;
	const char *client[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *wait[] = {h_artifact("GL_GPULOCK"), "wait", NULL};
	const char *slot_holder_argv[] = {"flock", slot1, "cat", NULL};
	const char *queued[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", slots, "true", NULL};
	struct tp_proc holder, slot_holder, gpu, waiter, cpu;

	h_setup();
	snprintf(slots, sizeof slots, "%s/slots", h_dir);
	snprintf(slot1, sizeof slot1, "%s/slot1", slots);
	ck_assert_int_eq(mkdir(slots, 01777), 0);
	h_start_gpu_holder(&holder);
	h_spawn(&slot_holder, slot_holder_argv, NULL, false);
	h_wait_holder(slot1, slot_holder.pid);

	/* In this order, so that the places among the lock's waiters are known. */
	h_spawn(&gpu, client, NULL, true);
	close(gpu.in);
	h_wait_waiter(h_lock, gpu.pid);
	h_spawn(&waiter, wait, NULL, false);
	close(waiter.in);
	h_wait_waiter(h_lock, waiter.pid);
	h_spawn(&cpu, queued, NULL, false);
	close(cpu.in);

	expect_gpu_reminder(gpu.err, gpu.pid, 1, holder.pid, 120);
	expect_gpu_reminder(waiter.err, waiter.pid, 2, holder.pid, 30);

	line = line_with(cpu.err, "still waiting", 30);
	snprintf(want, sizeof want,
	         "cpu_run: pid %d still waiting after 1m00s for one of 1 slots in %s (next in line); "
	         "held by slot1: pid %d (flock %s cat)",
	         (int)cpu.pid, slots, (int)slot_holder.pid, slot1);
	ck_assert_msg(strcmp(line, want) == 0, "got:  %s\nwant: %s", line, want);
	free(line);

	close(holder.in);
	close(slot_holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(slot_holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(gpu.pid, 30), 0);
	ck_assert_int_eq(tp_wait(waiter.pid, 30), 0);
	ck_assert_int_eq(tp_wait(cpu.pid, 30), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reminders");
	TCase *tc = tcase_create("reminders");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, each_waiter_reminds_after_a_minute);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
