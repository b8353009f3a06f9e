/* gpulock status on a machine with GPUs (fake ones, fake_gpus.h): a line
 * per GPU, the whole-machine lock held shared by jobs on single GPUs, the
 * requests that wait for the whole machine, the queue of gpulock run
 * --gpus, NVML's memory, the JSON of it all, and holders in another PID
 * namespace. Output is compared whole, with its durations made "T". */
#include "cli_harness.h"
#include "fake_gpus.h"
#include "preload_harness.h"
#include "procs.h"
#include "gl_hardened.h"
#include "gl_proc.h"

#include <check.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL "NVIDIA H100 80GB HBM3"

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

/* text with every duration made "T" (malloc'd), the columns' padding with
 * it: "held for 1.2s   " is "held for T ", and a waiter's "waiting 3s  ",
 * or "running 3s  " where the kernel does not say when it blocked
 * (CONFIG_SCHED_DEBUG), is "waiting T ". */
static char *timeless(const char *text)
{
	regex_t re;
	regmatch_t m[2];
	size_t len = strlen(text), at = 0;
	char *out = malloc(len + 1);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(regcomp(&re, "(held for|waiting|running) [0-9][0-9.dhms]* *", REG_EXTENDED),
	                 0);
	while (regexec(&re, text, 2, m, 0) == 0) {
		const char *word = strncmp(text + m[1].rm_so, "held", 4) == 0 ? "held for" : "waiting";

		memcpy(out + at, text, (size_t)m[1].rm_so);
		at += (size_t)m[1].rm_so;
		at += (size_t)sprintf(out + at, "%s T ", word); /* never longer than what it replaces */
		text += m[0].rm_eo;
	}
	strcpy(out + at, text);
	regfree(&re);
	return out;
}

static char slots[300];

/* gpulock status (text), durations made "T"; its exit status. */
static int status(char **out)
{
	const char *argv[] = {gpulock(), "status", "--slot-dir", slots, NULL};
	char *raw;
	int r = h_run(argv, NULL, false, &raw, NULL);

	*out = timeless(raw);
	free(raw);
	return r;
}

static bool setup(const char *test, unsigned n)
{
	h_setup();
	snprintf(slots, sizeof slots, "%s/slots", h_dir);
	return fake_gpus(test, n, NULL);
}

/* The lines every status here ends with: no slot directory. */
/* The end of the text: the note on the per-GPU lock directory when it is
 * not root's (as an ordinary user runs the tests, the first job made it
 * and owns it), then the slots' line. */
static const char *slots_line(void)
{
	static char line[1400];
	char dir[400], who[96];
	struct stat st;
	size_t at = 0;

	snprintf(dir, sizeof dir, "%s.d", h_lock);
	if (lstat(dir, &st) == 0 && st.st_uid != 0) {
		gl_owner_text(st.st_uid, who, sizeof who);
		at = (size_t)snprintf(line, sizeof line,
		                      "  note: per-GPU lock directory %s is owned by %s, not root: "
		                      "other users' jobs may be refused it; as root: systemd-tmpfiles "
		                      "--create gpulock.conf (which the gpulock package runs at boot), "
		                      "or rm -r it while unused\n",
		                      dir, who);
	}
	snprintf(line + at, sizeof line - at, "CPU slots %s: none (no slot directory yet)\n", slots);
	return line;
}

/* A preloaded client, seeing cvd ("CUDA_VISIBLE_DEVICES=1"; NULL: every
 * GPU), that holds what it took until its stdin closes. Returns once it has
 * passed cuInit, or at once when it is expected to wait. */
static void client(struct tp_proc *c, const char *cvd, bool expect_wait)
{
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[] = {"CLIENT_HOLD=1", cvd, NULL};
	char *line;

	h_spawn(c, argv, extra, true);
	if (expect_wait)
		return;
	line = tp_read_line(c->out, 30);
	ck_assert_msg(line && strcmp(line, "cuInit=0") == 0, "client: %s", line ? line : "(EOF)");
	free(line);
}

static void finish(struct tp_proc *c)
{
	close(c->in);
	tp_collect(c->out, c->err, NULL, NULL);
	tp_wait(c->pid, 30);
	close(c->out);
	close(c->err);
}

/* pid's command line, its arguments joined by spaces (static): what status
 * shows, valgrind's own words included under memcheck. */
static const char *command_of(pid_t pid)
{
	static char cmd[4096];
	char path[48];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(cmd, 1, sizeof cmd - 1, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i + 1 < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	cmd[n] = '\0';
	return cmd;
}

START_TEST(all_free)
{
	char want[2000], *out;

	if (!setup(__func__, 2))
		return;
	ck_assert_int_eq(status(&out), 0);
	snprintf(want, sizeof want,
	         "GPU lock %s: free (no lock file yet)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  free\n%s",
	         h_lock, h_lock, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* CUDA_VISIBLE_DEVICES=1: the machine shared, GPU 1 exclusive; then a
 * second client for GPU 1 waits on its lock (the machine shared too). */
START_TEST(a_gpu_held_and_waited_for)
{
	struct tp_proc a, b;
	char want[12000], cmd[4096], *out;

	if (!setup(__func__, 2))
		return;
	client(&a, "CUDA_VISIBLE_DEVICES=1", false);
	snprintf(cmd, sizeof cmd, "%s", command_of(a.pid));
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 1 job on single GPUs (pid %d)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  held for T by pid %d (%s): %s\n%s",
	         h_lock, (int)a.pid, h_lock, (int)a.pid, me(), cmd, slots_line());
	ck_assert_str_eq(out, want);
	free(out);

	client(&b, "CUDA_VISIBLE_DEVICES=1", true);
	tp_wait_lock(fake_gpu_lock(h_lock, 1), b.pid, true, 20);
	ck_assert_int_eq(status(&out), 1);
	/* b waits for its GPU without the machine lock: it takes that last */
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 1 job on single GPUs (pid %d)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  held for T by pid %d (%s), 1 waiting (pid %d): "
	         "%s\n%s",
	         h_lock, (int)a.pid, h_lock, (int)a.pid, me(), (int)b.pid, cmd, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	finish(&a);
	finish(&b);
}
END_TEST

/* flock(1) asks for every GPU while a job holds one. */
START_TEST(a_whole_machine_request_waits)
{
	const char *flock_argv[] = {"flock", "-x", h_lock, "cat", NULL};
	struct tp_proc a, w;
	char want[3000], *out;

	if (!setup(__func__, 2))
		return;
	client(&a, "CUDA_VISIBLE_DEVICES=0", false);
	h_spawn(&w, flock_argv, NULL, false);
	tp_wait_lock(h_lock, w.pid, true, 20);
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 1 job on single GPUs (pid %d); 1 waiting for the whole "
	         "machine\n"
	         "  waiting  pid %-7d %-10s waiting T flock -x %s cat\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  held for T by pid %d (%s): %s\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  free\n%s",
	         h_lock, (int)a.pid, (int)w.pid, me(), h_lock, h_lock, (int)a.pid, me(),
	         command_of(a.pid), slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	finish(&a);
	tp_wait_lock(h_lock, w.pid, false, 20);
	finish(&w);
}
END_TEST

/* Wait (20 s at most) until pid runs cmd: gpulock has exec'd it. */
static void wait_command(pid_t pid, const char *cmd)
{
	char have[256] = "";

	for (double end = tp_now() + 20; tp_now() < end; usleep(1000))
		if (gl_proc_cmdline(pid, have, sizeof have) == 0 && strcmp(have, cmd) == 0)
			return;
	ck_abort_msg("pid %d runs '%s', not '%s'", (int)pid, have, cmd);
}

static void job(struct tp_proc *c, const char *k)
{
	const char *argv[] = {gpulock(), "run", "--gpus", k, "--", "cat", NULL};

	h_spawn(c, argv, NULL, false);
}

/* Two GPUs of three taken by one job; a request for two waits at the head
 * of the queue (for GPU 0 or 1, holding none), one for one behind it. */
START_TEST(the_gpus_queue)
{
	struct tp_proc j1, j2, j3;
	char want[12000], j2_cmd[4096], j3_cmd[4096], *out, *line;

	if (!setup(__func__, 3))
		return;
	job(&j1, "2");
	wait_command(j1.pid, "cat");
	job(&j2, "2");
	tp_wait_lock(fake_gpu_lock(h_lock, 0), j2.pid, true, 20);
	tp_wait_lock(fake_gpu_lock(h_lock, 1), j2.pid, true, 20);
	job(&j3, "1");
	line = tp_read_line(j3.err, 30); /* said once its ticket is taken */
	ck_assert_msg(line && strstr(line, "1 request ahead in the queue"), "%s", line);
	free(line);
	snprintf(j2_cmd, sizeof j2_cmd, "%s", command_of(j2.pid));
	snprintf(j3_cmd, sizeof j3_cmd, "%s", command_of(j3.pid));
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 1 job on single GPUs (pid %d)\n"
	         "GPUs: 3, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  held for T by pid %d (%s), 1 waiting (pid %d): cat\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  held for T by pid %d (%s), 1 waiting (pid %d): cat\n"
	         "  GPU 2  GPU-d2000000  " MODEL "  free\n"
	         "GPU queue %s.d: 2 waiting for GPUs (gpulock run --gpus)\n"
	         "  2 GPUs   pid %-7d %-10s waiting T %s\n"
	         "  1 GPU    pid %-7d %-10s waiting T %s\n%s",
	         h_lock, (int)j1.pid, h_lock, (int)j1.pid, me(), (int)j2.pid,
	         (int)j1.pid, me(), (int)j2.pid, h_lock, (int)j2.pid, me(), j2_cmd, (int)j3.pid,
	         me(), j3_cmd, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	finish(&j1);
	wait_command(j2.pid, "cat");
	wait_command(j3.pid, "cat");
	finish(&j2);
	finish(&j3);
}
END_TEST

/* python3 reads --json as strict UTF-8 and strict JSON, and prints what
 * the script picks from it (d: the whole object). */
static char *status_json(const char *script)
{
	char sh[4000], *out;
	const char *argv[] = {"sh", "-c", sh, NULL};

	snprintf(sh, sizeof sh,
	         "\"%s\" status --json --slot-dir %s >%s/s.json; python3 -c '"
	         "import json, sys\n"
	         "d = json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\"))\n"
	         "%s' %s/s.json",
	         gpulock(), slots, h_dir, script, h_dir);
	ck_assert_int_eq(h_run(argv, NULL, false, &out, NULL), 0);
	return out;
}

START_TEST(json_carries_the_same)
{
	static const char script[] =
	        "m = d[\"gpu_lock\"]\n"
	        "print(m[\"state\"], m[\"holder\"], m[\"other_pid_namespace\"],\n"
	        "      [h[\"pid\"] for h in m[\"shared_holders\"]], m[\"more_shared_holders\"],\n"
	        "      [(w[\"pid\"], w[\"exclusive\"], w[\"command\"]) for w in m[\"waiters\"]])\n"
	        "for g in d[\"gpus\"]:\n"
	        "    h = g[\"holder\"]\n"
	        "    print(g[\"index\"], g[\"uuid\"], g[\"bus\"], g[\"model\"], g[\"memory_used\"],\n"
	        "          g[\"memory_total\"], g[\"state\"], g[\"other_pid_namespace\"],\n"
	        "          h and (h[\"pid\"], h[\"user\"], h[\"command\"],\n"
	        "                 0 <= h[\"held_seconds\"] <= h[\"running_seconds\"]),\n"
	        "          [w[\"pid\"] for w in g[\"waiters\"]], g[\"more_waiters\"])\n"
	        "for t in d[\"gpu_queue\"]:\n"
	        "    print(t[\"ticket\"] > 0, t[\"gpus\"], t[\"waiter\"][\"pid\"],\n"
	        "          t[\"waiter\"][\"command\"], t[\"waiter\"][\"waiting_seconds\"] >= 0)\n";
	const char *flock_argv[] = {"flock", "-x", h_lock, "cat", NULL};
	struct tp_proc a, w;
	char want[6000], cmd[4096], *out;

	if (!setup(__func__, 2))
		return;
	client(&a, "CUDA_VISIBLE_DEVICES=1", false);
	snprintf(cmd, sizeof cmd, "%s", command_of(a.pid));
	h_spawn(&w, flock_argv, NULL, false);
	tp_wait_lock(h_lock, w.pid, true, 20);
	out = status_json(script);
	snprintf(want, sizeof want,
	         "shared None False [%d] 0 [(%d, True, 'flock -x %s cat')]\n"
	         "0 %s 0000:18:00.0 " MODEL " None None free False None [] 0\n"
	         "1 %s 0000:19:00.0 " MODEL " None None held False (%d, '%s', '%s', True) [] 0\n",
	         (int)a.pid, (int)w.pid, h_lock, fake_gpu_uuid(0), fake_gpu_uuid(1), (int)a.pid,
	         me(), cmd);
	ck_assert_str_eq(out, want);
	free(out);
	finish(&a);
	tp_wait_lock(h_lock, w.pid, false, 20);
	finish(&w);
}
END_TEST

START_TEST(json_of_the_queue)
{
	static const char script[] =
	        "for t in d[\"gpu_queue\"]:\n"
	        "    print(t[\"ticket\"] > 0, t[\"gpus\"], t[\"waiter\"][\"pid\"],\n"
	        "          t[\"waiter\"][\"command\"], t[\"waiter\"][\"waiting_seconds\"] >= 0)\n";
	struct tp_proc j1, j2;
	char want[6000], *out;

	if (!setup(__func__, 2))
		return;
	job(&j1, "1");
	wait_command(j1.pid, "cat");
	job(&j2, "all");
	tp_wait_lock(h_lock, j2.pid, true, 20);
	out = status_json(script);
	snprintf(want, sizeof want, "True all %d %s True\n", (int)j2.pid, command_of(j2.pid));
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s", out);
	free(out);
	finish(&j1);
	wait_command(j2.pid, "cat");
	finish(&j2);
}
END_TEST

START_TEST(nvml_memory_is_shown)
{
	static const unsigned used[] = {12595, 0}, total[] = {81920, 81920};
	char want[2000], *out;

	if (!setup(__func__, 2))
		return;
	fake_gpus_memory(2, NULL, used, total);
	ck_assert_int_eq(status(&out), 0);
	snprintf(want, sizeof want,
	         "GPU lock %s: free (no lock file yet)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  12.3/80.0 GiB  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  0.0/80.0 GiB  free\n%s",
	         h_lock, h_lock, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	out = status_json("print([(g[\"memory_used\"], g[\"memory_total\"]) for g in d[\"gpus\"]])\n");
	ck_assert_str_eq(out, "[(13206814720, 85899345920), (0, 85899345920)]\n");
	free(out);
}
END_TEST

/* A holder that /proc/locks leaves out: one in another PID namespace. A
 * process in a new PID namespace, with a /proc of its own (a container's,
 * sharing the lock directory), does not see the test's processes, nor
 * /proc/driver: NVML (the fake) lists the GPUs there. */
static bool pid_namespace(const char *test)
{
	const char *argv[] = {"unshare", "--pid", "--fork", "--mount-proc", "true", NULL};

	if (geteuid() != 0 || h_run(argv, NULL, false, NULL, NULL) != 0) {
		tp_skip(test, "needs root and unshare(1) --pid --mount-proc");
		return false;
	}
	return true;
}

/* flock -x path until its stdin closes; returns once it holds the lock. */
static void hold(struct tp_proc *c, const char *path)
{
	const char *argv[] = {"flock", "-x", path, "sh", "-c", "echo held; exec cat", NULL};
	char *line;

	h_spawn(c, argv, NULL, false);
	line = tp_read_line(c->out, 30);
	ck_assert_msg(line && strcmp(line, "held") == 0, "%s", line ? line : "(EOF)");
	free(line);
}

/* gpulock status in a new PID namespace, durations made "T". */
static int status_inside(char **out)
{
	const char *argv[] = {"unshare", "--pid", "--fork", "--mount-proc", gpulock(), "status",
	                      "--slot-dir", slots, NULL};
	char *raw;
	int r = h_run(argv, NULL, false, &raw, NULL);

	*out = timeless(raw);
	free(raw);
	return r;
}

/* A preloaded client in a new PID namespace: it waits for what the
 * holder outside holds, and says by whom; once that holder lets go, it
 * goes on. */
static void client_inside_waits(struct tp_proc *holder, const char *cvd, const char *what)
{
	const char *argv[] = {"unshare", "--pid", "--fork", "--mount-proc",
	                      h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[] = {"CLIENT_HOLD=1", cvd, NULL};
	struct tp_proc c;
	char want[1000], *line;

	h_spawn(&c, argv, extra, true);
	line = tp_read_line(c.err, 30);
	/* "gpulock: pid N waiting for WHAT, held by ...": N is its pid inside */
	ck_assert_ptr_nonnull(line);
	snprintf(want, sizeof want, " waiting for %s, held by a process in another PID namespace",
	         what);
	ck_assert_msg(strncmp(line, "gpulock: pid ", 13) == 0 && strstr(line, want) &&
	              strcmp(strstr(line, want), want) == 0, "%s", line);
	free(line);
	ck_assert(!tp_readable(c.out)); /* not past cuInit */
	finish(holder);
	line = tp_read_line(c.out, 30);
	ck_assert_str_eq(line, "cuInit=0");
	free(line);
	finish(&c);
}

START_TEST(a_holder_in_another_pid_namespace)
{
	static const unsigned none[] = {0, 0};
	struct tp_proc holder;
	char want[3000], what[600], *out;

	if (!setup(__func__, 2) || !pid_namespace(__func__))
		return;
	fake_gpus_memory(2, NULL, none, none);
	snprintf(want, sizeof want, "%s.d", h_lock);
	ck_assert_int_eq(mkdir(want, 01777), 0);
	ck_assert_int_eq(chmod(want, 01777), 0); /* as the preload makes it, whatever the umask */

	hold(&holder, fake_gpu_lock(h_lock, 1));
	ck_assert_int_eq(status_inside(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: free (no lock file yet)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  held by a process in another PID namespace\n%s",
	         h_lock, h_lock, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	snprintf(what, sizeof what, "the lock of GPU 1 %s", fake_gpu_lock(h_lock, 1));
	client_inside_waits(&holder, "CUDA_VISIBLE_DEVICES=1", what);

	hold(&holder, h_lock);
	ck_assert_int_eq(status_inside(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: held\n"
	         "  holder   held by a process in another PID namespace\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  free\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  free\n%s",
	         h_lock, h_lock, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	snprintf(what, sizeof what, "the GPU lock %s", h_lock);
	client_inside_waits(&holder, NULL, what);
}
END_TEST

/* ---- multi-process jobs: their ranks as one holder ---- */

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* A fake launcher (tests/integration/fake_launcher.py) under name, of n
 * ranks of client_dlsym, preloaded, with one or two extra settings (may be
 * NULL); returns once every rank has passed cuInit, their pids in rank[],
 * in order. */
static void start_job(struct tp_proc *c, const char *name, const char *family, unsigned n,
                      const char *e1, const char *e2, pid_t *rank)
{
	char link[512], count[8], *line, *word, *save = NULL;
	const char *argv[] = {link, family, count, "--", h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *extra[] = {e1, e2, NULL};
	unsigned k = 0;

	snprintf(link, sizeof link, "%s/%s", h_dir, name);
	snprintf(count, sizeof count, "%u", n);
	ck_assert_int_eq(symlink(h_artifact("GL_FAKE_LAUNCHER"), link), 0);
	h_spawn(c, argv, extra, true);
	line = tp_read_line(c->out, 60);
	ck_assert_msg(line && strcmp(line, "barrier") == 0, "launcher: %s", line ? line : "(EOF)");
	free(line);
	ck_assert_int_eq(write(c->in, "pids\n", 5), 5);
	line = tp_read_line(c->out, 30);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(strtok_r(line, " ", &save), "pids");
	while ((word = strtok_r(NULL, " ", &save)) != NULL && k < n)
		rank[k++] = (pid_t)atoi(word);
	ck_assert_uint_eq(k, n);
	free(line);
	qsort(rank, n, sizeof *rank, by_pid);
}

static void end_job(struct tp_proc *c)
{
	char *line;

	ck_assert_int_eq(write(c->in, "end\n", 4), 4);
	line = tp_read_line(c->out, 60);
	ck_assert_msg(line && strcmp(line, "done") == 0, "launcher: %s", line ? line : "(EOF)");
	free(line);
	finish(c);
}


/* A machine without GPUs: torchrun's two ranks hold its lock shared, one
 * holder, the job, by its launcher. */
START_TEST(a_job_holds_the_machine)
{
	static const char script[] =
	        "m = d[\"gpu_lock\"]\n"
	        "print(m[\"state\"], m[\"holder\"], d[\"gpus\"], m[\"more_shared_holders\"])\n"
	        "for h in m[\"shared_holders\"]:\n"
	        "    print(h[\"pid\"], h[\"command\"] == h[\"job\"][\"command\"],\n"
	        "          0 <= h[\"held_seconds\"] <= h[\"running_seconds\"], h[\"job\"])\n";
	static const char *const elsewhere[] = {"GPU_LOCK_PATH=/nonexistent/gpu.lock", NULL};
	const char *by_flag[] = {gpulock(), "status", "--lock", h_lock, "--slot-dir", slots, NULL};
	struct tp_proc a;
	pid_t r[2];
	char want[6000], cmd[4096], *out, *raw;

	if (!setup(__func__, 0))
		return;
	start_job(&a, "torchrun", "torch", 2, NULL, NULL, r);
	snprintf(cmd, sizeof cmd, "%s", command_of(a.pid));
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: held\n"
	         "  holder   held for T by the job of pid %d (%s), 2 ranks (pids %d, %d): %s\n%s",
	         h_lock, (int)a.pid, me(), (int)r[0], (int)r[1], cmd, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	/* --lock: the jobs' files beside that lock, whatever GPU_LOCK_PATH says */
	ck_assert_int_eq(h_run(by_flag, elsewhere, false, &raw, NULL), 1);
	out = timeless(raw);
	free(raw);
	ck_assert_str_eq(out, want);
	free(out);
	out = status_json(script);
	snprintf(want, sizeof want,
	         "shared None [] 0\n"
	         "%d True True {'launcher': %d, 'command': '%s', 'group': None, 'ranks': [%d, %d]}\n",
	         (int)a.pid, (int)a.pid, cmd, (int)r[0], (int)r[1]);
	ck_assert_str_eq(out, want);
	free(out);
	end_job(&a);
	ck_assert_int_eq(status(&out), 0);
	snprintf(want, sizeof want, "GPU lock %s: free\n%s", h_lock, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* A GPU_LOCK_GROUP of three on GPU 0: the GPU's line shows the group, the
 * whole-machine lock one job; JSON the same. */
START_TEST(a_group_holds_a_gpu)
{
	static const char script[] =
	        "m = d[\"gpu_lock\"]\n"
	        "print(m[\"state\"], [(h[\"pid\"], h[\"job\"]) for h in m[\"shared_holders\"]])\n"
	        "for g in d[\"gpus\"]:\n"
	        "    h = g[\"holder\"]\n"
	        "    print(g[\"index\"], g[\"state\"], h and (h[\"pid\"], h[\"job\"]))\n";
	struct tp_proc a;
	pid_t r[3];
	char want[6000], job_json[300], *out;

	if (!setup(__func__, 2))
		return;
	start_job(&a, "launch", "group", 3, "GPU_LOCK_GROUP=train-1", "CUDA_VISIBLE_DEVICES=0", r);
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 1 job on single GPUs (pid %d)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  held for T by group train-1 (%s), 3 processes "
	         "(pids %d, %d, %d)\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  free\n%s",
	         h_lock, (int)r[0], h_lock, me(), (int)r[0], (int)r[1], (int)r[2], slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	out = status_json(script);
	snprintf(job_json, sizeof job_json,
	         "{'launcher': None, 'command': None, 'group': 'train-1', 'ranks': [%d, %d, %d]}",
	         (int)r[0], (int)r[1], (int)r[2]);
	snprintf(want, sizeof want,
	         "shared [(%d, %s)]\n"
	         "0 held (%d, %s)\n"
	         "1 free None\n",
	         (int)r[0], job_json, (int)r[0], job_json);
	ck_assert_str_eq(out, want);
	free(out);
	end_job(&a);
}
END_TEST

/* torchrun's two ranks on GPU 1 beside a single client on GPU 0: two
 * holders of the whole machine, the job by its launcher's pid. */
START_TEST(a_job_beside_a_single_client)
{
	static const char script[] =
	        "for g in d[\"gpus\"]:\n"
	        "    h = g[\"holder\"]\n"
	        "    print(g[\"index\"], g[\"state\"], h[\"pid\"], h[\"job\"])\n";
	struct tp_proc a, c;
	pid_t r[2], first, second;
	char want[12000], cmd[4096], client_cmd[4096], *out;

	if (!setup(__func__, 2))
		return;
	start_job(&a, "torchrun", "torch", 2, "CUDA_VISIBLE_DEVICES=1", NULL, r);
	snprintf(cmd, sizeof cmd, "%s", command_of(a.pid));
	client(&c, "CUDA_VISIBLE_DEVICES=0", false);
	snprintf(client_cmd, sizeof client_cmd, "%s", command_of(c.pid));
	/* in the order of their first holder's pid */
	first = r[0] < c.pid ? a.pid : c.pid;
	second = r[0] < c.pid ? c.pid : a.pid;
	ck_assert_int_eq(status(&out), 1);
	snprintf(want, sizeof want,
	         "GPU lock %s: shared by 2 jobs on single GPUs (pids %d, %d)\n"
	         "GPUs: 2, locks in %s.d\n"
	         "  GPU 0  GPU-f0000000  " MODEL "  held for T by pid %d (%s): %s\n"
	         "  GPU 1  GPU-e1000000  " MODEL "  held for T by the job of pid %d (%s), 2 ranks "
	         "(pids %d, %d): %s\n%s",
	         h_lock, (int)first, (int)second, h_lock, (int)c.pid, me(), client_cmd, (int)a.pid,
	         me(), (int)r[0], (int)r[1], cmd, slots_line());
	ck_assert_str_eq(out, want);
	free(out);
	out = status_json(script);
	snprintf(want, sizeof want,
	         "0 held %d None\n"
	         "1 held %d {'launcher': %d, 'command': '%s', 'group': None, 'ranks': [%d, %d]}\n",
	         (int)c.pid, (int)a.pid, (int)a.pid, cmd, (int)r[0], (int)r[1]);
	ck_assert_str_eq(out, want);
	free(out);
	end_job(&a);
	finish(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status gpus");
	TCase *tc = tcase_create("status gpus");
	TCase *ns = tcase_create("status-pidns");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, all_free);
	tcase_add_test(tc, a_gpu_held_and_waited_for);
	tcase_add_test(tc, a_whole_machine_request_waits);
	tcase_add_test(tc, the_gpus_queue);
	tcase_add_test(tc, json_carries_the_same);
	tcase_add_test(tc, json_of_the_queue);
	tcase_add_test(tc, nvml_memory_is_shown);
	tcase_add_test(tc, a_job_holds_the_machine);
	tcase_add_test(tc, a_group_holds_a_gpu);
	tcase_add_test(tc, a_job_beside_a_single_client);
	suite_add_tcase(s, tc);
	tcase_set_tags(ns, "conditional");
	tcase_set_timeout(ns, 120);
	tcase_add_test(ns, a_holder_in_another_pid_namespace);
	suite_add_tcase(s, ns);
	return tp_run_suite(s);
}
