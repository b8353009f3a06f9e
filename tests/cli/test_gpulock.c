/* gpulock, the command: every subcommand against real processes and the
 * fake driver, every exit code, every bad input. */
#include "cli_harness.h"
#include "gl_lock.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(bad_input_is_refused_before_anything_runs)
{
	char marker[200], touch[260], dirlock[200], link[200];

	h_setup();
	snprintf(marker, sizeof marker, "%s/ran", h_dir);
	snprintf(touch, sizeof touch, "touch %s", marker);
	snprintf(dirlock, sizeof dirlock, "%s/d.lock", h_dir);
	snprintf(link, sizeof link, "%s/l.lock", h_dir);
	mkdir(dirlock, 0755);
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	{
		const char *a[] = {gpulock(), NULL};
		expect(a, 125, NULL, "missing command");
	}
	{
		const char *a[] = {gpulock(), "frobnicate", NULL};
		expect(a, 125, NULL, "unknown command 'frobnicate'");
	}
	{
		const char *a[] = {gpulock(), "run", "--frob", "--", "sh", "-c", touch, NULL};
		expect(a, 125, NULL, "unknown option '--frob'");
	}
	{
		const char *a[] = {gpulock(), "run", "--", NULL};
		expect(a, 125, NULL, "missing command");
	}
	{
		const char *a[] = {gpulock(), "run", "--timeout", "5x", "--", "sh", "-c", touch, NULL};
		expect(a, 125, NULL, "--timeout '5x': expected a duration (e.g. 30, 0.5, 1m30s, 2h, or forever)");
	}
	{
		const char *a[] = {gpulock(), "run", "--timeout", NULL};
		expect(a, 125, NULL, "missing value for option '--timeout'");
	}
	{
		const char *a[] = {gpulock(), "run", "-e", "-l", dirlock, "--", "sh", "-c", touch, NULL};
		expect(a, 125, NULL, "it is a directory");
	}
	{
		const char *a[] = {gpulock(), "run", "-l", link, "--", "sh", "-c", touch, NULL};
		expect(a, 125, NULL, "it is a symbolic link");
	}
	{
		const char *a[] = {gpulock(), "wait", "-t", "-1", NULL};
		expect(a, 125, NULL, "--timeout '-1'");
	}
	{
		const char *a[] = {gpulock(), "status", "extra", NULL};
		expect(a, 125, NULL, "unexpected argument 'extra'");
	}
	{
		const char *a[] = {gpulock(), "shell-init", "tcsh", NULL};
		expect(a, 125, NULL, "unknown shell 'tcsh'");
	}
	{
		static const char *const env[] = {"GPU_LOCK_TIMEOUT=nan", NULL};
		const char *a[] = {gpulock(), "run", "--", "sh", "-c", touch, NULL};
		char *err;
		ck_assert_int_eq(h_run(a, env, false, NULL, &err), 125);
		ck_assert_ptr_nonnull(strstr(err, "GPU_LOCK_TIMEOUT='nan': expected a duration"));
	}
	ck_assert_int_eq(access(marker, F_OK), -1); /* nothing ran */
}
END_TEST

START_TEST(help_and_version)
{
	const char *h[] = {gpulock(), "--help", NULL};
	const char *v[] = {gpulock(), "--version", NULL};

	h_setup();
	expect(h, 0, "Usage: gpulock COMMAND", NULL);
	expect(v, 0, "gpulock 0.", NULL);
}
END_TEST

START_TEST(run_exit_codes_are_the_commands)
{
	const char *own[] = {gpulock(), "run", "--", "sh", "-c", "exit 7", NULL};
	const char *sig[] = {gpulock(), "run", "--", "sh", "-c", "kill -TERM $$", NULL};
	const char *missing[] = {gpulock(), "run", "--", "no-such-command-here", NULL};
	char script[200];
	const char *noexec[] = {gpulock(), "run", "--", script, NULL};
	const char *eager[] = {gpulock(), "run", "--eager", "--", "sh", "-c", "exit 3", NULL};

	h_setup();
	snprintf(script, sizeof script, "%s/not-executable", h_dir);
	close(open(script, O_CREAT | O_WRONLY, 0644));
	expect(own, 7, NULL, NULL);
	expect(sig, 128 + SIGTERM, NULL, NULL);
	/* Not the caller's PATH: one with a directory this user cannot search
	 * (runuser keeps root's) makes execvp fail with EACCES instead. */
	ck_assert_int_eq(setenv("PATH", "/usr/bin:/bin", 1), 0);
	expect(missing, 127, NULL, "no-such-command-here: command not found");
	expect(noexec, 126, NULL, "not-executable: Permission denied");
	expect(eager, 3, NULL, NULL);
}
END_TEST

/* run --eager looks for its command before it waits for the lock: a typo
 * is reported at once, not after the wait (which may be hours). */
START_TEST(run_eager_finds_its_command_before_it_waits)
{
	const char *missing[] = {gpulock(), "run", "--eager", "--", "no-such-command-here", NULL};
	struct tp_proc holder;

	h_setup();
	h_start_gpu_holder(&holder);
	ck_assert_int_eq(setenv("PATH", "/usr/bin:/bin", 1), 0);
	expect(missing, 127, NULL, "gpulock: no-such-command-here: command not found");
	ck_assert_int_eq(gl_lock_is_held(h_lock), 1); /* the holder's still: nobody waited */
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Lazy: the preload is injected; only a GPU command takes the lock. */
START_TEST(run_lazy_locks_only_gpu_commands)
{
	const char *plain[] = {gpulock(), "run", "--", "sh", "-c", "echo hi", NULL};
	const char *gpu[] = {gpulock(), "run", "--", h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *keep[] = {gpulock(), "run", "--", "sh", "-c", "echo $LD_PRELOAD", NULL};
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX"); /* a sanitizer runtime */
	char first[4200], env_preload[4300], want[8600], *trace, *out;
	const char *other[] = {env_preload, NULL};

	h_setup();
	expect(plain, 0, "hi\n", NULL);
	ck_assert_int_eq(access(h_lock, F_OK), -1); /* no GPU, no lock file */
	expect(gpu, 0, "cuInit=0\n", NULL);
	trace = tp_slurp(h_trace);
	ck_assert_int_eq(tp_count(trace, "held=1"), 1);
	ck_assert_int_eq(tp_count(trace, "held=0"), 0);
	/* An existing LD_PRELOAD stays first; ours is added once. */
	snprintf(first, sizeof first, "%s%s/nonexistent-first.so", prefix ? prefix : "",
	         prefix ? ":" : "");
	snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", first);
	ck_assert_int_eq(h_run(keep, other, false, &out, NULL), 0);
	snprintf(want, sizeof want, "%s:%s\n", first, h_artifact("GL_PRELOAD"));
	ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(run_eager_holds_the_lock_for_the_tree)
{
	const char *hold[] = {gpulock(), "run", "--eager", "--", "cat", NULL};
	const char *busy[] = {gpulock(), "run", "-e", "--no-wait", "--", "true", NULL};
	const char *bounded[] = {gpulock(), "run", "-e", "--timeout", "0.2", "--", "true", NULL};
	const char *held[] = {gpulock(), "run", "-e", "--", "sh", "-c", "echo $GPU_LOCK_HELD", NULL};
	const char *nested[] = {gpulock(), "run", "-e", "--", "bash", h_artifact("GL_SEED_GPU_RUN"),
	                        h_artifact("GL_CLIENT_DLSYM"), NULL};
	struct tp_proc c;

	h_setup();
	h_spawn(&c, hold, NULL, false);
	h_wait_holder(h_lock, c.pid); /* cat itself holds it: same pid after exec */
	expect(busy, 75, NULL, "at once (--no-wait)");
	expect(bounded, 75, NULL, "after 0.2s (--timeout)");
	close(c.in);
	ck_assert_int_eq(tp_wait(c.pid, 30), 0);
	expect(busy, 0, NULL, NULL);
	expect(held, 0, "gpulock:", NULL);
	/* The original tool nested under us sees GPU_LOCK_HELD: no deadlock. */
	expect(nested, 0, "cuInit=0\n", NULL);
}
END_TEST

START_TEST(status_shows_holder_and_waiters)
{
	const char *text[] = {gpulock(), "status", NULL};
	char script[600], want[64], *out;
	const char *json[] = {"sh", "-c", script, NULL};
	struct tp_proc holder, w1, w2;
	const char *wargv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};

	h_setup();
	expect(text, 0, "free (no lock file yet)", NULL);
	h_start_gpu_holder(&holder);
	h_spawn(&w1, wargv, NULL, true);
	h_wait_waiter(h_lock, w1.pid);
	h_spawn(&w2, wargv, NULL, true);
	h_wait_waiter(h_lock, w2.pid);

	ck_assert_int_eq(h_run(text, NULL, false, &out, NULL), 1);
	snprintf(want, sizeof want, "holder   pid %-7d", (int)holder.pid);
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	snprintf(want, sizeof want, "waiting  pid %-7d", (int)w1.pid);
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	snprintf(want, sizeof want, "waiting  pid %-7d", (int)w2.pid);
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	ck_assert_int_eq(tp_count(out, "client_dlsym"), 3);

	snprintf(script, sizeof script,
	         "\"%s\" status --json >%s/s.json; test $? = 1 || exit 9; python3 -c '"
	         "import json, sys; d = json.load(open(sys.argv[1]))[\"gpu_lock\"]; "
	         "assert d[\"state\"] == \"held\" and d[\"exists\"]; "
	         "print(d[\"holder\"][\"pid\"], *[w[\"pid\"] for w in d[\"waiters\"]]); "
	         "assert d[\"holder\"][\"user\"] and \"client_dlsym\" in d[\"holder\"][\"command\"]; "
	         "assert d[\"holder\"][\"held_seconds\"] >= 0 and d[\"more_waiters\"] == 0; "
	         "assert all(w[\"waiting_seconds\"] is None or w[\"waiting_seconds\"] >= 0 "
	         "for w in d[\"waiters\"])' %s/s.json",
	         gpulock(), h_dir, h_dir);
	ck_assert_int_eq(h_run(json, NULL, false, &out, NULL), 0);
	snprintf(want, sizeof want, "%d %d %d\n", (int)holder.pid, (int)w1.pid, (int)w2.pid);
	ck_assert_str_eq(out, want);

	close(holder.in);
	close(w1.in);
	close(w2.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(w1.pid, 30), 0);
	ck_assert_int_eq(tp_wait(w2.pid, 30), 0);
	expect(text, 0, "free", NULL);
}
END_TEST

/* A slot directory of the test's with slot 1 held the old way (flock(1) on
 * the file, as cpu_run.sh takes it) by *holder, until its stdin closes. */
static void hold_slot_one(char *dir, size_t dirlen, struct tp_proc *holder)
{
	static char slot[300];
	const char *argv[] = {"flock", slot, "cat", NULL};

	snprintf(dir, dirlen, "%s/slots", h_dir);
	ck_assert_int_eq(mkdir(dir, 01777), 0);
	snprintf(slot, sizeof slot, "%s/slot1", dir);
	h_spawn(holder, argv, NULL, false);
	h_wait_holder(slot, 0);
}

/* gpulock status for dir, run until its text contains want: the launchers'
 * tickets show in it (a state, not a sleep). Returns that text. */
static char *status_until(const char *dir, const char *want)
{
	const char *text[] = {gpulock(), "status", "--slot-dir", dir, NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", "CPU_RUN_QUIET=1", NULL};
	char *out = NULL;

	for (int i = 0; i < 20000; i++) {
		free(out);
		ck_assert_int_le(h_run(text, one, false, &out, NULL), 1);
		if (strstr(out, want))
			break;
		usleep(1000);
	}
	ck_assert_msg(strstr(out, want), "%s", out);
	return out;
}

/* The cpu_run side of status: a slot held the old way (flock on slotK) and
 * a cpu_run queued behind it. */
START_TEST(status_shows_cpu_run_slots_and_queue)
{
	char dir[200], script[900], want[96], *out;
	const char *queued_argv[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", dir, "true", NULL};
	const char *json[] = {"sh", "-c", script, NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", "CPU_RUN_QUIET=1", NULL};
	struct tp_proc holder, queued;

	h_setup();
	hold_slot_one(dir, sizeof dir, &holder);
	h_spawn(&queued, queued_argv, one, false);
	close(queued.in);
	out = status_until(dir, ": 1 of 1 busy, 1 queued");
	ck_assert_msg(strstr(out, "CPU slots"), "%s", out);
	snprintf(want, sizeof want, "queued   pid %-7d", (int)queued.pid);
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	ck_assert_msg(tp_count(out, "slot 1   pid ") == 1, "%s", out);
	snprintf(script, sizeof script,
	         "CPU_RUN_SLOTS=1 \"%s\" status --json --slot-dir %s | python3 -c '"
	         "import json, sys; c = json.load(sys.stdin)[\"cpu_run\"]; "
	         "assert c[\"exists\"] and len(c[\"slots\"]) == 1; "
	         "assert c[\"slots\"][0][\"state\"] == \"held\"; "
	         "assert c[\"more_queued\"] == 0; "
	         "print(c[\"queue\"][0][\"waiter\"][\"pid\"], c[\"queue\"][0][\"ticket\"] > 0)'",
	         gpulock(), dir);
	ck_assert_int_eq(h_run(json, NULL, false, &out, NULL), 0);
	snprintf(want, sizeof want, "%d True\n", (int)queued.pid);
	ck_assert_str_eq(out, want);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	ck_assert_int_eq(tp_wait(queued.pid, 30), 0);
}
END_TEST

/* A queue longer than status lists: every launcher is counted, the first 64
 * are listed, and the rest are summed up. */
START_TEST(status_counts_a_long_queue)
{
	enum { QUEUED = 70 };
	char dir[200], script[900], *out;
	const char *queued_argv[] = {h_artifact("GL_CPU_RUN"), "-s", "1", "-d", dir, "true", NULL};
	const char *json[] = {"sh", "-c", script, NULL};
	static const char *const one[] = {"CPU_RUN_SLOTS=1", "CPU_RUN_QUIET=1", NULL};
	struct tp_proc holder, queued[QUEUED];

	h_setup();
	hold_slot_one(dir, sizeof dir, &holder);
	for (int i = 0; i < QUEUED; i++) {
		h_spawn(&queued[i], queued_argv, one, false);
		close(queued[i].in);
	}
	out = status_until(dir, ": 1 of 1 busy, 70 queued");
	ck_assert_msg(tp_count(out, "  queued   pid ") == 64, "%s", out);
	ck_assert_msg(tp_count(out, "  ... and 6 more queued") == 1, "%s", out);
	free(out);
	snprintf(script, sizeof script,
	         "CPU_RUN_SLOTS=1 \"%s\" status --json --slot-dir %s | python3 -c '"
	         "import json, sys; c = json.load(sys.stdin)[\"cpu_run\"]; "
	         "print(len(c[\"queue\"]), c[\"more_queued\"])'",
	         gpulock(), dir);
	ck_assert_int_eq(h_run(json, NULL, false, &out, NULL), 0);
	ck_assert_str_eq(out, "64 6\n");
	free(out);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	for (int i = 0; i < QUEUED; i++)
		ck_assert_int_eq(tp_wait(queued[i].pid, 60), 0);
}
END_TEST

/* Its stderr, once the waiter has exited with status want. */
static char *finish(struct tp_proc *c, int want)
{
	char *err;

	close(c->in);
	tp_collect(c->out, c->err, NULL, &err);
	ck_assert_int_eq(tp_wait(c->pid, 30), want);
	close(c->out);
	close(c->err);
	return err;
}

/* gpulock wait announces its wait with the holder, as the preload does
 * (GPU_LOCK_QUIET and -q silence it), and names the holder on a timeout. */
START_TEST(wait_blocks_until_free_without_taking_it)
{
	const char *argv[] = {gpulock(), "wait", NULL};
	const char *quiet[] = {gpulock(), "wait", "-q", NULL};
	const char *bounded[] = {gpulock(), "wait", "--timeout", "0.2", NULL};
	const char *now[] = {gpulock(), "wait", "-t", "0", NULL};
	static const char *const quiet_env[] = {"GPU_LOCK_QUIET=1", NULL};
	char announce[300], held[300], *err;
	struct tp_proc holder, waiter;

	h_setup();
	expect_exact(argv, NULL, 0, "", ""); /* free: returns at once, silently */
	h_start_gpu_holder(&holder);
	snprintf(announce, sizeof announce, "gpulock: waiting for the GPU lock %s, held by pid %d (",
	         h_lock, (int)holder.pid);
	snprintf(held, sizeof held, "gpulock: the GPU lock %s is still held after 0.2s, by pid %d (",
	         h_lock, (int)holder.pid);
	ck_assert_int_eq(h_run(bounded, NULL, false, NULL, &err), 75);
	ck_assert_msg(strncmp(err, announce, strlen(announce)) == 0 && tp_count(err, held) == 1 &&
	                      tp_count(err, "gpulock: ") == 2,
	              "%s", err);
	free(err);
	snprintf(held, sizeof held, "gpulock: the GPU lock %s is held by pid %d (", h_lock,
	         (int)holder.pid);
	ck_assert_int_eq(h_run(now, NULL, false, NULL, &err), 75);
	ck_assert_msg(strncmp(err, held, strlen(held)) == 0 && tp_count(err, "gpulock: ") == 1, "%s",
	              err);
	free(err);

	/* A waiter announces itself once, and says nothing when it is free. */
	h_spawn(&waiter, argv, NULL, false);
	h_wait_waiter(h_lock, waiter.pid);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	err = finish(&waiter, 0);
	ck_assert_msg(strncmp(err, announce, strlen(announce)) == 0 && tp_count(err, "gpulock: ") == 1,
	              "%s", err);
	free(err);

	/* Silenced by -q and by GPU_LOCK_QUIET. */
	for (int i = 0; i < 2; i++) {
		h_start_gpu_holder(&holder);
		h_spawn(&waiter, i ? argv : quiet, i ? quiet_env : NULL, false);
		h_wait_waiter(h_lock, waiter.pid);
		close(holder.in);
		ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
		err = finish(&waiter, 0);
		ck_assert_str_eq(err, "");
		free(err);
	}
}
END_TEST

START_TEST(doctor_reports_how_a_program_reaches_the_gpu)
{
	const char *gpa[] = {gpulock(), "doctor", "--", h_artifact("GL_CLIENT_GPA"), "v2", NULL};
	const char *plain[] = {gpulock(), "doctor", "--", "true", NULL};
	char link[200];
	const char *bad[] = {gpulock(), "doctor", "--lock", link, NULL};

	h_setup();
	expect(gpa, 0, "reached cuInit through cuGetProcAddress_v2, asked by client_gpa", NULL);
	expect(gpa, 0, "OK   it took the GPU lock", NULL);
	expect(gpa, 0, "OK   CUDA driver found", NULL);
	expect(gpa, 0, "loads cleanly", NULL);
	expect(gpa, 0, "INFO LD_PRELOAD does not name the preload", NULL);
	expect(plain, 0, "never reached cuInit", NULL);
	snprintf(link, sizeof link, "%s/l.lock", h_dir);
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	expect(bad, 1, "FAIL lock file", NULL);
}
END_TEST

/* The lines doctor gives the shared directories: the per-GPU lock directory
 * (the lock path with .d added) and cpu_run's slot directory. */
static void doctor_dirs(char *gpu_dir, size_t glen, char *slots, size_t slen, char *env_slots,
                        size_t elen)
{
	h_setup();
	snprintf(gpu_dir, glen, "%s.d", h_lock);
	snprintf(slots, slen, "%s/slots", h_dir);
	snprintf(env_slots, elen, "CPU_RUN_SLOT_DIR=%s", slots);
}

/* doctor's output has the line, whole. */
static void has_line(const char *out, const char *fmt, const char *what, const char *path)
{
	char line[1200], want[1300];

	snprintf(line, sizeof line, fmt, what, path);
	snprintf(want, sizeof want, "\n%s\n", line);
	ck_assert_msg(strstr(out, want), "no line '%s' in:\n%s", line, out);
}

static char *doctor_out(const char *env_slots, int want_status)
{
	const char *a[] = {gpulock(), "doctor", NULL};
	char env_preload[4300];
	/* a sanitizer runtime first, where the build has one: doctor runs
	 * /bin/true with the preload, which fails without it */
	const char *extra[] = {env_slots, getenv("GL_TEST_PRELOAD_PREFIX") ? env_preload : NULL,
	                       NULL};
	char *out;

	preload_env(env_preload, sizeof env_preload, "");

	ck_assert_int_eq(h_run(a, extra, false, &out, NULL), want_status);
	return out;
}

#define FIX "as root: systemd-tmpfiles --create gpulock.conf (which the gpulock package runs " \
            "at boot), or rm -r it while unused"

/* Missing directories are fine; one a user owns is warned about, with the
 * fix. As root, the directories are given to nobody. */
START_TEST(doctor_warns_of_shared_directories_a_user_owns)
{
	char gpu_dir[260], slots[260], env_slots[300], fmt[600];
	uid_t owner = geteuid() == 0 ? 65534 : geteuid();
	struct passwd *pw = getpwuid(owner);
	char *out;

	doctor_dirs(gpu_dir, sizeof gpu_dir, slots, sizeof slots, env_slots, sizeof env_slots);
	out = doctor_out(env_slots, 0);
	has_line(out, "INFO %s %s does not exist yet: the first job that needs it creates it and "
	              "owns it (root-owned from boot with gpulock's tmpfiles.d entry)",
	         "per-GPU lock directory", gpu_dir);
	has_line(out, "INFO %s %s does not exist yet: the first job that needs it creates it and "
	              "owns it (root-owned from boot with gpulock's tmpfiles.d entry)",
	         "cpu_run's slot directory", slots);
	ck_assert_msg(tp_count(out, "FAIL") == 0, "%s", out);
	free(out);

	ck_assert_int_eq(mkdir(gpu_dir, 0700), 0);
	ck_assert_int_eq(chmod(gpu_dir, 01777), 0);
	ck_assert_int_eq(mkdir(slots, 0700), 0);
	ck_assert_int_eq(chmod(slots, 01777), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(gpu_dir, owner, owner), 0);
		ck_assert_int_eq(chown(slots, owner, owner), 0);
	}
	snprintf(fmt, sizeof fmt,
	         "WARN %%s %%s is owned by %s%suid %u, not root: other users' jobs may be refused "
	         "it; " FIX,
	         pw ? pw->pw_name : "", pw ? ", " : "", (unsigned)owner);
	out = doctor_out(env_slots, 0);
	has_line(out, fmt, "per-GPU lock directory", gpu_dir);
	has_line(out, fmt, "cpu_run's slot directory", slots);
	ck_assert_msg(tp_count(out, "FAIL") == 0, "%s", out);
	free(out);
}
END_TEST

/* Owned by root, mode 1777, as the tmpfiles.d entry makes them: OK. Another
 * mode, or a symbolic link, is warned about. Needs root (to own them). */
START_TEST(doctor_accepts_shared_directories_root_owns)
{
	char gpu_dir[260], slots[260], env_slots[300], *out;

	if (geteuid() != 0) {
		tp_skip("doctor_accepts_shared_directories_root_owns",
		        "needs root, to make directories root owns");
		return;
	}
	doctor_dirs(gpu_dir, sizeof gpu_dir, slots, sizeof slots, env_slots, sizeof env_slots);
	ck_assert_int_eq(mkdir(gpu_dir, 0700), 0);
	ck_assert_int_eq(chmod(gpu_dir, 01777), 0);
	ck_assert_int_eq(mkdir(slots, 0700), 0);
	ck_assert_int_eq(chmod(slots, 01777), 0);
	out = doctor_out(env_slots, 0);
	has_line(out, "OK   %s %s: owned by root, mode 1777", "per-GPU lock directory", gpu_dir);
	has_line(out, "OK   %s %s: owned by root, mode 1777", "cpu_run's slot directory", slots);
	free(out);

	ck_assert_int_eq(chmod(slots, 0755), 0);
	ck_assert_int_eq(rmdir(gpu_dir), 0);
	ck_assert_int_eq(symlink(slots, gpu_dir), 0);
	out = doctor_out(env_slots, 0);
	has_line(out, "WARN %s %s is not a directory (a symbolic link, owned by root, uid 0); " FIX,
	         "per-GPU lock directory", gpu_dir);
	has_line(out, "WARN %s %s has mode 0755, not 1777; " FIX, "cpu_run's slot directory", slots);
	ck_assert_msg(tp_count(out, "FAIL") == 0, "%s", out);
	free(out);
}
END_TEST

/* An LD_PRELOAD entry that does not load (an old install's path) is named
 * as the culprit; the library that goes with gpulock is checked and used. */
START_TEST(doctor_names_the_entry_that_fails_to_load)
{
	const char *gpa[] = {gpulock(), "doctor", "--", h_artifact("GL_CLIENT_GPA"), "v2", NULL};
	char stale[256], link[256], env_preload[4400], want[1024], *out, *err;
	const char *extra[] = {env_preload, NULL};

	h_setup();
	snprintf(stale, sizeof stale, "%s/old/lib/libgpulock_preload.so", h_dir);
	preload_env(env_preload, sizeof env_preload, stale);
	ck_assert_int_eq(h_run(gpa, extra, false, &out, &err), 0);
	snprintf(want, sizeof want,
	         "WARN LD_PRELOAD entry '%s' cannot be preloaded (cannot open shared object file): "
	         "the loader says so in every program; remove it (left by an old install?)\n",
	         stale);
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	snprintf(want, sizeof want, "OK   the preload %s loads cleanly", h_artifact("GL_PRELOAD"));
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	ck_assert_msg(tp_count(out, "INFO LD_PRELOAD does not name the preload") == 1, "%s", out);
	ck_assert_msg(tp_count(out, "OK   it took the GPU lock") == 1, "%s", out);
	ck_assert_msg(tp_count(out, "FAIL") == 0, "%s", out);
	free(out);
	free(err);

	/* Named through a link, the library is found in LD_PRELOAD. */
	snprintf(link, sizeof link, "%s/gl.so", h_dir);
	ck_assert_int_eq(symlink(h_artifact("GL_PRELOAD"), link), 0);
	preload_env(env_preload, sizeof env_preload, link);
	ck_assert_int_eq(h_run(gpa, extra, false, &out, NULL), 0);
	ck_assert_msg(tp_count(out, "OK   LD_PRELOAD names the preload") == 1, "%s", out);
	ck_assert_msg(tp_count(out, "OK   it took the GPU lock") == 1, "%s", out);
	free(out);
}
END_TEST

/* --timeout reaches the command's preload as a value it accepts: "%g" once
 * gave it 1e+06, which it refused, waiting forever (found by fuzz_cli).
 * A sanitizer runtime, where there is one, stays first in LD_PRELOAD. */
/* An empty variable is the default, as ${VAR:-default} in the original
 * tools, for gpulock as for the preload and cpu_run: GPU_LOCK_PATH= means
 * /tmp/gpu.lock, which -l overrides here so that the test stays in its
 * directory. */
START_TEST(empty_variables_mean_the_defaults)
{
	static const char *const empty[] = {"GPU_LOCK_PATH=", "GPU_LOCK_TIMEOUT=",
	                                    "GPU_LOCK_QUIET=", "GPU_LOCK_ON_TIMEOUT=",
	                                    "GPU_LOCK_ON_ERROR=", "GPU_LOCK_DEBUG=", NULL};
	const char *run[] = {gpulock(), "run", "-e", "-l", h_lock, "--", "sh", "-c", "echo ran", NULL};
	const char *wait[] = {gpulock(), "wait", "-l", h_lock, NULL};
	char *out, *err;

	h_setup();
	ck_assert_int_eq(h_run(run, empty, false, &out, &err), 0);
	ck_assert_str_eq(out, "ran\n");
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	ck_assert_int_eq(h_run(wait, empty, false, &out, &err), 0);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

/* Durations with units, and "forever", reach the preload in a form it reads
 * back the same. A sanitizer runtime, where there is one, comes first. */
START_TEST(run_passes_durations_with_units_and_forever)
{
	static const char *const cases[][2] = {{"1m30s", "90.000000000"}, {"forever", "forever"}};
	char want[64], env_preload[4300];
	const char *extra[] = {env_preload, NULL};

	h_setup();
	preload_env(env_preload, sizeof env_preload, "");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *env[] = {gpulock(), "run", "-t", cases[i][0], "--", "sh", "-c",
		                     "printf '%s\\n' \"$GPU_LOCK_TIMEOUT\"", NULL};

		snprintf(want, sizeof want, "%s\n", cases[i][1]);
		expect_exact(env, extra, 0, want, "");
	}
}
END_TEST

START_TEST(run_passes_any_timeout_to_the_preload_exactly)
{
	static const char *const cases[][2] = {{"1000000", "1000000.000000000"},
	                                       {"31536000", "31536000.000000000"},
	                                       {"0.0000001", "0.000000100"},
	                                       {"2.5", "2.500000000"}};
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX");
	char env_preload[4200], want[64];
	const char *extra[] = {env_preload, NULL};
	char *out, *err;

	h_setup();
	snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", prefix ? prefix : "");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *env[] = {gpulock(), "run", "-t", cases[i][0], "--", "sh", "-c",
		                     "printf '%s\\n' \"$GPU_LOCK_TIMEOUT\"", NULL};
		const char *client[] = {gpulock(), "run", "-t", cases[i][0], "--",
		                        h_artifact("GL_CLIENT_DLSYM"), NULL};

		ck_assert_int_eq(h_run(env, prefix ? extra : NULL, false, &out, &err), 0);
		snprintf(want, sizeof want, "%s\n", cases[i][1]);
		ck_assert_str_eq(out, want);
		free(out);
		free(err);
		ck_assert_int_eq(h_run(client, prefix ? extra : NULL, false, &out, &err), 0);
		ck_assert_str_eq(out, "cuInit=0\n");
		ck_assert_str_eq(err, ""); /* no "GPU_LOCK_TIMEOUT=...: expected seconds" */
		free(out);
		free(err);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpulock");
	TCase *tc = tcase_create("gpulock");
	TCase *root = tcase_create("doctor-root");

	tcase_add_test(tc, bad_input_is_refused_before_anything_runs);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, run_exit_codes_are_the_commands);
	tcase_add_test(tc, run_eager_finds_its_command_before_it_waits);
	tcase_add_test(tc, run_lazy_locks_only_gpu_commands);
	tcase_add_test(tc, run_eager_holds_the_lock_for_the_tree);
	tcase_add_test(tc, status_shows_holder_and_waiters);
	tcase_add_test(tc, status_shows_cpu_run_slots_and_queue);
	tcase_add_test(tc, status_counts_a_long_queue);
	tcase_add_test(tc, wait_blocks_until_free_without_taking_it);
	tcase_add_test(tc, doctor_reports_how_a_program_reaches_the_gpu);
	tcase_add_test(tc, doctor_names_the_entry_that_fails_to_load);
	tcase_add_test(tc, doctor_warns_of_shared_directories_a_user_owns);
	tcase_add_test(tc, run_passes_any_timeout_to_the_preload_exactly);
	tcase_add_test(tc, empty_variables_mean_the_defaults);
	tcase_add_test(tc, run_passes_durations_with_units_and_forever);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(root, doctor_accepts_shared_directories_root_owns);
	tcase_set_tags(root, "conditional");
	tcase_set_timeout(root, 60);
	suite_add_tcase(s, root);
	return tp_run_suite(s);
}
