/* Long waits are not silent: the preload, gpulock wait and cpu_run each
 * repeat a reminder line, the first after a minute of waiting. All three
 * wait side by side, so the suite spends that minute once. */
#include "harness.h"
#include "procs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads fd until a line containing needle has come, or fails after timeout
 * seconds. Returns all that was read (malloc'd). */
static char *read_until_line(int fd, const char *needle, double timeout)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	double end = tp_now() + timeout;

	ck_assert_ptr_nonnull(buf);
	buf[0] = '\0';
	while (!(strstr(buf, needle) && strchr(strstr(buf, needle), '\n'))) {
		ssize_t r;

		ck_assert_msg(tp_now() < end, "no line with '%s' after %.0fs:\n%s", needle, timeout,
		              buf);
		ck_assert_msg(n + 1 < cap, "too much output:\n%s", buf);
		r = read(fd, buf + n, cap - n - 1); /* blocks: the child writes or exits */
		ck_assert_msg(r > 0, "ended without a line with '%s':\n%s", needle, buf);
		n += (size_t)r;
		buf[n] = '\0';
	}
	return buf;
}

/* The command a process of ours shows: under valgrind, valgrind's. */
static const char *shown(const char *command)
{
	return getenv("GL_UNDER_VALGRIND") ? "" : command;
}

/* The line of text that contains needle, without its '\n' (malloc'd). */
static char *line_with(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *start = p;

	ck_assert_ptr_nonnull(p);
	while (start > text && start[-1] != '\n')
		start--;
	return strndup(start, strcspn(start, "\n"));
}

START_TEST(each_waiter_reminds_after_a_minute)
{
	char slots[1024], slot1[1100], want[4096], *err, *line;
	const char *client[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *wait[] = {h_artifact("GL_GPULOCK"), "wait", NULL};
	const char *slot_holder_argv[] = {"flock", slot1, "cat", NULL};
	const char *queued[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", slots, "true", NULL};
	struct child holder, slot_holder, gpu, waiter, cpu;

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

	err = read_until_line(gpu.err, "still waiting", 120);
	line = line_with(err, "still waiting");
	snprintf(want, sizeof want,
	         "gpulock: pid %d still waiting for the GPU lock %s after 1m00s (number 1 of 2 "
	         "waiting); held by pid %d (%s",
	         (int)gpu.pid, h_lock, (int)holder.pid, shown(client[0]));
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "got:  %s\nwant: %s...", line, want);
	free(line);
	free(err);

	err = read_until_line(waiter.err, "still waiting", 30);
	line = line_with(err, "still waiting");
	snprintf(want, sizeof want,
	         "gpulock: pid %d still waiting for the GPU lock %s after 1m00s (number 2 of 2 "
	         "waiting); held by pid %d (%s",
	         (int)waiter.pid, h_lock, (int)holder.pid, shown(client[0]));
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "got:  %s\nwant: %s...", line, want);
	free(line);
	free(err);

	err = read_until_line(cpu.err, "still waiting", 30);
	line = line_with(err, "still waiting");
	snprintf(want, sizeof want,
	         "cpu_run: pid %d still waiting after 1m00s for one of 1 slots in %s (next in line); "
	         "held by slot1: pid %d (flock %s cat)",
	         (int)cpu.pid, slots, (int)slot_holder.pid, slot1);
	ck_assert_msg(strcmp(line, want) == 0, "got:  %s\nwant: %s", line, want);
	free(line);
	free(err);

	close(holder.in);
	close(slot_holder.in);
	ck_assert_int_eq(h_wait(&holder, 30), 0);
	ck_assert_int_eq(h_wait(&slot_holder, 30), 0);
	ck_assert_int_eq(h_wait(&gpu, 30), 0);
	ck_assert_int_eq(h_wait(&waiter, 30), 0);
	ck_assert_int_eq(h_wait(&cpu, 30), 0);
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
