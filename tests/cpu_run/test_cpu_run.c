/* cpu_run, run for real: exit codes, bad input, compatibility with the
 * original cpu_run.sh and flock(1), first-come-first-served order, kill -9
 * of jobs and of waiters, thread caps, politeness, memory admission and the
 * max-wait policies. Every test has a hard timeout and synchronises on lock
 * states in /proc/locks or on lines from pipes, never on sleeps. */
#include "cpu_run_harness.h"
#include "procs.h"
#include "gl_slots.h"

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cpu_run [args] cr_job ARGS...: exit status, stdout and stderr. */
static int cpu_run(const char *const args[], const char *const job[], const char *const extra[],
                   char **out, char **err)
{
	const char *argv[48];
	int n = 0;

	argv[n++] = t_cpu_run();
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	if (job) {
		argv[n++] = t_job();
		for (int i = 0; job[i]; i++)
			argv[n++] = job[i];
	}
	argv[n] = NULL;
	return t_run(argv, extra, out, err);
}

static const char *const JOB_MARK[] = {"run", "MARK", NULL};

/* The job never ran: it would have logged. */
static void assert_not_run(void)
{
	ck_assert_msg(access(t_log, F_OK) != 0, "the command ran");
}

/* "OMP_NUM_THREADS=N\n" for the default cap: 3, or the CPUs we may use. */
static const char *default_threads_line(void)
{
	static char line[32];
	cpu_set_t set;
	int cpus;

	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	cpus = CPU_COUNT(&set);
	snprintf(line, sizeof line, "OMP_NUM_THREADS=%d\n", cpus < 3 ? cpus : 3);
	return line;
}

/* ---- exit codes ---- */

START_TEST(exit_status_is_the_commands)
{
	static const char *const job7[] = {"exit", "7", NULL};
	static const char *const job0[] = {"exit", "0", NULL};
	char *err;

	t_setup();
	ck_assert_int_eq(cpu_run(NULL, job7, NULL, NULL, &err), 7);
	ck_assert_str_eq(err, ""); /* a free slot: not a word */
	free(err);
	ck_assert_int_eq(cpu_run(NULL, job0, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(death_by_signal_is_the_commands)
{
	const char *argv[] = {t_cpu_run(), "sh", "-c", "kill -TERM $$", NULL};
	struct tp_proc p;

	t_setup();
	t_spawn(&p, argv, NULL);
	ck_assert_int_eq(t_wait(&p, 20), 128 + SIGTERM); /* exec: no parent to translate it */
}
END_TEST

START_TEST(command_not_found_is_127)
{
	static const char *const a1[] = {"no-such-command-for-cpu-run", NULL};
	static const char *const a2[] = {"./no/such/file", NULL};
	char *err;

	t_setup();
	ck_assert_int_eq(cpu_run(a1, NULL, NULL, NULL, &err), 127);
	ck_assert_msg(strstr(err, "cpu_run: no-such-command-for-cpu-run: command not found"), "%s", err);
	free(err);
	ck_assert_int_eq(cpu_run(a2, NULL, NULL, NULL, NULL), 127);
}
END_TEST

START_TEST(command_not_executable_is_126)
{
	char file[160];
	const char *a1[] = {file, NULL};
	const char *a2[] = {t_dir, NULL};
	char *err;

	t_setup();
	snprintf(file, sizeof file, "%s/data", t_dir);
	tp_write_file(file, "not a program\n");
	ck_assert_int_eq(cpu_run(a1, NULL, NULL, NULL, &err), 126);
	ck_assert_msg(strstr(err, "not executable"), "%s", err);
	free(err);
	ck_assert_int_eq(cpu_run(a2, NULL, NULL, NULL, NULL), 126); /* a directory */
}
END_TEST

START_TEST(script_without_shebang_runs_in_sh)
{
	char file[160];
	const char *a[] = {file, NULL};
	char *out;

	t_setup();
	snprintf(file, sizeof file, "%s/script", t_dir);
	tp_write_file(file, "echo from-sh\n");
	chmod(file, 0755);
	ck_assert_int_eq(cpu_run(a, NULL, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "from-sh\n");
	free(out);
}
END_TEST

/* Usage errors: what is wrong, then where to look; nothing else. */
START_TEST(usage_errors_are_125)
{
	static const struct {
		const char *args[4];
		const char *extra[2];
		const char *line; /* the first line; the second says Try 'cpu_run --help'. */
	} cases[] = {
		{{NULL}, {NULL}, "no command given"},
		{{"-q", NULL}, {NULL}, "no command given"},
		{{"--bogus", "true", NULL}, {NULL}, "unknown option --bogus"},
		{{"-x", "true", NULL}, {NULL}, "unknown option -x"},
		{{"--quiet", "-qx", "true", NULL}, {NULL}, "unknown option -x"}, /* in a cluster */
		{{"--slots", NULL}, {NULL}, "option --slots needs a value"},
		{{"-t", NULL}, {NULL}, "option -t needs a value"},
		{{"-qt", NULL}, {NULL}, "option -t needs a value"},
		{{"--help=yes", "true", NULL}, {NULL}, "option --help takes no value"},
		{{"--pi=1", "true", NULL}, {NULL}, "option --pin takes no value"},
		{{"--slots=0", "true", NULL}, {NULL},
		 "--slots='0': expected a whole number of slots from 1 to 1024"},
		{{"--on-timeout=", "true", NULL}, {NULL},
		 "--on-timeout='': expected run (start without a slot) or fail (exit 75)"},
		{{"true", NULL}, {"CPU_RUN_NICE=20", NULL},
		 "CPU_RUN_NICE='20': expected a niceness from -20 to 19"},
	};
	char want[256], *out, *err;

	t_setup();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ck_assert_int_eq(cpu_run(cases[i].args, NULL, cases[i].extra, &out, &err), 125);
		snprintf(want, sizeof want, "cpu_run: %s\nTry 'cpu_run --help'.\n", cases[i].line);
		ck_assert_str_eq(err, want);
		ck_assert_str_eq(out, "");
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(options_stop_at_the_command)
{
	static const char *const args[] = {"-s", "2", NULL};
	static const char *const job[] = {"env", "--slots", NULL}; /* cr_job's own argument */
	char *out;

	t_setup();
	ck_assert_int_eq(cpu_run(args, job, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "--slots unset\n");
	free(out);
}
END_TEST

START_TEST(help_and_version)
{
	static const char *const help[] = {"--help", NULL};
	static const char *const version[] = {"--version", NULL};
	char *out;

	t_setup();
	ck_assert_int_eq(cpu_run(help, NULL, NULL, &out, NULL), 0);
	ck_assert_msg(strncmp(out, "Usage: cpu_run ", 15) == 0, "%s", out);
	ck_assert_msg(strstr(out, "--on-timeout"), "%s", out);
	ck_assert_msg(strstr(out, "(1m30s, 2h), or forever; 0: do not wait\n"), "%s", out);
	free(out);
	ck_assert_int_eq(cpu_run(version, NULL, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "cpu_run (gpulock) " GL_VERSION "\n");
	free(out);
}
END_TEST

/* ---- bad input ---- */

struct bad {
	const char *flag; /* "--slots" */
	const char *var;  /* "CPU_RUN_SLOTS" */
	const char *values[12];
};

static const struct bad bad_inputs[] = {
	{"--slots", "CPU_RUN_SLOTS", {"0", "-1", "x", "3x", " 3", "+3", "0x3", "1025", "99999999999999999999", "1.5", NULL}},
	{"--threads", "CPU_RUN_THREADS", {"0", "-2", "many", "1025", "2 ", NULL}},
	{"--max-wait", "CPU_RUN_MAXWAIT", {"-1", "x", "1e3", "inf", "99999999999", "5x", "1m30", "366d", NULL}},
	{"--mem-avail", "CPU_RUN_MEM_AVAIL", {"4X", "-1G", "G", "1.2.3G", "101%", "4 G", "%", "2EiB", "8", "1023K", NULL}},
	{"--mem-max", "CPU_RUN_MEM_MAX", {"lots", "-5M", "1e9", "200%", NULL}},
	{"--nice", "CPU_RUN_NICE", {"20", "-21", "nice", NULL}},
	{"--on-timeout", "CPU_RUN_ON_TIMEOUT", {"wait", "", NULL}},
	{"--slot-dir", "CPU_RUN_SLOT_DIR", {"relative/dir", NULL}},
	{NULL, "CPU_RUN_QUIET", {"maybe", "2", NULL}},
	{NULL, "CPU_RUN_PIN", {"sure", NULL}},
	{NULL, "CPU_RUN_FORCE_THREADS", {"y", NULL}},
	{NULL, "CPU_RUN_IONICE", {"idle", NULL}},
};

/* Two lines: the first begins with start, the second sends to --help. */
static void assert_usage_error(const char *err, const char *start)
{
	static const char try_line[] = "\nTry 'cpu_run --help'.\n";
	const char *nl = strchr(err, '\n');

	ck_assert_msg(strncmp(err, start, strlen(start)) == 0, "want '%s...', got '%s'", start, err);
	ck_assert_msg(nl && strcmp(nl, try_line) == 0, "want one line, then Try: '%s'", err);
}

START_TEST(bad_input_is_refused_naming_it)
{
	char opt[160], env[160], want[200], *err;

	t_setup();
	for (size_t i = 0; i < sizeof bad_inputs / sizeof *bad_inputs; i++) {
		const struct bad *b = &bad_inputs[i];

		for (int j = 0; b->values[j]; j++) {
			const char *v = b->values[j];
			const char *args[] = {opt, NULL};
			const char *extra[] = {env, NULL};

			if (b->flag) {
				snprintf(opt, sizeof opt, "%s=%s", b->flag, v);
				ck_assert_msg(cpu_run(args, JOB_MARK, NULL, NULL, &err) == 125, "%s", opt);
				snprintf(want, sizeof want, "cpu_run: %s='%s': expected ", b->flag, v);
				assert_usage_error(err, want);
				free(err);
			}
			if (!*v)
				continue; /* an empty variable means unset */
			snprintf(env, sizeof env, "%s=%s", b->var, v);
			ck_assert_msg(cpu_run(NULL, JOB_MARK, extra, NULL, &err) == 125, "%s", env);
			snprintf(want, sizeof want, "cpu_run: %s='%s': expected ", b->var, v);
			assert_usage_error(err, want);
			free(err);
		}
	}
	assert_not_run();
}
END_TEST

START_TEST(flags_override_variables)
{
	static const char *const args[] = {"--threads", "5", "--nice", "7", NULL};
	static const char *const extra[] = {"CPU_RUN_THREADS=x", "CPU_RUN_NICE=2", NULL};
	static const char *const job[] = {"env", "OMP_NUM_THREADS", NULL};
	char *out, *err;

	t_setup();
	/* A bad variable is refused even when a flag would override it: it is
	 * still a typo somewhere. */
	ck_assert_int_eq(cpu_run(args, job, extra, NULL, &err), 125);
	ck_assert_msg(strstr(err, "CPU_RUN_THREADS='x'"), "%s", err);
	free(err);
	{
		static const char *const good[] = {"CPU_RUN_THREADS=2", NULL};
		ck_assert_int_eq(cpu_run(args, job, good, &out, NULL), 0);
		ck_assert_str_eq(out, "OMP_NUM_THREADS=5\n");
		free(out);
	}
}
END_TEST

START_TEST(slot_dir_symlink_is_refused)
{
	char target[160], env[200], *err;
	const char *extra[] = {env, NULL};

	t_setup();
	snprintf(target, sizeof target, "%s/real", t_dir);
	ck_assert_int_eq(mkdir(target, 01777), 0);
	ck_assert_int_eq(symlink(target, t_slots), 0);
	snprintf(env, sizeof env, "CPU_RUN_SLOT_DIR=%s", t_slots);
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, extra, NULL, &err), 125);
	ck_assert_msg(strstr(err, "symbolic link"), "%s", err);
	free(err);
	assert_not_run();
}
END_TEST

START_TEST(slot_dir_of_another_user_is_refused)
{
	char *err;

	t_setup();
	if (geteuid() != 0) {
		tp_skip("slot_dir_of_another_user_is_refused",
		        "needs root, to make a directory another user's");
		return;
	}
	ck_assert_int_eq(mkdir(t_slots, 01777), 0);
	ck_assert_int_eq(chown(t_slots, 65534, 65534), 0);
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, NULL, NULL, &err), 125);
	ck_assert_msg(strstr(err, "uid 65534, not by root or you"), "%s", err);
	free(err);
	assert_not_run();
}
END_TEST

START_TEST(slot_dir_unwritable_is_refused)
{
	const char *argv[] = {NULL, NULL, "run", "MARK", NULL};
	char *err;
	struct tp_proc p;

	t_setup();
	/* Root may write anywhere: the test runs cpu_run as nobody. */
	if (geteuid() != 0) {
		tp_skip("slot_dir_unwritable_is_refused", "needs root, to run cpu_run as nobody");
		return;
	}
	t_share_programs();
	argv[0] = t_cpu_run();
	argv[1] = t_job();
	ck_assert_int_eq(mkdir(t_slots, 0755), 0); /* root's, so trusted, but not writable */
	t_spawn_as(&p, argv, NULL, 65534);
	close(p.in);
	p.in = -1;
	free(tp_read_all(p.out));
	err = tp_read_all(p.err);
	ck_assert_int_eq(t_wait(&p, 20), 125);
	ck_assert_msg(strstr(err, "cannot use slot directory") && strstr(err, "permission denied"),
	              "%s", err);
	free(err);
	assert_not_run();
}
END_TEST

START_TEST(slot_dir_that_cannot_be_created_is_refused)
{
	char file[160], env[200], *err;
	const char *extra[] = {env, NULL};

	t_setup();
	snprintf(file, sizeof file, "%s/file", t_dir);
	tp_write_file(file, "");
	snprintf(env, sizeof env, "CPU_RUN_SLOT_DIR=%s/sub", file); /* under a regular file */
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, extra, NULL, &err), 125);
	ck_assert_msg(strstr(err, "cannot use slot directory"), "%s", err);
	free(err);
	snprintf(env, sizeof env, "CPU_RUN_SLOT_DIR=%s", file); /* a file, not a directory */
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, extra, NULL, &err), 125);
	ck_assert_msg(strstr(err, "not a directory"), "%s", err);
	free(err);
	assert_not_run();
}
END_TEST

START_TEST(unusable_slot_file_is_refused)
{
	char *err;

	t_setup();
	ck_assert_int_eq(mkdir(t_slots, 01777), 0);
	ck_assert_int_eq(mkdir(t_slot(1), 0755), 0);
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, NULL, NULL, &err), 125);
	ck_assert_msg(strstr(err, "slot1: it is a directory"), "%s", err);
	free(err);
	rmdir(t_slot(1));
	ck_assert_int_eq(mkfifo(t_slot(1), 0666), 0);
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, NULL, NULL, &err), 125);
	ck_assert_msg(strstr(err, "slot1: it is a FIFO, not a regular file (owned by "), "%s", err);
	free(err);
	assert_not_run();
}
END_TEST

START_TEST(missing_dir_is_created_shared)
{
	char nested[200], env[240];
	const char *extra[] = {env, NULL};
	struct stat st;

	t_setup();
	snprintf(nested, sizeof nested, "%s/a/b/slots", t_dir); /* parents too, as mkdir -p */
	snprintf(env, sizeof env, "CPU_RUN_SLOT_DIR=%s", nested);
	umask(077); /* the modes must not depend on it */
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, extra, NULL, NULL), 0);
	ck_assert_int_eq(lstat(nested, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 01777);
	snprintf(nested + strlen(nested), sizeof nested - strlen(nested), "/slot1");
	ck_assert_int_eq(lstat(nested, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0666);
}
END_TEST

/* ---- who holds the slot ---- */

START_TEST(the_command_itself_holds_its_slot)
{
	static const char *const job[] = {"info", NULL};
	const char *direct[] = {t_job(), "info", NULL};
	struct tp_proc p;
	char *out, *base;
	int fds_direct, fds;

	t_setup();
	ck_assert_int_eq(t_run(direct, NULL, &base, NULL), 0);
	ck_assert_ptr_nonnull(strstr(base, "fds "));
	fds_direct = atoi(strstr(base, "fds ") + 4);
	free(base);
	t_job_hold(&p, "A", NULL, NULL);
	/* Exec, no fork: the job's pid is cpu_run's, and it holds slot1. */
	t_wait_lock(t_slot(1), p.pid, false);
	ck_assert_int_eq(cpu_run(NULL, job, NULL, &out, NULL), 0);
	/* The second job got slot2 and holds exactly it, inheriting no other
	 * fd of cpu_run's: not the directory, no ticket, nothing else. */
	ck_assert_msg(strstr(out, "\nheld slot2\n"), "%s", out);
	fds = atoi(strstr(out, "fds ") + 4);
	ck_assert_msg(fds == fds_direct + 1, "%d fds, %d without cpu_run", fds, fds_direct);
	free(out);
	close(p.in);
	ck_assert_int_eq(t_wait(&p, 20), 0);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

/* ---- compatibility with the original ---- */

START_TEST(slot_held_by_flock_is_busy)
{
	const char *argv[] = {t_cpu_run(), "-s", "2", t_job(), "info", NULL};
	struct tp_proc h1, h2, w;
	char *out;

	t_setup();
	ck_assert_int_eq(mkdir(t_slots, 01777), 0);
	t_flock_hold(&h1, t_slot(1));
	t_flock_hold(&h2, t_slot(2));
	t_spawn(&w, argv, NULL);
	t_wait_lock(t_slot(2), w.pid, true);
	t_wait_lock(t_slot(1), w.pid, true); /* waits on both, no polling */
	ck_assert(!tp_readable(w.out));
	close(h2.in);
	h2.in = -1;
	out = tp_read_all(w.out);
	ck_assert_int_eq(t_wait(&w, 20), 0);
	ck_assert_msg(strstr(out, "held slot2\n"), "%s", out);
	free(out);
	ck_assert_int_eq(t_wait(&h2, 20), 0);
	close(h1.in);
	h1.in = -1;
	ck_assert_int_eq(t_wait(&h1, 20), 0);
}
END_TEST

START_TEST(slot_held_by_the_original_is_busy)
{
	const char *seed[] = {t_seed(), t_job(), "run", "OLD", "hold", NULL};
	const char *argv[] = {t_cpu_run(), t_job(), "run", "NEW", NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", NULL};
	struct tp_proc old, w;
	char *line;

	t_setup();
	t_spawn(&old, seed, one);
	line = tp_read_line(old.out, 20);
	ck_assert_msg(line && strncmp(line, "OLD ", 4) == 0, "%s", line ? line : "EOF");
	free(line);
	/* The lock was taken by the script's flock(1) helper, gone by now:
	 * /proc/locks names that pid, and the job holds the slot through the
	 * inherited fd 9. */
	t_wait_lock(t_slot(1), 0, false);
	t_spawn(&w, argv, one);
	t_wait_lock(t_slot(1), w.pid, true);
	ck_assert(!tp_readable(w.out));
	close(old.in);
	old.in = -1;
	line = tp_read_line(w.out, 20);
	ck_assert_msg(line && strncmp(line, "NEW ", 4) == 0, "%s", line ? line : "EOF");
	free(line);
	ck_assert_int_eq(t_wait(&w, 20), 0);
	ck_assert_int_eq(t_wait(&old, 20), 0);
}
END_TEST

START_TEST(the_original_sees_our_slot_busy)
{
	static const char *const args[] = {"-s", "1", NULL};
	const char *seed[] = {t_seed(), t_job(), "run", "OLD", NULL};
	static const char *const env[] = {"CPU_RUN_SLOTS=1", "CPU_RUN_MAXWAIT=0", NULL};
	struct tp_proc p, old;
	char *err;

	t_setup();
	t_job_hold(&p, "NEW", args, NULL);
	t_spawn(&old, seed, env);
	close(old.in);
	old.in = -1;
	free(tp_read_all(old.out));
	err = tp_read_all(old.err);
	ck_assert_int_eq(t_wait(&old, 20), 0);
	ck_assert_msg(strstr(err, "all 1 slots busy 0s - running un-slotted"), "%s", err);
	free(err);
	close(p.in);
	ck_assert_int_eq(t_wait(&p, 20), 0);
}
END_TEST

START_TEST(active_variable_is_exported)
{
	static const char *const job[] = {"env", "CPU_RUN_ACTIVE", NULL};
	char *out;

	t_setup();
	ck_assert_int_eq(cpu_run(NULL, job, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "CPU_RUN_ACTIVE=1\n");
	free(out);
}
END_TEST

/* ---- the queue ---- */

/* Start a waiter running "cr_job run TAG hold" and return once it holds its
 * ticket, so that the order of arrival is the order of the calls. */
static void queue_waiter(struct tp_proc *p, const char *tag, const char *const extra[])
{
	const char *argv[] = {t_cpu_run(), "-s", "1", t_job(), "run", tag, "hold", NULL};

	t_spawn(p, argv, extra);
	t_wait_ticket(p->pid);
}

static long long start_ns(const char *line, const char *tag)
{
	char want[32];

	snprintf(want, sizeof want, "%s ", tag);
	ck_assert_msg(line && strncmp(line, want, strlen(want)) == 0, "wanted %s, got '%s'", tag,
	              line ? line : "EOF");
	return atoll(line + strlen(want));
}

START_TEST(first_come_first_served)
{
	enum { N = 6 };
	static const char *const args[] = {"-s", "1", NULL};
	const char *tags[N] = {"W0", "W1", "W2", "W3", "W4", "W5"};
	struct tp_proc holder, w[N];
	long long prev = 0;
	char *err;

	t_setup();
	t_job_hold(&holder, "H", args, NULL);
	for (int i = 0; i < N; i++)
		queue_waiter(&w[i], tags[i], NULL);
	ck_assert_int_eq(t_tickets(), N);
	/* The shape of the queue: only the head blocks on the slot, each of the
	 * others on the ticket of the one before it. */
	t_wait_lock(t_slot(1), w[0].pid, true);
	for (int i = 1; i < N; i++) {
		t_wait_follows(w[i].pid, w[i - 1].pid);
		ck_assert(!tp_lock_state(t_slot(1), w[i].pid, true));
	}
	close(holder.in);
	holder.in = -1;
	ck_assert_int_eq(t_wait(&holder, 20), 0);
	/* Each in turn: the next starts only when the one before lets go, and
	 * no one overtakes. */
	for (int i = 0; i < N; i++) {
		char *line = tp_read_line(w[i].out, 20);
		long long t = start_ns(line, tags[i]);

		ck_assert_msg(t > prev, "%s started before its predecessor", tags[i]);
		prev = t;
		free(line);
		for (int j = i + 1; j < N; j++)
			ck_assert_msg(!tp_readable(w[j].out), "%s overtook %s", tags[j], tags[i]);
		close(w[i].in);
		w[i].in = -1;
		err = tp_read_all(w[i].err);
		ck_assert_int_eq(t_wait(&w[i], 20), 0);
		ck_assert_msg(tp_count(err, "waiting for one of 1 slots") == 1, "%s", err);
		ck_assert_msg(tp_count(err, "got slot 1 of 1 after") == 1, "%s", err);
		free(err);
	}
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

START_TEST(fifo_order_through_several_slots)
{
	enum { N = 9, SLOTS = 3 };
	static const char *const args[] = {"-s", "3", NULL};
	const char *argv[N][9];
	char tags[N][8];
	struct tp_proc hold[SLOTS], w[N];
	long long t[N], round_end = 0;

	t_setup();
	for (int k = 0; k < SLOTS; k++)
		t_job_hold(&hold[k], "H", args, NULL);
	for (int i = 0; i < N; i++) {
		snprintf(tags[i], sizeof tags[i], "J%d", i);
		argv[i][0] = t_cpu_run();
		argv[i][1] = "-s";
		argv[i][2] = "3";
		argv[i][3] = t_job();
		argv[i][4] = "run";
		argv[i][5] = tags[i];
		argv[i][6] = "hold";
		argv[i][7] = NULL;
		t_spawn(&w[i], argv[i], NULL);
		t_wait_ticket(w[i].pid);
	}
	for (int k = 0; k < SLOTS; k++) {
		close(hold[k].in);
		hold[k].in = -1;
	}
	/* Round by round: the three slots go to the next three tickets, and to
	 * no one else, while those three hold them. */
	for (int r = 0; r < N / SLOTS; r++) {
		long long first = 0;

		for (int i = r * SLOTS; i < (r + 1) * SLOTS; i++) {
			char *line = tp_read_line(w[i].out, 20);
			t[i] = start_ns(line, tags[i]);
			free(line);
			if (!first || t[i] < first)
				first = t[i];
		}
		ck_assert_msg(first > round_end, "round %d started before round %d ended", r, r - 1);
		for (int j = (r + 1) * SLOTS; j < N; j++)
			ck_assert_msg(!tp_readable(w[j].out), "%s overtook round %d", tags[j], r);
		for (int i = r * SLOTS; i < (r + 1) * SLOTS; i++) {
			if (t[i] > round_end)
				round_end = t[i];
			close(w[i].in);
			w[i].in = -1;
		}
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(t_wait(&w[i], 20), 0);
	for (int k = 0; k < SLOTS; k++)
		ck_assert_int_eq(t_wait(&hold[k], 20), 0);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

START_TEST(killed_job_frees_its_slot_at_once)
{
	static const char *const args[] = {"-s", "1", NULL};
	struct tp_proc a, b;
	char *line;
	double killed;

	t_setup();
	t_job_hold(&a, "A", args, NULL);
	queue_waiter(&b, "B", NULL);
	t_wait_lock(t_slot(1), b.pid, true); /* b is the head, blocked on the slot */
	killed = tp_now();
	kill(a.pid, SIGKILL);
	line = tp_read_line(b.out, 20);
	start_ns(line, "B");
	free(line);
	/* Event-driven: no 2 s sweep. Generous for loaded machines. */
	ck_assert_msg(tp_now() - killed < 1.5 * tp_scale(), "took %.3fs", tp_now() - killed);
	ck_assert_int_eq(t_wait(&a, 20), 128 + SIGKILL);
	close(b.in);
	b.in = -1;
	ck_assert_int_eq(t_wait(&b, 20), 0);
}
END_TEST

START_TEST(killed_waiters_do_not_block_the_queue)
{
	static const char *const args[] = {"-s", "1", NULL};
	struct tp_proc h, w0, w1, w2, w3;
	char *line;

	t_setup();
	t_job_hold(&h, "H", args, NULL);
	queue_waiter(&w0, "W0", NULL);
	queue_waiter(&w1, "W1", NULL);
	queue_waiter(&w2, "W2", NULL);
	queue_waiter(&w3, "W3", NULL);
	t_wait_lock(t_slot(1), w0.pid, true);
	/* The head dies: W1 becomes head. */
	kill(w0.pid, SIGKILL);
	ck_assert_int_eq(t_wait(&w0, 20), 128 + SIGKILL);
	t_wait_lock(t_slot(1), w1.pid, true);
	/* One in the middle dies: W3, who followed it, now follows W1. */
	kill(w2.pid, SIGKILL);
	ck_assert_int_eq(t_wait(&w2, 20), 128 + SIGKILL);
	{
		double deadline = tp_now() + 20 * tp_scale();
		while (t_tickets() != 2) { /* W1's and W3's; the dead ones removed */
			ck_assert_msg(tp_now() < deadline, "%d tickets left", t_tickets());
			usleep(1000);
		}
	}
	close(h.in);
	h.in = -1;
	ck_assert_int_eq(t_wait(&h, 20), 0);
	line = tp_read_line(w1.out, 20);
	start_ns(line, "W1");
	free(line);
	ck_assert(!tp_readable(w3.out));
	close(w1.in);
	w1.in = -1;
	ck_assert_int_eq(t_wait(&w1, 20), 0);
	line = tp_read_line(w3.out, 20);
	start_ns(line, "W3");
	free(line);
	close(w3.in);
	w3.in = -1;
	ck_assert_int_eq(t_wait(&w3, 20), 0);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

/* A slot is free but the head of the queue is not done (it waits for
 * memory, holding the other slot): a newcomer must queue behind it, not take
 * the free slot. */
START_TEST(newcomer_does_not_overtake_the_queue)
{
	char meminfo[160], env[200];
	const char *extra[] = {env, NULL};
	const char *head[] = {t_cpu_run(), "-s", "2", "--mem-avail", "2G", t_job(), "run", "HEAD", NULL};
	const char *late[] = {t_cpu_run(), "-s", "2", t_job(), "run", "LATE", NULL};
	struct tp_proc h, n;
	char *line;

	t_setup();
	snprintf(meminfo, sizeof meminfo, "%s/meminfo", t_dir);
	snprintf(env, sizeof env, "CPU_RUN_MEMINFO_PATH=%s", meminfo);
	tp_write_file(meminfo, "MemTotal: 16777216 kB\nMemAvailable: 1048576 kB\n");
	t_spawn(&h, head, extra);
	free(tp_read_line(h.err, 20)); /* waiting for memory */
	t_wait_lock(t_slot(1), h.pid, false);
	t_spawn(&n, late, extra);
	t_wait_ticket(n.pid);
	ck_assert(!tp_readable(n.out));
	ck_assert(!tp_lock_state(t_slot(2), n.pid, false));
	tp_write_file(meminfo, "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n");
	line = tp_read_line(h.out, 20);
	start_ns(line, "HEAD");
	free(line);
	line = tp_read_line(n.out, 20);
	start_ns(line, "LATE");
	free(line);
	ck_assert_int_eq(t_wait(&h, 20), 0);
	ck_assert_int_eq(t_wait(&n, 20), 0);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

/* A ticket left by a killed waiter does not hold up the next job. */
START_TEST(stale_ticket_is_cleared)
{
	char path[200];
	char *err;
	int fd;

	t_setup();
	ck_assert_int_eq(mkdir(t_slots, 01777), 0);
	snprintf(path, sizeof path, "%s/" GL_SLOTS_TICKET_PREFIX "41", t_slots);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(t_tickets(), 1);
	ck_assert_int_eq(cpu_run(NULL, JOB_MARK, NULL, NULL, &err), 0);
	ck_assert_str_eq(err, ""); /* no wait */
	free(err);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

START_TEST(quiet_silences_the_wait_lines)
{
	static const char *const args[] = {"-s", "1", NULL};
	static const char *const quiet[] = {"CPU_RUN_QUIET=1", NULL};
	const char *qargv[] = {t_cpu_run(), "-s", "1", "-q", t_job(), "run", "Q", NULL};
	struct tp_proc h, w, q;
	char *err;

	t_setup();
	t_job_hold(&h, "H", args, NULL);
	queue_waiter(&w, "W", quiet);
	t_spawn(&q, qargv, NULL);
	t_wait_ticket(q.pid);
	close(h.in);
	h.in = -1;
	close(w.in);
	w.in = -1;
	close(q.in);
	q.in = -1;
	err = tp_read_all(w.err);
	ck_assert_str_eq(err, "");
	free(err);
	err = tp_read_all(q.err);
	ck_assert_str_eq(err, "");
	free(err);
	ck_assert_int_eq(t_wait(&w, 20), 0);
	ck_assert_int_eq(t_wait(&q, 20), 0);
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

/* cpu_run.sh's flock(1) has exited by the time its job holds the slot:
 * the waiting line names the job, which holds it through fd 9. */
START_TEST(wait_line_names_the_job_of_the_original)
{
	const char *seed[] = {t_seed(), t_job(), "run", "OLD", "hold", NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", NULL};
	struct tp_proc old, w;
	char *line, want[600];
	int job;

	t_setup();
	t_spawn(&old, seed, one);
	line = tp_read_line(old.out, 20); /* "OLD <ns> <pid>": the job runs */
	ck_assert_msg(line && sscanf(line, "OLD %*d %d", &job) == 1, "%s", line ? line : "EOF");
	free(line);
	queue_waiter(&w, "W", NULL);
	line = tp_read_line(w.err, 20);
	snprintf(want, sizeof want, "held by slot1: pid %d (", job);
	ck_assert_msg(strstr(line, "waiting for one of 1 slots") && strstr(line, want), "%s", line);
	/* The job's command line (under valgrind, valgrind's). */
	snprintf(want, sizeof want, "slot1: pid %d (%s run OLD hold)", job, t_job());
	ck_assert_msg(tp_scale() > 1 || strstr(line, want), "%s", line);
	free(line);
	close(old.in);
	old.in = -1;
	line = tp_read_line(w.err, 20);
	ck_assert_msg(strstr(line, "got slot 1 of 1 after"), "%s", line);
	free(line);
	close(w.in);
	w.in = -1;
	ck_assert_int_eq(t_wait(&w, 20), 0);
	ck_assert_int_eq(t_wait(&old, 20), 0);
}
END_TEST

START_TEST(wait_line_says_who_holds_the_slots)
{
	static const char *const args[] = {"-s", "1", NULL};
	struct tp_proc h, w;
	char *line, want[64];

	t_setup();
	t_job_hold(&h, "HOLDER", args, NULL);
	queue_waiter(&w, "W", NULL);
	line = tp_read_line(w.err, 20);
	snprintf(want, sizeof want, "slot1: pid %d (", (int)h.pid);
	ck_assert_msg(strstr(line, "waiting for one of 1 slots") && strstr(line, "next in line") &&
	                  strstr(line, want),
	              "%s", line);
	/* The holder's command line (under valgrind, valgrind's). */
	ck_assert_msg(tp_scale() > 1 || strstr(line, "cr_job run HOLDER hold)"), "%s", line);
	free(line);
	close(h.in);
	h.in = -1;
	line = tp_read_line(w.err, 20);
	ck_assert_msg(strstr(line, "got slot 1 of 1 after"), "%s", line);
	free(line);
	close(w.in);
	w.in = -1;
	ck_assert_int_eq(t_wait(&w, 20), 0);
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

START_TEST(nested_run_inside_a_slot_does_not_queue)
{
	const char *argv[] = {t_cpu_run(), "-s", "1", t_cpu_run(), "-s", "1", t_job(), "info", NULL};
	char *out, *err;

	t_setup();
	ck_assert_int_eq(t_run(argv, NULL, &out, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_msg(strstr(out, "held slot1\n"), "%s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(nested_run_under_the_original_does_not_queue)
{
	const char *seed[] = {t_seed(), t_cpu_run(), t_job(), "info", NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", NULL};
	char *out, *err;

	t_setup();
	/* The script's job holds slot1 through its fd 9 only. */
	ck_assert_int_eq(t_run(seed, one, &out, &err), 0);
	ck_assert_msg(tp_count(err, "cpu_run: ") == 0, "%s", err);
	ck_assert_msg(strstr(out, "held slot1\n"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* ---- max wait ---- */

START_TEST(timeout_fail_exits_75)
{
	static const char *const args[] = {"-s", "1", "-w", "0.3", "--on-timeout=fail", NULL};
	static const char *const hold[] = {"-s", "1", NULL};
	struct tp_proc h;
	char *err;

	t_setup();
	t_job_hold(&h, "H", hold, NULL);
	unlink(t_log);
	ck_assert_int_eq(cpu_run(args, JOB_MARK, NULL, NULL, &err), 75);
	ck_assert_msg(strstr(err, "gave up after") && strstr(err, "(--on-timeout=fail)"), "%s", err);
	free(err);
	assert_not_run();
	ck_assert_int_eq(t_tickets(), 0);
	{
		static const char *const env[] = {"CPU_RUN_ON_TIMEOUT=fail", "CPU_RUN_MAXWAIT=0", NULL};
		static const char *const one[] = {"-s", "1", NULL};
		ck_assert_int_eq(cpu_run(one, JOB_MARK, env, NULL, NULL), 75);
	}
	assert_not_run();
	close(h.in);
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

START_TEST(timeout_runs_unslotted_still_capped)
{
	static const char *const args[] = {"-s", "1", "-w", "0.3", NULL};
	static const char *const hold[] = {"-s", "1", NULL};
	static const char *const info[] = {"info", NULL};
	static const char *const envjob[] = {"env", "OMP_NUM_THREADS", NULL};
	struct tp_proc h, q;
	char *out, *err;

	t_setup();
	t_job_hold(&h, "H", hold, NULL);
	ck_assert_int_eq(cpu_run(args, info, NULL, &out, &err), 0);
	ck_assert_msg(strstr(err, "warning:") && strstr(err, "running without a slot anyway"), "%s",
	              err);
	ck_assert_msg(strstr(out, "nice 15\n") && strstr(out, "held\n"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(cpu_run(args, envjob, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, default_threads_line());
	free(out);
	/* A waiter that times out leaves the queue: the one behind it moves up. */
	{
		const char *argv[] = {t_cpu_run(), "-s", "1", "-w", "1000", t_job(), "run", "Q", NULL};
		struct tp_proc first;
		const char *fargv[] = {t_cpu_run(), "-s", "1", "-w", "0.5", "--on-timeout=fail",
		                       t_job(), "run", "F", NULL};

		t_spawn(&first, fargv, NULL);
		t_wait_ticket(first.pid);
		t_spawn(&q, argv, NULL);
		t_wait_ticket(q.pid);
		ck_assert_int_eq(t_wait(&first, 20), 75);
		t_wait_lock(t_slot(1), q.pid, true); /* now the head */
		close(h.in);
		h.in = -1;
		out = tp_read_all(q.out);
		ck_assert_int_eq(t_wait(&q, 20), 0);
		start_ns(out, "Q");
		free(out);
	}
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

START_TEST(max_wait_zero_runs_at_once)
{
	static const char *const args[] = {"-s", "1", "-w", "0", NULL};
	static const char *const hold[] = {"-s", "1", NULL};
	struct tp_proc h;
	char *err;

	t_setup();
	t_job_hold(&h, "H", hold, NULL);
	ck_assert_int_eq(cpu_run(args, JOB_MARK, NULL, NULL, &err), 0);
	ck_assert_msg(strstr(err, "running without a slot anyway"), "%s", err);
	ck_assert_msg(tp_count(err, "cpu_run:") == 1, "%s", err);
	free(err);
	close(h.in);
	ck_assert_int_eq(t_wait(&h, 20), 0);
}
END_TEST

Suite *cpu_run_suite(void);
Suite *cpu_run_suite(void)
{
	Suite *s = suite_create("cpu_run");
	TCase *exits = tcase_create("exit codes");
	TCase *input = tcase_create("bad input");
	TCase *compat = tcase_create("compatibility");
	TCase *queue = tcase_create("queue");
	TCase *wait = tcase_create("max wait");
	/* Skipped where the tests do not run as root: meson runs this case as a
	 * test of its own. */
	TCase *root = tcase_create("root");

	tcase_add_test(exits, exit_status_is_the_commands);
	tcase_add_test(exits, death_by_signal_is_the_commands);
	tcase_add_test(exits, command_not_found_is_127);
	tcase_add_test(exits, command_not_executable_is_126);
	tcase_add_test(exits, script_without_shebang_runs_in_sh);
	tcase_add_test(exits, usage_errors_are_125);
	tcase_add_test(exits, options_stop_at_the_command);
	tcase_add_test(exits, help_and_version);
	tcase_add_test(input, bad_input_is_refused_naming_it);
	tcase_add_test(input, flags_override_variables);
	tcase_add_test(input, slot_dir_symlink_is_refused);
	tcase_add_test(root, slot_dir_of_another_user_is_refused);
	tcase_add_test(root, slot_dir_unwritable_is_refused);
	tcase_add_test(input, slot_dir_that_cannot_be_created_is_refused);
	tcase_add_test(input, unusable_slot_file_is_refused);
	tcase_add_test(input, missing_dir_is_created_shared);
	tcase_add_test(compat, the_command_itself_holds_its_slot);
	tcase_add_test(compat, slot_held_by_flock_is_busy);
	tcase_add_test(compat, slot_held_by_the_original_is_busy);
	tcase_add_test(compat, the_original_sees_our_slot_busy);
	tcase_add_test(compat, active_variable_is_exported);
	tcase_add_test(queue, first_come_first_served);
	tcase_add_test(queue, fifo_order_through_several_slots);
	tcase_add_test(queue, killed_job_frees_its_slot_at_once);
	tcase_add_test(queue, killed_waiters_do_not_block_the_queue);
	tcase_add_test(queue, newcomer_does_not_overtake_the_queue);
	tcase_add_test(queue, stale_ticket_is_cleared);
	tcase_add_test(queue, quiet_silences_the_wait_lines);
	tcase_add_test(queue, wait_line_says_who_holds_the_slots);
	tcase_add_test(queue, wait_line_names_the_job_of_the_original);
	tcase_add_test(queue, nested_run_inside_a_slot_does_not_queue);
	tcase_add_test(queue, nested_run_under_the_original_does_not_queue);
	tcase_add_test(wait, timeout_fail_exits_75);
	tcase_add_test(wait, timeout_runs_unslotted_still_capped);
	tcase_add_test(wait, max_wait_zero_runs_at_once);
	/* A deadlock fails the test; it does not hang the suite. */
	tcase_set_timeout(exits, 60);
	tcase_set_timeout(input, 120);
	tcase_set_timeout(compat, 60);
	tcase_set_timeout(queue, 60);
	tcase_set_timeout(wait, 60);
	tcase_add_checked_fixture(exits, NULL, t_teardown);
	suite_add_tcase(s, exits);
	tcase_add_checked_fixture(input, NULL, t_teardown);
	suite_add_tcase(s, input);
	tcase_add_checked_fixture(compat, NULL, t_teardown);
	suite_add_tcase(s, compat);
	tcase_add_checked_fixture(queue, NULL, t_teardown);
	suite_add_tcase(s, queue);
	tcase_add_checked_fixture(wait, NULL, t_teardown);
	suite_add_tcase(s, wait);
	tcase_set_tags(root, "conditional");
	tcase_set_timeout(root, 60);
	tcase_add_checked_fixture(root, NULL, t_teardown);
	suite_add_tcase(s, root);
	return s;
}
