/* gpulock status against real holders: the original tools' (whose flock(1)
 * has exited by the time the lock is held), cpu_run waiting for memory,
 * times that a stamp would make too long, a lock path in a missing
 * directory, and rows cut to a terminal's width. */
#include "preload_harness.h"
#include "procs.h"
#include "gl_proc.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *gpulock(void)
{
	return h_artifact("GL_GPULOCK");
}

/* The user name status shows for our processes. */
static const char *me(void)
{
	static char name[64];
	struct passwd *pw = getpwuid(geteuid());

	if (pw)
		snprintf(name, sizeof name, "%s", pw->pw_name);
	else
		snprintf(name, sizeof name, "%u", (unsigned)geteuid());
	return name;
}

/* The line of text that starts with prefix, without its '\n' (malloc'd),
 * or NULL. */
static char *line_starting(const char *text, const char *prefix)
{
	for (const char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0'))
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return strndup(l, strcspn(l, "\n"));
	return NULL;
}

/* A status row: starts with head and ends with " " tail, the command. */
static void assert_row(const char *out, const char *head, const char *tail)
{
	char *row = line_starting(out, head);
	size_t n, t = strlen(tail);

	ck_assert_msg(row, "no row '%s...' in:\n%s", head, out);
	n = strlen(row);
	ck_assert_msg(n > t && row[n - t - 1] == ' ' && strcmp(row + n - t, tail) == 0,
	              "row '%s' does not end in ' %s'", row, tail);
	free(row);
}

/* Wait (20 s at most) until pid runs cmd: a script's exec chain is done. */
static void wait_command(pid_t pid, const char *cmd)
{
	char have[256] = "";

	for (double end = tp_now() + 20; tp_now() < end; usleep(1000))
		if (gl_proc_cmdline(pid, have, sizeof have) == 0 && strcmp(have, cmd) == 0)
			return;
	ck_abort_msg("pid %d runs '%s', not '%s'", (int)pid, have, cmd);
}

/* gpulock status (text) with the slot directory dir; its exit status. */
static int status(const char *dir, const char *const extra[], char **out)
{
	const char *argv[] = {gpulock(), "status", "--slot-dir", dir, NULL};

	return h_run(argv, extra, false, out, NULL);
}

/* Runs python3 on gpulock status --json, read as strict UTF-8 and strict
 * JSON; what the script prints. */
static char *status_json(const char *dir, const char *script)
{
	char sh[2400], *out;
	const char *argv[] = {"sh", "-c", sh, NULL};

	snprintf(sh, sizeof sh,
	         "\"%s\" status --json --slot-dir %s >%s/s.json; python3 -c '"
	         "import json, sys; "
	         "d = json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\")); "
	         "g = d[\"gpu_lock\"]; "
	         "c = d[\"cpu_run\"]; %s' %s/s.json",
	         gpulock(), dir, h_dir, script, h_dir);
	ck_assert_int_eq(h_run(argv, NULL, false, &out, NULL), 0);
	return out;
}

/* gpu_run.sh takes the lock with a flock(1) child that exits; the shell
 * (and the command it runs) hold it through the inherited fd. */
START_TEST(status_names_who_holds_the_lock_for_gpu_run_sh)
{
	const char *seed = h_artifact("GL_SEED_GPU_RUN");
	const char *argv[] = {"bash", seed, "cat", NULL};
	char dir[200], head[160], cmd[600], py[900], *out, *line;
	struct tp_proc holder;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	h_spawn(&holder, argv, NULL, false);
	line = tp_read_line(holder.err, 20); /* the script's first line, then it locks */
	free(line);
	line = tp_read_line(holder.err, 20); /* "acquired": its flock(1) has exited */
	ck_assert_msg(strstr(line, "[gpu_run] acquired GPU lock"), "%s", line);
	free(line);

	ck_assert_int_eq(status(dir, NULL, &out), 1);
	snprintf(head, sizeof head, "  holder   pid %-7d %-10s held for ", (int)holder.pid, me());
	snprintf(cmd, sizeof cmd, "bash %s cat", seed);
	assert_row(out, head, cmd);
	free(out);

	snprintf(py, sizeof py,
	         "h = g[\"holder\"]; print(h[\"pid\"], h[\"command\"]); "
	         "assert 0 <= h[\"held_seconds\"] <= h[\"running_seconds\"]");
	out = status_json(dir, py);
	snprintf(py, sizeof py, "%d %s\n", (int)holder.pid, cmd);
	ck_assert_str_eq(out, py);
	free(out);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* cpu_run.sh takes a slot the same way; its shell execs into the job. */
START_TEST(status_names_the_job_of_cpu_run_sh)
{
	const char *argv[] = {"bash", h_artifact("GL_SEED_CPU_RUN"), "cat", NULL};
	char dir[200], env_dir[220], head[160], *out, *line;
	const char *extra[] = {"CPU_RUN_SLOTS=1", env_dir, NULL};
	struct tp_proc job;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	snprintf(env_dir, sizeof env_dir, "CPU_RUN_SLOT_DIR=%s", dir);
	h_spawn(&job, argv, extra, false);
	line = tp_read_line(job.err, 20);
	ck_assert_msg(strstr(line, "[cpu_run] slot 1/1 acquired"), "%s", line);
	free(line);
	wait_command(job.pid, "cat"); /* through nice and ionice */

	ck_assert_int_eq(status(dir, extra, &out), 0);
	ck_assert_msg(strstr(out, ": 1 of 1 busy, 0 queued\n"), "%s", out);
	snprintf(head, sizeof head, "  slot 1   pid %-7d %-10s running ", (int)job.pid, me());
	assert_row(out, head, "cat");
	free(out);

	out = status_json(dir, "s = c[\"slots\"][0]; print(s[\"state\"], s[\"holder\"][\"pid\"], "
	                       "s[\"holder\"][\"command\"])");
	snprintf(head, sizeof head, "held %d cat\n", (int)job.pid);
	ck_assert_str_eq(out, head);
	free(out);
	close(job.in);
	ck_assert_int_eq(tp_wait(job.pid, 30), 0);
}
END_TEST

/* The lock file cannot be made there: status says what run and wait say. */
START_TEST(status_in_a_missing_directory_says_what_run_and_wait_say)
{
	char lock[200], want[300], *out, *err;
	const char *st[] = {gpulock(), "status", "-l", lock, NULL};
	const char *js[] = {gpulock(), "status", "--json", "-l", lock, NULL};
	const char *wait[] = {gpulock(), "wait", "-l", lock, NULL};
	const char *run[] = {gpulock(), "run", "--eager", "-l", lock, "--", "true", NULL};
	const char *const *each[] = {st, js, wait, run};

	h_setup();
	snprintf(lock, sizeof lock, "%s/no/such/dir/gpu.lock", h_dir);
	snprintf(want, sizeof want,
	         "gpulock: cannot use the GPU lock %s: its directory does not exist\n", lock);
	for (size_t i = 0; i < sizeof each / sizeof *each; i++) {
		ck_assert_int_eq(h_run(each[i], NULL, false, &out, &err), 125);
		ck_assert_str_eq(out, "");
		ck_assert_str_eq(err, want);
		free(out);
		free(err);
	}
}
END_TEST

/* Sets the mtime of path to seconds before now. */
static void age_file(const char *path, double seconds)
{
	struct timespec now, t[2];

	clock_gettime(CLOCK_REALTIME, &now);
	t[0] = t[1] = (struct timespec){now.tv_sec - (time_t)seconds, now.tv_nsec};
	t[1].tv_nsec -= (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (t[1].tv_nsec < 0) {
		t[1].tv_nsec += 1000000000L;
		t[1].tv_sec--;
	}
	ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* The path of the ticket in dir, once there is one (static), within 20 s. */
static const char *ticket(const char *dir)
{
	static char path[400];
	struct dirent *e;
	double end = tp_now() + 20;

	for (path[0] = '\0'; !path[0]; usleep(1000)) {
		DIR *d = opendir(dir);

		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, ".ticket.", 8) == 0)
				snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		closedir(d);
		ck_assert_msg(path[0] || tp_now() < end, "no ticket in %s within 20 s", dir);
	}
	return path;
}

/* "held for" and "waiting" come from file stamps (the lock file's, a
 * ticket's): they never show more than the process has been running. */
START_TEST(status_never_waits_or_holds_longer_than_running)
{
	char dir[200], slot[220], *out;
	const char *holder_argv[] = {"flock", h_lock, "cat", NULL};
	const char *slot_argv[] = {"flock", slot, "cat", NULL};
	const char *queued_argv[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", dir, "true", NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", "CPU_RUN_QUIET=1", NULL};
	struct tp_proc holder, slot_holder, queued;
	double age;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	snprintf(slot, sizeof slot, "%s/slot1", dir);
	ck_assert_int_eq(mkdir(dir, 01777), 0);
	h_spawn(&holder, holder_argv, NULL, false);
	h_wait_holder(h_lock, holder.pid);
	/* A stamp half a second older than the holder (flock(1) leaves the
	 * mtime alone): within the second allowed for clocks' granularity. */
	ck_assert_int_eq(gl_proc_age(holder.pid, &age), 0);
	age_file(h_lock, age + 0.5);
	h_spawn(&slot_holder, slot_argv, NULL, false);
	h_wait_holder(slot, slot_holder.pid);
	h_spawn(&queued, queued_argv, one, false);
	close(queued.in);
	tp_wait_lock(ticket(dir), queued.pid, false, 20);
	age_file(ticket(dir), 3600); /* a stamp not its own: unknown */

	out = status_json(dir, "h = g[\"holder\"]; w = c[\"queue\"][0][\"waiter\"]; "
	                       "print(h[\"held_seconds\"] <= h[\"running_seconds\"], "
	                       "w[\"waiting_seconds\"])");
	ck_assert_str_eq(out, "True None\n");
	free(out);
	ck_assert_int_le(status(dir, one, &out), 1);
	ck_assert_msg(!strstr(out, "waiting 1h"), "%s", out);
	free(out);

	close(holder.in);
	close(slot_holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(slot_holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(queued.pid, 30), 0);
}
END_TEST

/* cpu_run --mem-avail holds its slot, and its ticket, while it waits for
 * memory: one slot row, "waiting for memory", and nothing queued. */
/* The original gpu_run.sh opens the lock file for writing, with O_TRUNC,
 * when it starts to wait: that resets the file's modification time, so the
 * holder's "held for" must not come from it (it showed the last waiter's
 * arrival). Also what a waiting preload says. */
START_TEST(held_for_survives_a_waiter_that_truncates_the_file)
{
	const char *argv[] = {"bash", h_artifact("GL_SEED_GPU_RUN"), "true", NULL};
	char dir[200], *out;
	struct tp_proc holder, waiter;
	struct timespec pause = {1, 500000000};
	double locked;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	h_start_gpu_holder(&holder);
	locked = tp_now();
	/* Held long enough to tell apart from a stamp made just now: time
	 * itself is what the test is about. */
	while (nanosleep(&pause, &pause) < 0)
		;
	ck_assert(tp_now() - locked >= 1.5);
	h_spawn(&waiter, argv, NULL, false);
	close(waiter.in);
	tp_wait_lock(h_lock, 0, true, 20); /* its flock(1) waits: the file was opened */
	out = status_json(dir, "print(g[\"holder\"][\"held_seconds\"] >= 1.4)");
	ck_assert_str_eq(out, "True\n");
	free(out);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(waiter.pid, 30), 0);
}
END_TEST

START_TEST(status_shows_a_cpu_run_waiting_for_memory)
{
	char dir[200], meminfo[220], env_mem[260], head[160], cmd[600], *out, *line;
	const char *argv[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", dir, "--mem-avail", "2G",
	                      "true", NULL};
	const char *extra[] = {"CPU_RUN_SLOTS=1", env_mem, NULL};
	struct tp_proc w;
	FILE *f;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	snprintf(meminfo, sizeof meminfo, "%s/meminfo", h_dir);
	snprintf(env_mem, sizeof env_mem, "CPU_RUN_MEMINFO_PATH=%s", meminfo);
	f = fopen(meminfo, "w");
	ck_assert_ptr_nonnull(f);
	fputs("MemTotal:       16777216 kB\nMemAvailable:    1048576 kB\n", f);
	fclose(f);
	h_spawn(&w, argv, extra, false);
	close(w.in);
	line = tp_read_line(w.err, 20);
	ck_assert_msg(strstr(line, "waiting for memory"), "%s", line);
	free(line);

	ck_assert_int_eq(status(dir, extra, &out), 0);
	ck_assert_msg(strstr(out, ": 1 of 1 busy (1 waiting for memory), 0 queued\n"), "%s", out);
	snprintf(head, sizeof head, "  slot 1   pid %-7d %-10s waiting for memory ", (int)w.pid,
	         me());
	snprintf(cmd, sizeof cmd, "%s -s 1 -d %s --mem-avail 2G true", argv[0], dir);
	assert_row(out, head, cmd);
	ck_assert_msg(!strstr(out, "queued   pid"), "%s", out);
	free(out);

	out = status_json(dir, "s = c[\"slots\"][0]; print(s[\"state\"], s[\"holder\"][\"pid\"], "
	                       "len(c[\"queue\"]), c[\"more_queued\"]); h = s[\"holder\"]; "
	                       "assert 0 <= h[\"waiting_seconds\"] <= h[\"running_seconds\"]");
	snprintf(head, sizeof head, "waiting_for_memory %d 0 0\n", (int)w.pid);
	ck_assert_str_eq(out, head);
	free(out);

	f = fopen(meminfo, "w");
	ck_assert_ptr_nonnull(f);
	fputs("MemTotal:       16777216 kB\nMemAvailable:    4194304 kB\n", f);
	fclose(f);
	ck_assert_int_eq(tp_wait(w.pid, 30), 0);
}
END_TEST

/* gpulock status in a pseudo-terminal cols wide (0: the terminal does not
 * say), with COLUMNS=columns when not NULL. Its output, '\r's dropped. */
static char *status_in_pty(const char *dir, unsigned short cols, const char *columns)
{
	struct winsize ws = {.ws_row = 24, .ws_col = cols};
	char buf[4096], *out = calloc(1, 1);
	size_t len = 0;
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("GPU_LOCK_PATH", h_lock, 1);
		if (columns)
			setenv("COLUMNS", columns, 1);
		else
			unsetenv("COLUMNS");
		execl(gpulock(), gpulock(), "status", "--slot-dir", dir, (char *)NULL);
		_exit(127);
	}
	for (double end = tp_now() + 30;;) {
		struct pollfd p = {master, POLLIN, 0};
		ssize_t n;

		ck_assert_msg(tp_now() < end, "status in a terminal: no end within 30 s");
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(master, buf, sizeof buf);
		if (n <= 0) /* EIO: the terminal's last user has gone */
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			out = realloc(out, len + 2);
			out[len++] = buf[i];
			out[len] = '\0';
		}
	}
	close(master);
	ck_assert_int_eq(tp_wait(pid, 30), 1); /* held */
	return out;
}

/* Every line of text at most width columns (bytes: ASCII here). */
static void assert_fits(const char *text, size_t width)
{
	for (const char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0'))
		ck_assert_msg(strcspn(l, "\n") <= width, "wider than %zu:\n%s", width, text);
}

/* In a terminal the command column is cut to the width, with "..." at its
 * end; elsewhere (a pipe, JSON) it is whole. */
START_TEST(status_rows_fit_the_terminal)
{
	char dir[200], pad[301], cmd[600], head[160], want[700], *out;
	const char *argv[] = {"flock", h_lock, "sh", "-c", "cat", "sh", pad, NULL};
	struct tp_proc holder;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	memset(pad, 'x', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	h_spawn(&holder, argv, NULL, false);
	h_wait_holder(h_lock, holder.pid);
	snprintf(cmd, sizeof cmd, "flock %s sh -c cat sh %s", h_lock, pad);
	snprintf(head, sizeof head, "  holder   pid %-7d %-10s ", (int)holder.pid, me());

	ck_assert_int_eq(status(dir, NULL, &out), 1); /* a pipe: whole */
	assert_row(out, head, cmd);
	free(out);
	out = status_json(dir, "print(g[\"holder\"][\"command\"])");
	snprintf(want, sizeof want, "%s\n", cmd);
	ck_assert_str_eq(out, want);
	free(out);

	out = status_in_pty(dir, 100, "40"); /* the terminal's width wins */
	assert_fits(out, 100);
	{
		char *row = line_starting(out, head);
		ck_assert_msg(row && strlen(row) == 100, "%s", out);
		ck_assert_msg(strcmp(row + 97, "...") == 0, "%s", row);
		ck_assert_msg(strstr(row, " flock "), "%s", row);
		free(row);
	}
	free(out);
	out = status_in_pty(dir, 0, "90"); /* it does not say: COLUMNS */
	assert_fits(out, 90);
	{
		char *row = line_starting(out, head);
		ck_assert_msg(row && strlen(row) == 90, "%s", out);
		ck_assert_msg(strcmp(row + 87, "...") == 0, "%s", row);
		free(row);
	}
	free(out);

	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Bytes in a command line that would act on a terminal (clear the screen,
 * retitle the window; C1's CSI; invalid UTF-8), held by the GPU lock's holder
 * and a slot's: status, gpulock wait and cpu_run's waiting line show them as
 * '?', as ps does, and status --json stays valid UTF-8, escaping the
 * controls and writing U+FFFD for each invalid byte. */
#define HOSTILE "\x1b[2J\x1b]0;pwned\x07"
#define HOSTILE_SHOWN "?[2J?]0;pwned?"

static void assert_no_raw_bytes(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		ck_assert_msg(*c >= 0x20 || *c == '\n', "control byte %#x in:\n%s", *c, text);
	ck_assert_msg(!strstr(text, "\xff") && !strstr(text, "\xc2\x9b"), "raw bytes in:\n%s", text);
}

START_TEST(command_lines_cannot_act_on_the_terminal)
{
	char dir[200], slot1[220], cmd[700], head[160], want[800], *out, *err;
	const char *holder_argv[] = {"flock", h_lock, "sh", "-c", "cat", "sh", HOSTILE, "\xff\xfe",
	                             "\xc2\x9b", NULL};
	const char *slot_argv[] = {"flock", slot1, "sh", "-c", "cat", "sh", HOSTILE, NULL};
	const char *wait_argv[] = {gpulock(), "wait", "--timeout", "0", NULL};
	const char *queued_argv[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", dir, "-w", "0.2",
	                             "--on-timeout=fail", "true", NULL};
	struct tp_proc holder, slot_holder;

	h_setup();
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	snprintf(slot1, sizeof slot1, "%s/slot1", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	h_spawn(&holder, holder_argv, NULL, false);
	h_wait_holder(h_lock, holder.pid);
	h_spawn(&slot_holder, slot_argv, NULL, false);
	h_wait_holder(slot1, slot_holder.pid);

	ck_assert_int_eq(status(dir, NULL, &out), 1);
	assert_no_raw_bytes(out);
	snprintf(head, sizeof head, "  holder   pid %-7d %-10s ", (int)holder.pid, me());
	snprintf(cmd, sizeof cmd, "flock %s sh -c cat sh " HOSTILE_SHOWN " ?? ?", h_lock);
	assert_row(out, head, cmd);
	free(out);

	out = status_json(dir, "print(ascii(g[\"holder\"][\"command\"]))");
	snprintf(want, sizeof want,
	         "'flock %s sh -c cat sh \\x1b[2J\\x1b]0;pwned\\x07 \\ufffd\\ufffd \\x9b'\n", h_lock);
	ck_assert_str_eq(out, want);
	free(out);

	/* The holder as the preload's waiting line and gpulock wait name it. */
	ck_assert_int_eq(h_run(wait_argv, NULL, false, &out, &err), 75);
	assert_no_raw_bytes(err);
	snprintf(want, sizeof want, "(flock %s sh -c cat sh " HOSTILE_SHOWN " ?? ?)", h_lock);
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);

	/* And a slot's holder, as cpu_run's waiting line names it. */
	ck_assert_int_eq(h_run(queued_argv, NULL, false, &out, &err), 75);
	assert_no_raw_bytes(err);
	snprintf(want, sizeof want, "slot1: pid %d (flock %s sh -c cat sh " HOSTILE_SHOWN ")",
	         (int)slot_holder.pid, slot1);
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);

	close(holder.in);
	close(slot_holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(slot_holder.pid, 30), 0);
}
END_TEST

/* On a /proc mounted with hidepid=2, another user's processes are hidden:
 * their holder and waiter rows say so, as do gpulock wait's line and
 * status --json ("hidden": true), not "(exited)"; the lock still excludes.
 * As root, in a mount namespace of the test's own with a fresh procfs over
 * /proc (the machine's /proc is never remounted), then as nobody. */
START_TEST(status_names_a_holder_that_hidepid_hides)
{
	char dir[200], slot1[220], want[400], *out, *err;
	const char *holder_argv[] = {"flock", h_lock, "cat", NULL};
	const char *wait_argv[] = {NULL, "wait", "--timeout", "0", NULL};
	const char *json_argv[] = {NULL, "status", "--json", "--slot-dir", dir, NULL};
	const char *slot_argv[] = {"flock", slot1, "cat", NULL};
	const char *queued_argv[] = {NULL, "-s", "1", "-d", dir, "-w", "0.2", "--on-timeout=fail",
	                             "true", NULL};
	struct tp_proc holder, slot_holder;

	h_setup();
	if (getenv("GL_UNDER_VALGRIND")) {
		/* There, once the hidepid=2 procfs was mounted, a process that
		 * became nobody could not even read the test's files (CI). What
		 * is tested is /proc's view, not memory: the other builds run it. */
		tp_skip("status_names_a_holder_that_hidepid_hides", "not under valgrind");
		return;
	}
	if (!h_need_nobody("status_names_a_holder_that_hidepid_hides"))
		return;
	snprintf(dir, sizeof dir, "%s/slots", h_dir);
	snprintf(slot1, sizeof slot1, "%s/slot1", dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	h_spawn(&holder, holder_argv, NULL, false);
	h_wait_holder(h_lock, holder.pid);
	h_spawn(&slot_holder, slot_argv, NULL, false);
	h_wait_holder(slot1, slot_holder.pid);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") != 0) {
		tp_skip("status_names_a_holder_that_hidepid_hides",
		        "cannot mount a procfs with hidepid=2 here");
		close(holder.in);
		close(slot_holder.in);
		ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
		ck_assert_int_eq(tp_wait(slot_holder.pid, 30), 0);
		return;
	}
	h_become_nobody();
	wait_argv[0] = json_argv[0] = gpulock();
	queued_argv[0] = h_artifact("GL_CPU_RUN");

	ck_assert_int_eq(status(dir, NULL, &out), 1);
	snprintf(want, sizeof want,
	         "  holder   pid %-7d held by another user's process (hidden by /proc's hidepid)\n",
	         (int)holder.pid);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);

	ck_assert_int_eq(h_run(json_argv, NULL, false, &out, NULL), 1);
	snprintf(want, sizeof want, "\"holder\": {\"pid\": %d, \"hidden\": true, \"uid\": null",
	         (int)holder.pid);
	ck_assert_msg(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);

	ck_assert_int_eq(h_run(wait_argv, NULL, false, &out, &err), 75); /* still excluded */
	snprintf(want, sizeof want,
	         "gpulock: the GPU lock %s is held by another user's process (pid %d, hidden by "
	         "/proc's hidepid)\n",
	         h_lock, (int)holder.pid);
	ck_assert_str_eq(err, want);
	free(out);
	free(err);

	/* A slot's holder, as cpu_run's waiting line names it. */
	ck_assert_int_eq(h_run(queued_argv, NULL, false, &out, &err), 75);
	snprintf(want, sizeof want,
	         "held by slot1: another user's process (pid %d, hidden by /proc's hidepid)\n",
	         (int)slot_holder.pid);
	ck_assert_msg(strstr(err, want), "no '%s' in:\n%s", want, err);
	free(out);
	free(err);

	close(holder.in);
	close(slot_holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(slot_holder.pid, 30), 0);
}
END_TEST

/* A shared directory that a user's job made (and so owns), not root: a
 * note says so, and how to put it right, as doctor does; JSON the same. As
 * the test's own user, the slot directory is ours: it is "not root" unless
 * we are root, in which case it is given to nobody. */
START_TEST(status_notes_a_shared_directory_root_does_not_own)
{
	char slots[300], gpu_dir[300], want[1024], *out;
	const char *env[] = {NULL, NULL};
	char env_dir[320];

	h_setup();
	snprintf(slots, sizeof slots, "%s/slots", h_dir);
	snprintf(gpu_dir, sizeof gpu_dir, "%s.d", h_lock);
	ck_assert_int_eq(mkdir(slots, 01777), 0);
	ck_assert_int_eq(chmod(slots, 01777), 0);
	ck_assert_int_eq(mkdir(gpu_dir, 0755), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(slots, 65534, 65534), 0);
		ck_assert_int_eq(chown(gpu_dir, 0, 0), 0);
	}
	snprintf(env_dir, sizeof env_dir, "GPU_LOCK_DIR=%s", gpu_dir);
	env[0] = env_dir;
	ck_assert_int_eq(status(slots, env, &out), 0);
	snprintf(want, sizeof want, "  note: cpu_run's slot directory %s is owned by ", slots);
	/* both directories are ours as an ordinary user; as root, the slots' */
	ck_assert_msg(tp_count(out, want) == 1 &&
	                      tp_count(out, ", not root: other users' jobs may be refused it; as "
	                                    "root: systemd-tmpfiles --create gpulock.conf") ==
	                              (geteuid() == 0 ? 1 : 2),
	              "%s", out);
	snprintf(want, sizeof want, "  note: per-GPU lock directory %s %s", gpu_dir,
	         geteuid() == 0 ? "has mode 0755, not 1777; as root: systemd-tmpfiles"
	                        : "is owned by ");
	ck_assert_msg(tp_count(out, want) == 1, "want '%s' in:\n%s", want, out);
	free(out);
	ck_assert_int_eq(chmod(gpu_dir, 01777), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(chown(slots, 0, 0), 0);
	ck_assert_int_eq(status(slots, env, &out), 0);
	ck_assert_msg(tp_count(out, "note:") == (geteuid() == 0 ? 0 : 2), "%s", out);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("status");

	tcase_add_test(tc, status_names_who_holds_the_lock_for_gpu_run_sh);
	tcase_add_test(tc, status_names_the_job_of_cpu_run_sh);
	tcase_add_test(tc, status_in_a_missing_directory_says_what_run_and_wait_say);
	tcase_add_test(tc, status_never_waits_or_holds_longer_than_running);
	tcase_add_test(tc, held_for_survives_a_waiter_that_truncates_the_file);
	tcase_add_test(tc, status_shows_a_cpu_run_waiting_for_memory);
	tcase_add_test(tc, status_rows_fit_the_terminal);
	tcase_add_test(tc, command_lines_cannot_act_on_the_terminal);
	tcase_add_test(tc, status_names_a_holder_that_hidepid_hides);
	tcase_add_test(tc, status_notes_a_shared_directory_root_does_not_own);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
