/* cpu_run's settings as a user writes them: an empty variable means its
 * default, for every CPU_RUN_* variable; durations take units, and
 * "forever" waits with no deadline. */
#include "cpu_run_harness.h"

#include <check.h>
#include <fcntl.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16

/* ---- an empty variable means its default ---- */

static char meminfo_env[200];
static const char *const EXIT0[] = {"exit", "0", NULL};
static const char *const INFO[] = {"info", NULL};

static bool two_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

static bool below_nice_19(void)
{
	return getpriority(PRIO_PROCESS, 0) < 19;
}

static bool io_not_idle(void)
{
	return syscall(SYS_ioprio_get, 1, 0) >> 13 != 3; /* IOPRIO_CLASS_IDLE */
}

/* Each row: a probe (cpu_run ARGS cr_job JOB with BASE in the environment)
 * whose outcome shows the variable's value: the same with VAR= as without
 * VAR, and different with VAR=other, where tells() (NULL: always) says
 * this machine can show the difference. Slot 1 is held by the test itself
 * throughout: a busy slot for the queue's variables, an ancestor's slot
 * for CPU_RUN_ACTIVE. wait: the outcome is whether cpu_run waits for the
 * slot (then it is killed) or exits. */
struct empty_row {
	const char *var, *other;
	const char *args[MAX_ARGS];
	const char *const *job;
	const char *base[3];
	bool (*tells)(void);
	bool wait;
};

static const struct empty_row empty_rows[] = {
	{"CPU_RUN_SLOTS", "1", {"-w", "0", NULL}, INFO, {NULL}, NULL, false},
	{"CPU_RUN_THREADS", "7", {NULL}, (const char *const[]){"env", "GOMAXPROCS", NULL}, {NULL},
	 NULL, false},
	/* The default, /tmp/cpu_run_slots, is outside the test's directory: a
	 * command that does not exist stops cpu_run before it is used, after
	 * the setting has been read. */
	{"CPU_RUN_SLOT_DIR", "relative", {"no-such-command-for-cpu-run", NULL}, NULL, {NULL}, NULL, false},
	{"CPU_RUN_ON_TIMEOUT", "fail", {"-s", "1", "-w", "0", NULL}, EXIT0, {NULL}, NULL, false},
	{"CPU_RUN_MEM_AVAIL", "2G", {"-w", "0", "--on-timeout=fail", NULL}, EXIT0, {meminfo_env, NULL},
	 NULL, false},
	{"CPU_RUN_MEM_MAX", "256M", {NULL}, (const char *const[]){"cgroup", NULL}, {NULL}, NULL, false},
	{"CPU_RUN_FORCE_THREADS", "1", {NULL}, (const char *const[]){"env", "OMP_NUM_THREADS", NULL},
	 {"OMP_NUM_THREADS=7", NULL}, NULL, false},
	{"CPU_RUN_PIN", "1", {"-t", "1", NULL}, INFO, {NULL}, two_cpus, false},
	{"CPU_RUN_NICE", "19", {NULL}, INFO, {NULL}, below_nice_19, false},
	{"CPU_RUN_IONICE", "0", {NULL}, INFO, {NULL}, io_not_idle, false},
	/* Waits 0.1 s for the held slot: the waiting line, unless quiet. */
	{"CPU_RUN_QUIET", "1", {"-s", "1", "-w", "0.1", NULL}, EXIT0, {NULL}, NULL, false},
	{"CPU_RUN_MEMINFO_PATH", "/nonexistent/meminfo", {"--mem-avail", "1M", NULL}, EXIT0, {NULL},
	 NULL, false},
	/* Set: run inside the test's slot, as a nested run; else no wait and
	 * no slot: exit 75. */
	{"CPU_RUN_ACTIVE", "1", {"-s", "1", "-w", "0", "--on-timeout=fail", NULL}, EXIT0, {NULL}, NULL,
	 false},
	/* The default, an hour: it waits. Last: the waiter it kills leaves its
	 * ticket file, which sends the launchers after it through the queue. */
	{"CPU_RUN_MAXWAIT", "0", {"-s", "1", "--on-timeout=fail", NULL}, EXIT0, {NULL}, NULL, true},
};

/* stderr names pids and times: its digits are not part of the outcome. */
static void blur_digits(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++)
		if (*r < '0' || *r > '9' || w == s || w[-1] != '#')
			*w++ = *r >= '0' && *r <= '9' ? '#' : *r;
	*w = '\0';
}

/* Whether the queued cpu_run waits on slot 1 (killed then) or exits. */
static char *wait_outcome(const char *const argv[], const char *const extra[])
{
	double deadline = tp_now() + 20 * tp_scale();
	char *text = malloc(64);
	struct tp_proc p;
	int status;

	t_spawn(&p, argv, extra);
	close(p.in);
	p.in = -1;
	for (;;) {
		pid_t w = waitpid(p.pid, &status, WNOHANG);

		ck_assert_int_ge(w, 0);
		if (w == p.pid) {
			snprintf(text, 64, "exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			close(p.out);
			close(p.err);
			return text;
		}
		if (tp_lock_state(t_slot(1), p.pid, true)) {
			kill(p.pid, SIGKILL);
			t_wait(&p, 20);
			snprintf(text, 64, "waits for slot 1");
			return text;
		}
		ck_assert_msg(tp_now() < deadline, "neither waits nor exits");
		usleep(1000);
	}
}

/* The probe of row with setting ("VAR=value") first in its environment,
 * or without the variable: its exit status and output. */
static char *outcome(const struct empty_row *row, const char *setting)
{
	const char *argv[MAX_ARGS + 8], *extra[8];
	int n = 0, e = 0, status;
	char *out, *err, *text;
	size_t len;

	if (setting)
		extra[e++] = setting;
	for (int i = 0; row->base[i]; i++)
		extra[e++] = row->base[i];
	extra[e] = NULL;
	argv[n++] = t_cpu_run();
	for (int i = 0; row->args[i]; i++)
		argv[n++] = row->args[i];
	if (row->job) {
		argv[n++] = t_job();
		for (int i = 0; row->job[i]; i++)
			argv[n++] = row->job[i];
	}
	argv[n] = NULL;
	if (row->wait)
		return wait_outcome(argv, extra);
	status = t_run(argv, extra, &out, &err);
	blur_digits(err);
	len = strlen(out) + strlen(err) + 64;
	text = malloc(len);
	snprintf(text, len, "exit %d\nstdout:\n%sstderr:\n%s", status, out, err);
	free(out);
	free(err);
	return text;
}

/* Every CPU_RUN_ variable that --help names has a row. */
static void assert_rows_cover_the_help(void)
{
	const char *argv[] = {t_cpu_run(), "--help", NULL};
	regex_t re;
	regmatch_t m;
	char *out, name[64];

	ck_assert_int_eq(t_run(argv, NULL, &out, NULL), 0);
	ck_assert_int_eq(regcomp(&re, "CPU_RUN_[A-Z_]*[A-Z]", REG_EXTENDED), 0);
	for (const char *p = out; regexec(&re, p, 1, &m, 0) == 0; p += m.rm_eo) {
		bool found = false;

		snprintf(name, sizeof name, "%.*s", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
		for (size_t i = 0; i < sizeof empty_rows / sizeof *empty_rows; i++)
			found |= strcmp(empty_rows[i].var, name) == 0;
		ck_assert_msg(found, "%s, in --help, has no row", name);
	}
	regfree(&re);
	free(out);
}

START_TEST(empty_variables_mean_their_defaults)
{
	char meminfo[160], empty[64], other[128];
	int fd;

	t_setup();
	snprintf(meminfo, sizeof meminfo, "%s/meminfo", t_dir);
	tp_write_file(meminfo, "MemTotal:       16777216 kB\nMemAvailable:    1048576 kB\n");
	snprintf(meminfo_env, sizeof meminfo_env, "CPU_RUN_MEMINFO_PATH=%s", meminfo);
	assert_rows_cover_the_help();
	{
		const char *argv[] = {t_cpu_run(), t_job(), "exit", "0", NULL}; /* makes the slots */
		ck_assert_int_eq(t_run(argv, NULL, NULL, NULL), 0);
	}
	fd = open(t_slot(1), O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	for (size_t i = 0; i < sizeof empty_rows / sizeof *empty_rows; i++) {
		const struct empty_row *row = &empty_rows[i];
		char *unset, *blank, *set;

		snprintf(empty, sizeof empty, "%s=", row->var);
		snprintf(other, sizeof other, "%s=%s", row->var, row->other);
		unset = outcome(row, NULL);
		blank = outcome(row, empty);
		set = outcome(row, other);
		ck_assert_msg(strcmp(unset, blank) == 0, "%s: unset:\n%s\nempty:\n%s", empty, unset, blank);
		if (!row->tells || row->tells())
			ck_assert_msg(strcmp(unset, set) != 0, "%s: the probe does not show it:\n%s", other,
			              set);
		free(unset);
		free(blank);
		free(set);
	}
	close(fd);
}
END_TEST

/* ---- durations ---- */

/* forever: no deadline. A second waiter queued behind it with half a second
 * gives up, as asked; the first still waits, and runs once the slot frees. */
START_TEST(max_wait_forever_waits_until_a_slot_frees)
{
	static const char *const hold[] = {"-s", "1", NULL};
	static const char *const flag[] = {"-w", "forever", NULL};
	static const char *const var_env[] = {"CPU_RUN_MAXWAIT=forever", NULL};

	t_setup();
	for (int how = 0; how < 2; how++) {
		const char *argv[12], *targv[] = {t_cpu_run(), "-s", "1", "-w", "0.5",
		                                  "--on-timeout=fail", t_job(), "run", "T", NULL};
		struct tp_proc h, f, t;
		char *line, *err;
		int n = 0;

		argv[n++] = t_cpu_run();
		argv[n++] = "-s";
		argv[n++] = "1";
		argv[n++] = "--on-timeout=fail";
		for (int i = 0; how == 0 && flag[i]; i++)
			argv[n++] = flag[i];
		argv[n++] = t_job();
		argv[n++] = "run";
		argv[n++] = "F";
		argv[n] = NULL;
		t_job_hold(&h, "H", hold, NULL);
		t_spawn(&f, argv, how ? var_env : NULL);
		t_wait_lock(t_slot(1), f.pid, true);
		t_spawn(&t, targv, NULL);
		t_wait_follows(t.pid, f.pid);
		ck_assert_int_eq(t_wait(&t, 20), 75);
		ck_assert_msg(tp_lock_state(t_slot(1), f.pid, true), "the forever waiter stopped waiting");
		ck_assert(!tp_readable(f.out));
		close(h.in);
		h.in = -1;
		ck_assert_int_eq(t_wait(&h, 20), 0);
		line = tp_read_line(f.out, 20);
		ck_assert_msg(line && strncmp(line, "F ", 2) == 0, "%s", line ? line : "EOF");
		free(line);
		err = tp_read_all(f.err);
		ck_assert_int_eq(tp_count(err, "cpu_run:"), 2);
		ck_assert_int_eq(tp_count(err, "waiting for one of 1 slots"), 1);
		ck_assert_int_eq(tp_count(err, "got slot 1 of 1 after"), 1);
		free(err);
		ck_assert_int_eq(t_wait(&f, 20), 0);
		ck_assert_int_eq(t_tickets(), 0);
	}
}
END_TEST

/* 1m30s and 1h are accepted (a free slot: the job runs at once, silently);
 * 0s still means do not wait; 0.3s waits that long, then gives up. */
START_TEST(max_wait_takes_units)
{
	static const char *const hold[] = {"-s", "1", NULL};
	static const char *const var_env[] = {"CPU_RUN_MAXWAIT=1h", NULL};
	const char *units[] = {t_cpu_run(), "--max-wait", "1m30s", t_job(), "exit", "0", NULL};
	const char *var[] = {t_cpu_run(), t_job(), "exit", "0", NULL};
	const char *zero[] = {t_cpu_run(), "-s", "1", "-w", "0s", t_job(), "exit", "0", NULL};
	const char *short_wait[] = {t_cpu_run(), "-s", "1", "-w", "0.3s", "--on-timeout=fail",
	                            t_job(), "exit", "0", NULL};
	struct tp_proc h;
	double t0;
	char *err;

	t_setup();
	ck_assert_int_eq(t_run(units, NULL, NULL, &err), 0);
	ck_assert_str_eq(err, "");
	free(err);
	ck_assert_int_eq(t_run(var, var_env, NULL, &err), 0);
	ck_assert_str_eq(err, "");
	free(err);
	t_job_hold(&h, "H", hold, NULL);
	ck_assert_int_eq(t_run(zero, NULL, NULL, &err), 0);
	ck_assert_msg(tp_count(err, "cpu_run:") == 1 && strstr(err, "running without a slot anyway"),
	              "%s", err);
	free(err);
	t0 = tp_now();
	ck_assert_int_eq(t_run(short_wait, NULL, NULL, &err), 75);
	ck_assert_msg(tp_now() - t0 >= 0.3, "gave up after %.3fs", tp_now() - t0);
	ck_assert_msg(strstr(err, "gave up after"), "%s", err);
	free(err);
	close(h.in);
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

Suite *settings_suite(void);
Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *empty = tcase_create("empty variables");
	TCase *durations = tcase_create("durations");

	tcase_add_test(empty, empty_variables_mean_their_defaults);
	tcase_add_test(durations, max_wait_forever_waits_until_a_slot_frees);
	tcase_add_test(durations, max_wait_takes_units);
	tcase_set_timeout(empty, 120);
	tcase_set_timeout(durations, 60);
	tcase_add_checked_fixture(empty, NULL, t_teardown);
	suite_add_tcase(s, empty);
	tcase_add_checked_fixture(durations, NULL, t_teardown);
	suite_add_tcase(s, durations);
	return s;
}
