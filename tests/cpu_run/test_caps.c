/* What cpu_run does to the job's process: thread caps (and respect for
 * values already set), niceness, I/O class, CPU pinning; and the RAM guard:
 * admission by MemAvailable from a fake meminfo, and --mem-max. */
#include "cpu_run_harness.h"

#include <check.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const thread_vars[] = {
	"OMP_NUM_THREADS",     "OPENBLAS_NUM_THREADS",   "MKL_NUM_THREADS",
	"NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
	"NUMBA_NUM_THREADS",   "GOTO_NUM_THREADS",       "RAYON_NUM_THREADS",
	"POLARS_MAX_THREADS",  "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
	"JULIA_NUM_THREADS",   "GOMAXPROCS",             NULL,
};

static unsigned usable_cpus(void)
{
	cpu_set_t set;

	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

/* The cap without -t or CPU_RUN_THREADS: 3, or fewer where the job may
 * use fewer CPUs. */
static unsigned default_threads(char *buf, size_t len)
{
	unsigned cpus = usable_cpus(), n = cpus < 3 ? cpus : 3;

	snprintf(buf, len, "%u", n);
	return n;
}

/* "cpu_run ARGS cr_job env <every thread variable>" with extra env. */
static char *thread_env(const char *const args[], const char *const extra[])
{
	const char *argv[40];
	int n = 0;
	char *out, *err;

	argv[n++] = t_cpu_run();
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = t_job();
	argv[n++] = "env";
	for (int i = 0; thread_vars[i]; i++)
		argv[n++] = thread_vars[i];
	argv[n] = NULL;
	ck_assert_int_eq(t_run(argv, extra, &out, &err), 0);
	ck_assert_str_eq(err, "");
	free(err);
	return out;
}

static void assert_var(const char *out, const char *var, const char *value)
{
	char want[128];

	snprintf(want, sizeof want, "%s=%s\n", var, value);
	ck_assert_msg(strstr(out, want), "want %s in:\n%s", want, out);
}

/* numba refuses more threads than CPUs it may use: capped there too. */
static void numba_value(unsigned threads, char *buf, size_t len)
{
	unsigned cpus = usable_cpus();

	snprintf(buf, len, "%u", cpus < threads ? cpus : threads);
}

START_TEST(every_thread_variable_is_capped)
{
	static const char *const five[] = {"CPU_RUN_THREADS=5", NULL};
	char numba[16], dflt[16];
	char *out;

	t_setup();
	out = thread_env(NULL, NULL);
	numba_value(default_threads(dflt, sizeof dflt), numba, sizeof numba);
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], strcmp(thread_vars[i], "NUMBA_NUM_THREADS") ? dflt : numba);
	free(out);
	out = thread_env(NULL, five);
	numba_value(5, numba, sizeof numba);
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], strcmp(thread_vars[i], "NUMBA_NUM_THREADS") ? "5" : numba);
	free(out);
	{
		static const char *const t1[] = {"-t", "1", NULL};
		out = thread_env(t1, five);
		for (int i = 0; thread_vars[i]; i++)
			assert_var(out, thread_vars[i], "1");
		free(out);
	}
}
END_TEST

START_TEST(existing_values_are_respected)
{
	static const char *const preset[] = {"OMP_NUM_THREADS=7", "GOMAXPROCS=1",
	                                     "MKL_NUM_THREADS=", NULL};
	static const char *const force[] = {"--force-threads", NULL};
	static const char *const force_env[] = {"CPU_RUN_FORCE_THREADS=1", "OMP_NUM_THREADS=7", NULL};
	char dflt[16];
	char *out;

	t_setup();
	default_threads(dflt, sizeof dflt);
	out = thread_env(NULL, preset);
	assert_var(out, "OMP_NUM_THREADS", "7");
	assert_var(out, "GOMAXPROCS", "1");
	assert_var(out, "MKL_NUM_THREADS", dflt); /* empty is unset */
	assert_var(out, "OPENBLAS_NUM_THREADS", dflt);
	free(out);
	out = thread_env(force, preset);
	assert_var(out, "OMP_NUM_THREADS", dflt);
	assert_var(out, "GOMAXPROCS", dflt);
	free(out);
	out = thread_env(NULL, force_env);
	assert_var(out, "OMP_NUM_THREADS", dflt);
	free(out);
	{
		static const char *const noforce[] = {"--no-force-threads", NULL};
		out = thread_env(noforce, force_env);
		assert_var(out, "OMP_NUM_THREADS", "7");
		free(out);
	}
}
END_TEST

/* As under taskset -c N: the job may use one CPU (children inherit the
 * mask). The default cap is then 1; one given is still honoured, numba's
 * excepted, which refuses more threads than CPUs. */
START_TEST(default_thread_cap_fits_the_cpus_the_job_may_use)
{
	static const char *const five[] = {"CPU_RUN_THREADS=5", NULL};
	static const char *const four[] = {"--threads", "4", NULL};
	static const char *const pin[] = {"--pin", NULL};
	cpu_set_t all, one;
	int first = -1;
	char *out;

	t_setup();
	ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &all))
			first = c;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
	out = thread_env(NULL, NULL);
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], "1");
	free(out);
	out = thread_env(pin, NULL); /* one thread: pinned to the one CPU */
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], "1");
	free(out);
	out = thread_env(NULL, five);
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], strcmp(thread_vars[i], "NUMBA_NUM_THREADS") ? "5" : "1");
	free(out);
	out = thread_env(four, NULL);
	for (int i = 0; thread_vars[i]; i++)
		assert_var(out, thread_vars[i], strcmp(thread_vars[i], "NUMBA_NUM_THREADS") ? "4" : "1");
	free(out);
	ck_assert_int_eq(sched_setaffinity(0, sizeof all, &all), 0);
}
END_TEST

static int count_lines_starting(const char *out, const char *prefix)
{
	int n = 0;

	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

/* The job gets the whole environment, each capped variable once, however
 * long the environment (cpu_run builds the job's environ itself, in place
 * below 256 entries and allocated above), and names that merely begin like
 * a thread variable are left alone. */
START_TEST(the_job_gets_the_whole_environment)
{
	static char vars[300][32];
	const char *extra[304];
	const char *argv[] = {t_cpu_run(), "-t", "2", "/usr/bin/env", NULL};
	char *out, *err, want[48];
	int n = 0;

	t_setup();
	for (int i = 0; i < 300; i++) {
		snprintf(vars[i], sizeof vars[i], "GL_TEST_VAR_%d=v%d", i, i);
		extra[n++] = vars[i];
	}
	extra[n++] = "OMP_NUM=9";
	extra[n++] = "OMP_NUM_THREADS_X=5";
	extra[n++] = "CPU_RUN_ACTIVE=";
	extra[n] = NULL;
	for (int big = 0; big < 2; big++) {
		if (!big)
			extra[100] = NULL; /* 100 variables: the environ fits in place */
		else
			extra[100] = vars[100];
		ck_assert_int_eq(t_run(argv, extra, &out, &err), 0);
		ck_assert_str_eq(err, "");
		for (int i = 0; i < (big ? 300 : 100); i++)
			ck_assert_msg(count_lines_starting(out, vars[i]) == 1, "want %s once in:\n%s",
			              vars[i], out);
		for (int i = 0; big && thread_vars[i]; i++) {
			snprintf(want, sizeof want, "%s=", thread_vars[i]);
			ck_assert_int_eq(count_lines_starting(out, want), 1);
		}
		if (big) {
			assert_var(out, "OMP_NUM_THREADS", "2");
			assert_var(out, "OMP_NUM", "9");
			assert_var(out, "OMP_NUM_THREADS_X", "5");
			ck_assert_int_eq(count_lines_starting(out, "CPU_RUN_ACTIVE="), 1);
			assert_var(out, "CPU_RUN_ACTIVE", "1");
		}
		free(out);
		free(err);
	}
}
END_TEST

/* "PREFIX... cpu_run ARGS... cr_job info": what the job reports. */
static char *info_under(const char *const prefix[], const char *const args[],
                        const char *const extra[])
{
	const char *argv[24];
	int n = 0;
	char *out;

	for (int i = 0; prefix && prefix[i]; i++)
		argv[n++] = prefix[i];
	argv[n++] = t_cpu_run();
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = t_job();
	argv[n++] = "info";
	argv[n] = NULL;
	ck_assert_int_eq(t_run(argv, extra, &out, NULL), 0);
	return out;
}

static char *info(const char *const args[], const char *const extra[])
{
	return info_under(NULL, args, extra);
}

/* What nice(1) makes of our niceness plus adj. */
static int caller_nice(int adj)
{
	int v = getpriority(PRIO_PROCESS, 0) + adj;

	return v < -20 ? -20 : v > 19 ? 19 : v;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* The niceness a job asking for want gets: never less nice than the tests
 * themselves (run under nice -n 10, say). */
static const char *nice_line(int want)
{
	static char line[32];

	snprintf(line, sizeof line, "nice %d\n", max_int(caller_nice(0), want));
	return line;
}

START_TEST(nice_and_idle_io_by_default)
{
	static const char *const five[] = {"--nice", "5", "--no-ionice", NULL};
	static const char *const env[] = {"CPU_RUN_NICE=9", "CPU_RUN_IONICE=0", NULL};
	static const char *const back[] = {"--ionice", NULL};
	char *out;

	t_setup();
	out = info(NULL, NULL);
	ck_assert_msg(strstr(out, nice_line(15)) && strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
	out = info(five, NULL);
	ck_assert_msg(strstr(out, nice_line(5)) && !strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
	out = info(NULL, env);
	ck_assert_msg(strstr(out, nice_line(9)) && !strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
	out = info(back, env);
	ck_assert_msg(strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
}
END_TEST

/* "nice -n ADJ cpu_run ARGS cr_job info": the job's niceness. */
static int job_nice_under(int adj, const char *const args[], const char *const extra[])
{
	char adjs[16], *out, *line;
	const char *const prefix[] = {"nice", "-n", adjs, NULL};
	int nice = 99;

	snprintf(adjs, sizeof adjs, "%d", adj);
	out = info_under(prefix, args, extra);
	line = strstr(out, "nice ");
	ck_assert_msg(line && sscanf(line, "nice %d", &nice) == 1, "%s", out);
	free(out);
	return nice;
}

/* --nice is a floor: the job is never less nice than its caller (even run
 * by root, who could lower it: job_of_root_is_never_less_nice_than_root). */
START_TEST(job_is_never_less_nice_than_its_caller)
{
	static const char *const five[] = {"--nice", "5", NULL};
	static const char *const env12[] = {"CPU_RUN_NICE=12", NULL};

	t_setup();
	ck_assert_int_eq(job_nice_under(19, NULL, NULL), max_int(caller_nice(19), 15));
	ck_assert_int_eq(job_nice_under(10, five, NULL), max_int(caller_nice(10), 5));
	ck_assert_int_eq(job_nice_under(10, NULL, env12), max_int(caller_nice(10), 12));
	ck_assert_int_eq(job_nice_under(0, NULL, NULL), max_int(caller_nice(0), 15));
	/* The warning of a run without a slot says the niceness it runs at. */
	{
		static const char *const hold[] = {"-s", "1", NULL};
		const char *argv[] = {"nice", "-n", "19", t_cpu_run(), "-s", "1", "-w", "0", "-t", "3",
		                      t_job(), "info", NULL};
		struct tp_proc h;
		char *out, *err, want[64];

		t_job_hold(&h, "H", hold, NULL);
		ck_assert_int_eq(t_run(argv, NULL, &out, &err), 0);
		snprintf(want, sizeof want, "nice %d\n", caller_nice(19));
		ck_assert_msg(strstr(out, want), "want %s in %s", want, out);
		snprintf(want, sizeof want, "(threads capped at 3, nice %d)", caller_nice(19));
		ck_assert_msg(strstr(err, want), "want %s in %s", want, err);
		free(out);
		free(err);
		close(h.in);
		ck_assert_int_eq(t_wait(&h, 20), 0);
	}
}
END_TEST

/* Root, who could lower a job's niceness, gets no less nice a job than
 * itself either. Test case "root": only root can start nice(1) below its
 * own niceness. */
START_TEST(job_of_root_is_never_less_nice_than_root)
{
	static const char *const minus10[] = {"--nice", "-10", NULL};

	t_setup();
	if (geteuid() != 0) {
		tp_skip("job_of_root_is_never_less_nice_than_root",
		        "needs root, to start nice(1) below its own niceness");
		return;
	}
	ck_assert_int_eq(job_nice_under(-5, minus10, NULL), max_int(caller_nice(-5), -10));
}
END_TEST

/* The idle class is the lowest, so --ionice never raises the caller's I/O
 * priority; --no-ionice keeps the caller's (ionice(1) from util-linux). */
START_TEST(io_priority_is_never_raised_above_the_callers)
{
	const char *idle_ionice[] = {"ionice", "-c", "3", t_cpu_run(), t_job(), "info", NULL};
	const char *idle_no[] = {"ionice", "-c", "3", t_cpu_run(), "--no-ionice", t_job(), "info", NULL};
	const char *be7[] = {"ionice", "-c", "2", "-n", "7", t_cpu_run(), t_job(), "info", NULL};
	char *out;

	t_setup();
	ck_assert_int_eq(t_run(idle_ionice, NULL, &out, NULL), 0);
	ck_assert_msg(strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
	ck_assert_int_eq(t_run(idle_no, NULL, &out, NULL), 0);
	ck_assert_msg(strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
	ck_assert_int_eq(t_run(be7, NULL, &out, NULL), 0);
	ck_assert_msg(strstr(out, "ioclass 3\n"), "%s", out);
	free(out);
}
END_TEST

START_TEST(pin_binds_threads_cpus_by_slot)
{
	static const char *const pin1[] = {"--pin", "-t", "1", "-s", "2", NULL};
	static const char *const hold[] = {"-s", "2", NULL};
	unsigned cpus = usable_cpus();
	cpu_set_t set;
	int second = -1, seen = 0;
	struct tp_proc h;
	char *out, want[64];

	t_setup();
	out = info(NULL, NULL);
	snprintf(want, sizeof want, "cpus %u ", cpus);
	ck_assert_msg(strstr(out, want), "unpinned by default: %s", out);
	free(out);
	if (cpus < 2)
		return; /* nothing to choose from */
	out = info(pin1, NULL);
	ck_assert_msg(strstr(out, "cpus 1 ") && strstr(out, "held slot1\n"), "%s", out);
	free(out);
	/* Slot 2 gets the next CPU of those allowed. */
	sched_getaffinity(0, sizeof set, &set);
	for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
		if (CPU_ISSET(c, &set) && ++seen == 2)
			second = c;
	t_job_hold(&h, "H", hold, NULL);
	out = info(pin1, NULL);
	snprintf(want, sizeof want, "cpus 1 first %d\n", second);
	ck_assert_msg(strstr(out, want) && strstr(out, "held slot2\n"), "want %s: %s", want, out);
	free(out);
	close(h.in);
	ck_assert_int_eq(t_wait(&h, 20), 0);
	{
		static const char *const many[] = {"--pin", "-t", "64", NULL};
		out = info(many, NULL); /* more threads than CPUs: all of them */
		snprintf(want, sizeof want, "cpus %u ", cpus);
		ck_assert_msg(strstr(out, want), "%s", out);
		free(out);
	}
}
END_TEST

/* ---- memory ---- */

static char meminfo[160], meminfo_env[200];

static void set_meminfo(unsigned long long total_kib, unsigned long long avail_kib)
{
	char text[256];

	snprintf(text, sizeof text,
	         "MemTotal:       %llu kB\nMemFree:         1000 kB\nMemAvailable:   %llu kB\n"
	         "Buffers:          100 kB\n",
	         total_kib, avail_kib);
	tp_write_file(meminfo, text);
}

static void mem_setup(void)
{
	t_setup();
	snprintf(meminfo, sizeof meminfo, "%s/meminfo", t_dir);
	snprintf(meminfo_env, sizeof meminfo_env, "CPU_RUN_MEMINFO_PATH=%s", meminfo);
}

#define GIB (1024ULL * 1024)

START_TEST(mem_avail_admits_when_there_is_enough)
{
	const char *extra[] = {meminfo_env, NULL};
	const char *argv[] = {t_cpu_run(), "--mem-avail", "2G", t_job(), "run", "M", NULL};
	struct tp_proc p;
	char *line;

	mem_setup();
	set_meminfo(16 * GIB, 4 * GIB);
	{
		static const char *const ok[] = {"--mem-avail", "2G", NULL};
		const char *a[] = {t_cpu_run(), ok[0], ok[1], t_job(), "run", "OK", NULL};
		char *err;
		ck_assert_int_eq(t_run(a, extra, NULL, &err), 0);
		ck_assert_str_eq(err, "");
		free(err);
	}
	set_meminfo(16 * GIB, 1 * GIB);
	t_spawn(&p, argv, extra);
	line = tp_read_line(p.err, 20);
	ck_assert_msg(strstr(line, "waiting for memory: MemAvailable is 1 GiB, --mem-avail needs 2 GiB"),
	              "%s", line);
	free(line);
	ck_assert(!tp_readable(p.out));
	set_meminfo(16 * GIB, 3 * GIB);
	line = tp_read_line(p.out, 20);
	ck_assert_msg(line && strncmp(line, "M ", 2) == 0, "%s", line ? line : "EOF");
	free(line);
	line = tp_read_line(p.err, 20);
	ck_assert_msg(strstr(line, "got slot 1 of 3 after"), "%s", line);
	free(line);
	ck_assert_int_eq(t_wait(&p, 20), 0);
}
END_TEST

START_TEST(mem_avail_percent_of_memtotal)
{
	const char *extra[] = {meminfo_env, "CPU_RUN_MEM_AVAIL=25%", NULL};
	const char *argv[] = {t_cpu_run(), "-w", "0.3", "--on-timeout=fail", t_job(), "run", "M", NULL};
	char *err;

	mem_setup();
	set_meminfo(16 * GIB, 4 * GIB); /* exactly 25%: enough */
	ck_assert_int_eq(t_run(argv, extra, NULL, NULL), 0);
	set_meminfo(16 * GIB, 4 * GIB - 1);
	unlink(t_log);
	ck_assert_int_eq(t_run(argv, extra, NULL, &err), 75);
	ck_assert_msg(strstr(err, "not enough memory available (--mem-avail)"), "%s", err);
	free(err);
	ck_assert_msg(access(t_log, F_OK) != 0, "ran short of memory");
	ck_assert_int_eq(t_tickets(), 0);
	{
		/* --mem-avail 0 switches the variable's guard off. */
		const char *off[] = {t_cpu_run(), "--mem-avail", "0", t_job(), "run", "M", NULL};
		ck_assert_int_eq(t_run(off, extra, NULL, NULL), 0);
	}
}
END_TEST

START_TEST(mem_admission_is_one_job_at_a_time)
{
	const char *extra[] = {meminfo_env, NULL};
	const char *a1[] = {t_cpu_run(), "-s", "2", "--mem-avail", "2G", t_job(), "run", "A", NULL};
	const char *a2[] = {t_cpu_run(), "-s", "2", "--mem-avail", "2G", t_job(), "run", "B", NULL};
	struct tp_proc p1, p2;
	char *line;

	mem_setup();
	set_meminfo(16 * GIB, 1 * GIB);
	t_spawn(&p1, a1, extra);
	line = tp_read_line(p1.err, 20); /* waiting for memory, as the head, with its slot */
	free(line);
	t_wait_lock(t_slot(1), p1.pid, false);
	t_spawn(&p2, a2, extra);
	t_wait_ticket(p2.pid);
	/* The second one queues behind the first, not beside it: slot 2 stays
	 * free, and it does not look at memory until the first has started. */
	ck_assert(!tp_lock_state(t_slot(2), p2.pid, false));
	ck_assert(!tp_lock_state(t_slot(2), p2.pid, true));
	set_meminfo(16 * GIB, 8 * GIB);
	line = tp_read_line(p1.out, 20);
	ck_assert_msg(line && strncmp(line, "A ", 2) == 0, "%s", line ? line : "EOF");
	free(line);
	line = tp_read_line(p2.out, 20);
	ck_assert_msg(line && strncmp(line, "B ", 2) == 0, "%s", line ? line : "EOF");
	free(line);
	ck_assert_int_eq(t_wait(&p1, 20), 0);
	ck_assert_int_eq(t_wait(&p2, 20), 0);
}
END_TEST

/* More than MemTotal can never be available: a typo (500T for 500G), refused
 * before anyone waits, not after the whole max-wait (an hour by default). */
START_TEST(mem_avail_above_memtotal_is_refused_at_once)
{
	const char *a500t[] = {t_cpu_run(), "--mem-avail", "500T", t_job(), "run", "M", NULL};
	const char *plain[] = {t_cpu_run(), t_job(), "run", "M", NULL};
	const char *e17[] = {meminfo_env, "CPU_RUN_MEM_AVAIL=17G", NULL};
	const char *e2[] = {meminfo_env, "CPU_RUN_MEM_AVAIL=2G", NULL};
	const char *extra[] = {meminfo_env, NULL};
	char *out, *err;

	mem_setup();
	set_meminfo(16 * GIB, 4 * GIB);
	ck_assert_int_eq(t_run(a500t, extra, &out, &err), 125);
	ck_assert_str_eq(err, "cpu_run: --mem-avail='500T': more than MemTotal (16 GiB): the job "
	                      "could never start\nTry 'cpu_run --help'.\n");
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
	ck_assert_int_eq(t_run(plain, e17, NULL, &err), 125);
	ck_assert_str_eq(err, "cpu_run: CPU_RUN_MEM_AVAIL='17G': more than MemTotal (16 GiB): the "
	                      "job could never start\nTry 'cpu_run --help'.\n");
	free(err);
	ck_assert_int_eq(t_run(a500t, e2, NULL, &err), 125); /* the option overrides it */
	ck_assert_msg(strncmp(err, "cpu_run: --mem-avail='500T': ", 29) == 0, "%s", err);
	free(err);
	ck_assert_msg(access(t_log, F_OK) != 0, "the command ran");
	/* All of MemTotal, or 100%, is possible in principle: waited for. */
	{
		const char *all[] = {t_cpu_run(), "-w", "0", "--on-timeout=fail", "--mem-avail", "16G",
		                     t_job(), "run", "M", NULL};
		const char *pct[] = {t_cpu_run(), "-w", "0", "--on-timeout=fail", "--mem-avail", "100%",
		                     t_job(), "run", "M", NULL};

		ck_assert_int_eq(t_run(all, extra, NULL, &err), 75);
		ck_assert_msg(strstr(err, "not enough memory available (--mem-avail)"), "%s", err);
		free(err);
		ck_assert_int_eq(t_run(pct, extra, NULL, NULL), 75);
	}
}
END_TEST

START_TEST(unreadable_meminfo_is_a_setup_error)
{
	static const char *const extra[] = {"CPU_RUN_MEMINFO_PATH=/nonexistent/meminfo", NULL};
	const char *argv[] = {t_cpu_run(), "--mem-avail", "1G", t_job(), "run", "M", NULL};
	char *err;

	t_setup();
	ck_assert_int_eq(t_run(argv, extra, NULL, &err), 125);
	ck_assert_msg(strstr(err, "cannot read /nonexistent/meminfo"), "%s", err);
	free(err);
	ck_assert_msg(access(t_log, F_OK) != 0, "the command ran");
}
END_TEST

/* --mem-max, where a job can be capped (systemd-run --user, or a cgroup v2
 * memory controller of ours): the job runs under the cap. Test case
 * "memcap", skipped elsewhere. */
START_TEST(mem_max_caps_before_running)
{
	const char *argv[] = {t_cpu_run(), "--mem-max", "256M", t_job(), "cgroup", NULL};
	char *out, *err, why[8300];
	int status;

	t_setup();
	if (!t_can_cap_memory(why, sizeof why)) {
		tp_skip("mem_max_caps_before_running", why);
		return;
	}
	status = t_run(argv, NULL, &out, &err);
	ck_assert_msg(status == 0, "exit %d (%s): %s", status, why, err);
	ck_assert_msg(strstr(out, "memory.max 268435456\n"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* --mem-max, where no job can be capped (no cgroup v2 memory controller of
 * ours and no systemd user manager): refused, clearly, and nothing ran.
 * Test case "no-memcap", skipped where memory can be capped. */
START_TEST(mem_max_refuses_before_running)
{
	const char *argv[] = {t_cpu_run(), "--mem-max", "256M", t_job(), "cgroup", NULL};
	char *out, *err, why[8300];
	int status;

	t_setup();
	if (t_can_cap_memory(why, sizeof why)) {
		tp_skip("mem_max_refuses_before_running", why);
		return;
	}
	status = t_run(argv, NULL, &out, &err);
	ck_assert_msg(status == 125, "exit %d, not 125 (%s): %s", status, why, err);
	ck_assert_msg(strstr(err, "--mem-max 256 MiB: cannot cap memory here:"), "%s", err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
}
END_TEST

Suite *caps_suite(void);
Suite *caps_suite(void)
{
	Suite *s = suite_create("caps");
	TCase *threads = tcase_create("threads and politeness");
	TCase *mem = tcase_create("memory");
	TCase *root = tcase_create("root"); /* skipped where the tests do not run as root */
	TCase *memcap = tcase_create("memcap");
	TCase *no_memcap = tcase_create("no-memcap");

	tcase_add_test(threads, every_thread_variable_is_capped);
	tcase_add_test(threads, existing_values_are_respected);
	tcase_add_test(threads, the_job_gets_the_whole_environment);
	tcase_add_test(threads, default_thread_cap_fits_the_cpus_the_job_may_use);
	tcase_add_test(threads, nice_and_idle_io_by_default);
	tcase_add_test(threads, job_is_never_less_nice_than_its_caller);
	tcase_add_test(threads, io_priority_is_never_raised_above_the_callers);
	tcase_add_test(threads, pin_binds_threads_cpus_by_slot);
	tcase_add_test(mem, mem_avail_admits_when_there_is_enough);
	tcase_add_test(mem, mem_avail_percent_of_memtotal);
	tcase_add_test(mem, mem_admission_is_one_job_at_a_time);
	tcase_add_test(mem, mem_avail_above_memtotal_is_refused_at_once);
	tcase_add_test(mem, unreadable_meminfo_is_a_setup_error);
	tcase_set_timeout(threads, 60);
	tcase_set_timeout(mem, 60);
	tcase_add_checked_fixture(threads, NULL, t_teardown);
	suite_add_tcase(s, threads);
	tcase_add_checked_fixture(mem, NULL, t_teardown);
	suite_add_tcase(s, mem);
	/* Conditional cases, each a meson test of its own (see doc/HACKING.md):
	 * root's, and --mem-max, which caps or refuses as the machine allows. */
	tcase_add_test(memcap, mem_max_caps_before_running);
	tcase_add_test(no_memcap, mem_max_refuses_before_running);
	tcase_add_test(root, job_of_root_is_never_less_nice_than_root);
	for (TCase **tc = (TCase *[]){root, memcap, no_memcap, NULL}; *tc; tc++) {
		tcase_set_tags(*tc, "conditional");
		tcase_set_timeout(*tc, 60);
		tcase_add_checked_fixture(*tc, NULL, t_teardown);
		suite_add_tcase(s, *tc);
	}
	return s;
}
