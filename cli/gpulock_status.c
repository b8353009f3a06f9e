/* gpulock status: the GPU lock (and the cpu_run slots) as text or JSON.
 *
 * JSON, one object:
 *   {"gpu_lock": {"path": str, "state": "free"|"held", "exists": bool,
 *                 "holder": null | PROC + "held_seconds": num|null,
 *                 "waiters": [PROC + "waiting_seconds": num|null, ...],
 *                 "more_waiters": int},
 *    "cpu_run": {"dir": str, "exists": bool,
 *                "slots": [{"slot": int,
 *                           "state": "free"|"held"|"waiting_for_memory",
 *                           "holder": null | PROC + "held_seconds": num|null
 *                                     (waiting_for_memory: "waiting_seconds")},
 *                          ...],
 *                "queue": [{"ticket": int, "waiter": PROC + "waiting_seconds"}, ...],
 *                "more_queued": int},
 *    "gpu_dir_problem": str|null, "cpu_run_dir_problem": str|null}
 *   (and the GPUs' part, gpulock_status_gpus.c, before "cpu_run")
 *   PROC = {"pid": int, "hidden": bool, "uid": int|null, "user": str|null,
 *           "command": str|null,
 *           "running_seconds": num|null}   (hidden: another user's live
 *                                           process that /proc's hidepid
 *                                           hides; null fields: hidden, or
 *                                           the process exited
 *                                           while we read it, or, for a
 *                                           holder, it took the lock and
 *                                           exited, and the process that
 *                                           inherited the lock from it is
 *                                           not ours to read: another
 *                                           user's)
 * A holder is the process that holds the lock now: the one that took it,
 * or, when that one has exited (gpu_run.sh's and cpu_run.sh's flock(1)),
 * the topmost process that inherited its fd. A cpu_run that holds a slot
 * and still its queue ticket has not started its job: it is waiting for
 * memory (--mem-avail); it is not counted or listed as queued.
 * "*_seconds" is never more than "running_seconds".
 * On a machine with GPUs, "gpu_lock" is the whole-machine lock: "state" is
 * "shared" and "shared_holders" lists them when jobs on some of the GPUs
 * hold it (LOCK_SH), and "gpus" and "gpu_queue" follow it
 * (gpulock_status_gpus.c); both are [] on a machine without. A waiter's
 * "exclusive" says it asks for the whole machine. "other_pid_namespace":
 * held by a process that /proc/locks does not show, the holder then pid 0.
 * A holder of a lock (gpu_lock's "holder" and "shared_holders", a GPU's
 * "holder") is HOLDER = PROC + "held_seconds" + "job": null, or, for the
 * ranks of a multi-process job (gl_status_jobs.h), one entry for them all:
 * {"launcher": int|null, "command": str|null, "group": str|null,
 * "ranks": [int, ...]}, its PROC the launcher's (a group's: its first
 * rank's).
 * Exit status: 0 when the GPUs are free, 1 when any is held or queued for,
 * 125 on errors. */
#include "gpulock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_proc.h"
#include "gl_slots.h"
#include "gl_status.h"
#include "gpulock_status.h"
#include "gl_text.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *status_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

/* ---- JSON ---- */

/* Always valid UTF-8 JSON, whatever the bytes: control characters (C0,
 * DEL, C1) escaped, and each byte that is not part of valid UTF-8 written
 * as U+FFFD, the replacement character. */
void status_json_string(const char *s)
{
	putchar('"');
	while (*s) {
		unsigned cp;
		size_t n = gl_text_char(s, &cp);

		if (n == 0)
			fputs("\\ufffd", stdout);
		else if (cp == '"' || cp == '\\')
			printf("\\%c", (char)cp);
		else if (gl_text_is_control(cp))
			printf("\\u%04x", cp);
		else
			fwrite(s, 1, n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

void status_json_seconds(const char *key, double v)
{
	if (v < 0)
		printf(", \"%s\": null", key);
	else
		printf(", \"%s\": %.3f", key, v);
}

void status_json_proc(const struct gl_status_proc *p, const char *since_key)
{
	status_json_proc_open(p, since_key);
	putchar('}');
}

void status_json_proc_open(const struct gl_status_proc *p, const char *since_key)
{
	char user[64];

	printf("{\"pid\": %d, \"hidden\": %s", (int)p->pid, p->hidden ? "true" : "false");
	if (p->gone) {
		printf(", \"uid\": null, \"user\": null, \"command\": null");
	} else {
		printf(", \"uid\": %u, \"user\": ", (unsigned)p->uid);
		status_json_string(status_user_name(p->uid, user, sizeof user));
		printf(", \"command\": ");
		status_json_string(p->command);
	}
	status_json_seconds("running_seconds", p->running);
	status_json_seconds(since_key, p->since);
}

/* ---- text ---- */

/* The width rows are cut to: the terminal's, when stdout is one (COLUMNS
 * where the terminal does not say); 0, no limit, otherwise. */
static size_t out_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	char *end;
	long n;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols && *cols) {
		n = strtol(cols, &end, 10);
		if (*end == '\0' && n > 0 && n < 100000)
			return (size_t)n;
	}
	return 80;
}

#define CUT_MARK "..."
#define CUT_KEEP 8 /* a command is never cut shorter than this, in characters */

/* A UTF-8 continuation byte: no column of its own. */
static bool continues(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += !continues((unsigned char)*s);
	return n;
}

/* The command, last on its row after used columns: cut to the width with
 * CUT_MARK at the end. cmd is safe for a terminal (gl_text_make_safe). */
void status_print_command(const char *cmd, size_t used, size_t width)
{
	const size_t mark = sizeof CUT_MARK - 1;
	size_t room = width > used ? width - used : 0, shown = 0;
	size_t keep = room >= CUT_KEEP + mark ? room - mark : CUT_KEEP;
	size_t n = columns(cmd);
	bool cut = width && n > room && n > keep + mark;

	for (const char *s = cmd; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (cut && !continues(c) && shown++ == keep)
			break;
		putchar(c);
	}
	if (cut)
		fputs(CUT_MARK, stdout);
	putchar('\n');
}

static void text_proc(const char *role, const struct gl_status_proc *p, const char *col,
                      size_t width)
{
	char user[64], head[160], *cmd;
	int used;

	if (p->hidden) { /* not "exited": it lives, /proc only hides it from us */
		bool waits = strcmp(role, "waiting") == 0 || strcmp(role, "queued") == 0;

		printf("  %-8s pid %-7d %sanother user's process (hidden by /proc's hidepid)\n",
		       role, (int)p->pid, waits ? "" : "held by ");
		return;
	}
	if (p->gone && p->inherited) {
		printf("  %-8s pid %-7d (exited; its fd holds the lock in a process not shown)\n",
		       role, (int)p->pid);
		return;
	}
	if (p->gone && p->pid <= 0) {
		printf("  %-8s held by a process in another PID namespace\n", role);
		return;
	}
	if (p->gone) {
		printf("  %-8s pid %-7d (exited)\n", role, (int)p->pid);
		return;
	}
	/* A command line is anyone's bytes, and so may be a user name: shown
	 * as ps shows them, so that they cannot act on the terminal. */
	cmd = strdup(p->command);
	status_user_name(p->uid, user, sizeof user);
	gl_text_make_safe(user);
	if (cmd)
		gl_text_make_safe(cmd);
	used = snprintf(head, sizeof head, "  %-8s pid %-7d %-10s %-18s ", role, (int)p->pid, user,
	                col);
	fputs(head, stdout);
	status_print_command(cmd ? cmd : "?", used > 0 ? (size_t)used : 0, width);
	free(cmd);
}

/* The time column: "held for 3m02s", "waiting 5s", or how long it has been
 * running when the other is unknown. */
void status_since_col(const struct gl_status_proc *p, const char *since_word, char *col,
                      size_t len)
{
	char t[32];

	if (p->since >= 0) {
		gl_log_duration(p->since, t, sizeof t);
		snprintf(col, len, "%s %s", since_word, t);
	} else if (p->running >= 0) {
		gl_log_duration(p->running, t, sizeof t);
		snprintf(col, len, "running %s", t);
	} else {
		snprintf(col, len, "-");
	}
}

void status_text_row(const char *role, const struct gl_status_proc *p, const char *since_word,
                     size_t width)
{
	char col[48];

	status_since_col(p, since_word, col, sizeof col);
	text_proc(role, p, col, width);
}

/* ---- jobs: the ranks of one job as one holder ---- */

#define PIDS_SHOWN 4 /* ranks named on a line */

void status_pids(const pid_t *pid, size_t n, size_t more, char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, " (pid%s", n + more == 1 ? "" : "s");

	for (size_t i = 0; i < n && i < PIDS_SHOWN && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s %d", i ? "," : "", (int)pid[i]);
	if (at < len)
		snprintf(buf + at, len - at, "%s)", n + more > PIDS_SHOWN ? ", ..." : "");
}

/* A job's launcher, described; exited where its pid is another process's
 * now (its start time differs). */
static void launcher(const struct gl_status_job *job, struct gl_status_proc *p)
{
	unsigned long long start;
	pid_t parent;

	gl_status_describe(job->launcher, p);
	if (!p->gone && (gl_proc_parent_and_start(job->launcher, &parent, &start) < 0 ||
	                 start != job->start)) {
		gl_status_proc_free(p);
		gl_status_describe(0, p);
		p->pid = job->launcher;
	}
}

size_t status_holders(const struct gl_status *st, const struct gl_status_jobs *jobs,
                      struct status_holder *h)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nshared; i++) {
		const struct gl_status_proc *p = &st->shared[i];
		const struct gl_status_job *job = p->pid > 0 ? gl_status_job_of(jobs, p->pid) : NULL;
		struct status_holder *e = NULL;

		/* a rank is its job's user's: another user's process that
		 * holds the file too is not of the job */
		if (job && (p->gone || p->uid != job->uid))
			job = NULL;
		for (size_t k = 0; job && k < n && !e; k++)
			e = h[k].job == job ? &h[k] : NULL;
		if (!e) {
			e = &h[n++];
			memset(e, 0, sizeof *e);
			e->job = job;
			e->proc = *p; /* its command stays st's */
			if (job && job->launcher > 0) {
				launcher(job, &e->proc);
				e->own = true;
				e->proc.since = p->since;
			}
		}
		if (!job)
			continue;
		e->rank[e->nranks++] = p->pid;
		if (p->since > e->proc.since)
			e->proc.since = p->since; /* its first rank's */
	}
	return n;
}

void status_holders_free(struct status_holder *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].own)
			gl_status_proc_free(&h[i].proc);
}

void status_job_text(const struct status_holder *h, char *buf, size_t len, char **cmd)
{
	const struct gl_status_proc *p = &h->proc;
	char col[48], user[64], pids[128], who[160];

	*cmd = NULL;
	status_since_col(p, "held for", col, sizeof col);
	if (strncmp(col, "held for", 8) != 0)
		snprintf(col, sizeof col, "held");
	status_pids(h->rank, h->nranks, 0, pids, sizeof pids);
	if (p->gone) {
		snprintf(user, sizeof user, "exited");
	} else {
		status_user_name(p->uid, user, sizeof user);
		gl_text_make_safe(user);
	}
	if (h->job->launcher > 0) {
		snprintf(who, sizeof who, "the job of pid %d (%s)", (int)h->job->launcher, user);
		if (!p->gone && (*cmd = strdup(p->command)) != NULL)
			gl_text_make_safe(*cmd);
	} else {
		char name[sizeof h->job->group];

		snprintf(name, sizeof name, "%s", h->job->group);
		gl_text_make_safe(name);
		snprintf(who, sizeof who, "group %s (%s)", name, p->gone ? "?" : user);
	}
	snprintf(buf, len, "%s by %s, %zu %s%s%s", col, who, h->nranks,
	         h->job->launcher > 0 ? "rank" : "process",
	         h->nranks == 1 ? "" : h->job->launcher > 0 ? "s" : "es", pids);
}

void status_json_holder(const struct status_holder *h)
{
	status_json_proc_open(&h->proc, "held_seconds");
	printf(", \"job\": ");
	if (!h->job) {
		printf("null}");
		return;
	}
	if (h->job->launcher > 0)
		printf("{\"launcher\": %d, \"command\": ", (int)h->job->launcher);
	else
		printf("{\"launcher\": null, \"command\": ");
	if (h->job->launcher > 0 && !h->proc.gone)
		status_json_string(h->proc.command);
	else
		printf("null");
	printf(", \"group\": ");
	if (h->job->launcher > 0)
		printf("null");
	else
		status_json_string(h->job->group);
	printf(", \"ranks\": [");
	for (size_t i = 0; i < h->nranks; i++)
		printf("%s%d", i ? ", " : "", (int)h->rank[i]);
	printf("]}}");
}

/* ---- cpu_run's slots ---- */

#define MAX_SLOTS GL_SLOTS_MAX
#define MAX_TICKETS 64 /* described; all are counted */

struct slots_view {
	const char *dir;
	int error;
	struct gl_slot_state slots[MAX_SLOTS];
	struct gl_ticket_state tickets[MAX_TICKETS];
	/* A slot's holder that still holds its ticket: waiting for memory. */
	int mem_ticket[MAX_SLOTS]; /* index in tickets[], -1 for none */
	bool mem_waits[MAX_TICKETS];
	size_t nslots, ntickets, busy, queued, listed, for_memory;
};

/* Is slot i's holder a cpu_run that holds a live ticket too? It has its
 * slot and has not started its job: it waits for memory (--mem-avail), and
 * gives up its ticket only then. The head of the queue, so among the
 * tickets listed. */
static void find_memory_waits(struct slots_view *v)
{
	for (size_t i = 0; i < v->nslots; i++) {
		v->mem_ticket[i] = -1;
		for (size_t k = 0; k < v->ntickets && v->slots[i].held && v->slots[i].pid > 0; k++) {
			if (v->tickets[k].live && !v->mem_waits[k] &&
			    v->tickets[k].pid == v->slots[i].pid) {
				v->mem_ticket[i] = (int)k;
				v->mem_waits[k] = true;
				v->for_memory++;
				break;
			}
		}
	}
}

/* cpu_run's slots and queue, read without taking anything. */
static void slots_read(const char *dir, struct slots_view *v)
{
	const char *env_slots = getenv("CPU_RUN_SLOTS");
	unsigned nslots = env_slots ? (unsigned)strtoul(env_slots, NULL, 10) : 0;

	if (nslots > GL_SLOTS_MAX)
		nslots = 0; /* status reports what is there rather than refusing */
	memset(v, 0, sizeof *v);
	v->dir = dir;
	v->error = gl_slots_inspect(dir, nslots, v->slots, MAX_SLOTS, &v->nslots, v->tickets,
	                            MAX_TICKETS, &v->ntickets, &v->queued);
	if (v->error < 0) {
		v->nslots = v->ntickets = 0;
		return;
	}
	v->nslots = v->nslots < MAX_SLOTS ? v->nslots : MAX_SLOTS;
	v->ntickets = v->ntickets < MAX_TICKETS ? v->ntickets : MAX_TICKETS;
	for (size_t i = 0; i < v->nslots; i++)
		v->busy += v->slots[i].held;
	for (size_t i = 0; i < v->ntickets; i++)
		v->listed += v->tickets[i].live;
	find_memory_waits(v);
	v->queued -= v->for_memory;
	v->listed -= v->for_memory;
}

/* Slot i's holder, described; a memory waiter's time is its wait in the
 * queue so far. */
static void slot_holder(const struct slots_view *v, size_t i, struct gl_status_proc *p)
{
	const struct gl_slot_state *s = &v->slots[i];

	gl_status_describe_holder(s->pid, s->dev, s->ino, p);
	if (v->mem_ticket[i] >= 0)
		p->since = gl_status_since(v->tickets[v->mem_ticket[i]].waited, p->running);
}

static void slots_json(const struct slots_view *v)
{
	struct gl_status_proc p;
	size_t k = 0;

	printf(", \"cpu_run\": {\"dir\": ");
	status_json_string(v->dir);
	printf(", \"exists\": %s, \"slots\": [", v->error == 0 ? "true" : "false");
	for (size_t i = 0; i < v->nslots; i++) {
		bool mem = v->mem_ticket[i] >= 0;

		printf("%s{\"slot\": %u, \"state\": \"%s\", \"holder\": ", i ? ", " : "",
		       v->slots[i].index,
		       !v->slots[i].held ? "free" : mem ? "waiting_for_memory" : "held");
		if (v->slots[i].held) {
			slot_holder(v, i, &p);
			status_json_proc(&p, mem ? "waiting_seconds" : "held_seconds");
			gl_status_proc_free(&p);
		} else {
			printf("null");
		}
		putchar('}');
	}
	printf("], \"queue\": [");
	for (size_t i = 0; i < v->ntickets; i++) {
		if (!v->tickets[i].live || v->mem_waits[i])
			continue;
		gl_status_describe(v->tickets[i].pid, &p);
		p.since = gl_status_since(v->tickets[i].waited, p.running);
		printf("%s{\"ticket\": %llu, \"waiter\": ", k++ ? ", " : "", v->tickets[i].number);
		status_json_proc(&p, "waiting_seconds");
		gl_status_proc_free(&p);
		putchar('}');
	}
	printf("], \"more_queued\": %zu}", v->queued - v->listed);
}

static void slots_text(const struct slots_view *v, size_t width)
{
	struct gl_status_proc p;
	char role[16], memory[48] = "";

	if (v->error < 0) {
		printf("CPU slots %s: %s\n", v->dir,
		       v->error == -ENOENT ? "none (no slot directory yet)"
		                           : gl_slots_strerror(v->error));
		return;
	}
	if (v->for_memory)
		snprintf(memory, sizeof memory, " (%zu waiting for memory)", v->for_memory);
	printf("CPU slots %s: %zu of %zu busy%s, %zu queued\n", v->dir, v->busy, v->nslots, memory,
	       v->queued);
	for (size_t i = 0; i < v->nslots; i++) {
		snprintf(role, sizeof role, "slot %u", v->slots[i].index);
		if (!v->slots[i].held) {
			printf("  %-8s free\n", role);
			continue;
		}
		slot_holder(v, i, &p);
		if (v->mem_ticket[i] >= 0)
			text_proc(role, &p, "waiting for memory", width);
		else
			status_text_row(role, &p, "held for", width);
		gl_status_proc_free(&p);
	}
	for (size_t i = 0; i < v->ntickets; i++) {
		if (!v->tickets[i].live || v->mem_waits[i])
			continue;
		gl_status_describe(v->tickets[i].pid, &p);
		p.since = gl_status_since(v->tickets[i].waited, p.running);
		status_text_row("queued", &p, "waiting", width);
		gl_status_proc_free(&p);
	}
	if (v->queued > v->listed)
		printf("  ... and %zu more queued\n", v->queued - v->listed);
}

/* A shared directory that is not root's (gpulock's tmpfiles.d entry or
 * gpulock setup make it so): the line under its section, or in JSON its
 * "problem" (null when there is none). */
static void dir_note(const char *what, const char *path, bool json)
{
	char problem[256], text[512];
	const char *fix;

	if (cli_shared_dir_check(path, problem, sizeof problem, &fix) != CLI_DIR_WRONG) {
		if (json)
			printf("null");
		return;
	}
	snprintf(text, sizeof text, "%s %s %s; %s", what, path, problem, fix);
	if (json)
		status_json_string(text);
	else
		printf("  note: %s\n", text);
}

static void cpu_slots(const char *dir, bool json, size_t width)
{
	static struct slots_view v; /* large: not on the stack */

	slots_read(dir, &v);
	if (json) {
		slots_json(&v);
		printf(", \"cpu_run_dir_problem\": ");
		dir_note("cpu_run's slot directory", dir, true);
	} else {
		slots_text(&v, width);
		dir_note("cpu_run's slot directory", dir, false);
	}
}

/* ---- the GPU lock ---- */

static void gpu_json(const struct gl_status *st, const struct gl_status_jobs *jobs)
{
	static struct status_holder h[GL_STATUS_MAX_WAITERS];
	size_t n;

	printf("{\"gpu_lock\": {\"path\": ");
	status_json_string(st->path);
	printf(", \"state\": \"%s\", \"exists\": %s, \"other_pid_namespace\": %s, \"holder\": ",
	       st->held ? "held" : st->nshared ? "shared" : "free", st->no_file ? "false" : "true",
	       st->elsewhere ? "true" : "false");
	if (st->held) {
		status_json_proc_open(&st->holder, "held_seconds");
		printf(", \"job\": null}");
	} else {
		printf("null");
	}
	printf(", \"shared_holders\": [");
	n = status_holders(st, jobs, h);
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf(", ");
		status_json_holder(&h[i]);
	}
	status_holders_free(h, n);
	printf("], \"more_shared_holders\": %zu, \"waiters\": [", st->more_shared);
	for (size_t i = 0; i < st->nwaiters; i++) {
		if (i)
			printf(", ");
		status_json_proc_open(&st->waiters[i], "waiting_seconds");
		printf(", \"exclusive\": %s}", st->waiters[i].shared ? "false" : "true");
	}
	printf("], \"more_waiters\": %zu}", st->more);
}

/* The machine without GPUs held by the ranks of a job, as one holder. */
static bool job_text(const struct gl_status *st, const struct gl_status_jobs *jobs, size_t width)
{
	static struct status_holder h[GL_STATUS_MAX_WAITERS];
	size_t n = status_holders(st, jobs, h);
	bool all_jobs = n > 0;

	for (size_t i = 0; i < n; i++)
		all_jobs &= h[i].job != NULL;
	if (all_jobs) {
		printf("GPU lock %s: held\n", st->path);
		for (size_t i = 0; i < n; i++) {
			char text[400], *cmd;

			status_job_text(&h[i], text, sizeof text, &cmd);
			printf("  holder   %s", text);
			if (cmd) {
				fputs(": ", stdout);
				status_print_command(cmd, 11 + strlen(text) + 2, width);
			} else {
				putchar('\n');
			}
			free(cmd);
		}
		for (size_t i = 0; i < st->nwaiters; i++)
			status_text_row("waiting", &st->waiters[i], "waiting", width);
		if (st->more)
			printf("  ... and %zu more waiting\n", st->more);
	}
	status_holders_free(h, n);
	return all_jobs;
}

static void gpu_text(const struct gl_status *st, const struct gl_status_jobs *jobs, bool gpus,
                     size_t width)
{
	/* Shared holders: on a machine with GPUs, jobs on some of them; on
	 * one without, the ranks of a multi-process job (or a user's flock
	 * -s, shown as on a machine with GPUs). */
	if (!gpus && st->nshared && job_text(st, jobs, width))
		return;
	if (gpus || st->nshared) {
		status_gpus_machine_text(st, jobs, width);
		return;
	}
	printf("GPU lock %s: %s%s\n", st->path, st->held ? "held" : "free",
	       st->no_file ? " (no lock file yet)" : "");
	if (st->held)
		status_text_row("holder", &st->holder, "held for", width);
	for (size_t i = 0; i < st->nwaiters; i++)
		status_text_row("waiting", &st->waiters[i], "waiting", width);
	if (st->more)
		printf("  ... and %zu more waiting\n", st->more);
}

int cli_status(const struct gl_lock_settings *cfg, bool json, const char *slot_dir)
{
	static struct gl_status st; /* large: not on the stack */
	static struct gl_status_jobs jobs;
	struct status_gpus *gpus;
	size_t width = json ? 0 : out_width();
	int r = gl_status_read(cfg->lock_path, &st);

	if (r < 0) {
		fprintf(stderr, "gpulock: cannot read /proc/locks: %s\n", strerror(-r));
		return EXIT_SETUP;
	}
	/* As run and wait would say, for a lock file they could not use. */
	if (st.error) {
		cli_lock_path_error(st.path, st.error);
		return EXIT_SETUP;
	}
	/* the jobs whose ranks hold locks: no directory, no jobs */
	if (gl_status_jobs_read(cfg->gpu_dir, &jobs) < 0)
		jobs.n = 0;
	gpus = status_gpus_read(cfg, &jobs);
	if (json) {
		gpu_json(&st, &jobs);
		status_gpus_json(gpus);
		printf(", \"gpu_dir_problem\": ");
		dir_note("per-GPU lock directory", cfg->gpu_dir, true);
		cpu_slots(slot_dir, true, 0);
		printf("}\n");
	} else {
		gpu_text(&st, &jobs, gpus != NULL, width);
		if (gpus)
			status_gpus_text(gpus, width);
		if (cfg->gpu_dir[0])
			dir_note("per-GPU lock directory", cfg->gpu_dir, false);
		cpu_slots(slot_dir, false, width);
	}
	r = st.held || st.nshared || status_gpus_busy(gpus) ? 1 : 0;
	status_gpus_free(gpus);
	gl_status_free(&st);
	return r;
}
