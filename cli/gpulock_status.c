/* gpulock status: the GPU lock (and the cpu_run slots) as text or JSON.
 *
 * JSON, one object:
 *   {"gpu_lock": {"path": str, "state": "free"|"held", "exists": bool,
 *                 "holder": null | PROC + "held_seconds": num|null,
 *                 "waiters": [PROC + "waiting_seconds": num|null, ...],
 *                 "more_waiters": int},
 *    "cpu_run": {"dir": str, "exists": bool,
 *                "slots": [{"slot": int, "state": "free"|"held",
 *                           "holder": null | PROC}, ...],
 *                "queue": [{"ticket": int, "waiter": PROC + "waiting_seconds"}, ...],
 *                "more_queued": int}}
 *   PROC = {"pid": int, "uid": int|null, "user": str|null, "command": str|null,
 *           "running_seconds": num|null}   (null fields: the process exited
 *                                           while we read it, or, for a
 *                                           holder, it took the lock and
 *                                           exited, and the process that
 *                                           inherited the lock from it is
 *                                           not ours to read)
 * A holder is the process that holds the lock now: the one that took it,
 * or, when that one has exited (gpu_run.sh's and cpu_run.sh's flock(1)),
 * the topmost process that inherited its fd.
 * "*_seconds" is never more than "running_seconds".
 * Exit status: 0 when the GPU is free, 1 when it is held, 125 on errors. */
#include "gpulock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_slots.h"
#include "gl_status.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_seconds(const char *key, double v)
{
	if (v < 0)
		printf(", \"%s\": null", key);
	else
		printf(", \"%s\": %.3f", key, v);
}

static void json_proc(const struct gl_status_proc *p, const char *since_key)
{
	char user[64];

	printf("{\"pid\": %d", (int)p->pid);
	if (p->gone) {
		printf(", \"uid\": null, \"user\": null, \"command\": null");
	} else {
		printf(", \"uid\": %u, \"user\": ", (unsigned)p->uid);
		json_string(user_name(p->uid, user, sizeof user));
		printf(", \"command\": ");
		json_string(p->command);
	}
	json_seconds("running_seconds", p->running);
	json_seconds(since_key, p->since);
	putchar('}');
}

static void text_proc(const char *role, const struct gl_status_proc *p, const char *since_word)
{
	char user[64], since[32], col[48];

	if (p->gone && p->inherited) {
		printf("  %-8s pid %-7d (exited; the lock lives on in a process that inherited its "
		       "fd, not ours to read)\n",
		       role, (int)p->pid);
		return;
	}
	if (p->gone && p->pid <= 0) {
		printf("  %-8s held (by a process this system does not show)\n", role);
		return;
	}
	if (p->gone) {
		printf("  %-8s pid %-7d (exited)\n", role, (int)p->pid);
		return;
	}
	if (p->since >= 0) {
		gl_log_duration(p->since, since, sizeof since);
		snprintf(col, sizeof col, "%s %s", since_word, since);
	} else if (p->running >= 0) {
		gl_log_duration(p->running, since, sizeof since);
		snprintf(col, sizeof col, "running %s", since);
	} else {
		snprintf(col, sizeof col, "-");
	}
	printf("  %-8s pid %-7d %-10s %-18s %s\n", role, (int)p->pid,
	       user_name(p->uid, user, sizeof user), col, p->command);
}

#define MAX_SLOTS GL_SLOTS_MAX
#define MAX_TICKETS 64 /* described; all are counted */

struct slots_view {
	const char *dir;
	int error;
	struct gl_slot_state slots[MAX_SLOTS];
	struct gl_ticket_state tickets[MAX_TICKETS];
	size_t nslots, ntickets, busy, queued, listed;
};

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
}

static void slots_json(const struct slots_view *v)
{
	struct gl_status_proc p;
	size_t k = 0;

	printf(", \"cpu_run\": {\"dir\": ");
	json_string(v->dir);
	printf(", \"exists\": %s, \"slots\": [", v->error == 0 ? "true" : "false");
	for (size_t i = 0; i < v->nslots; i++) {
		printf("%s{\"slot\": %u, \"state\": \"%s\", \"holder\": ", i ? ", " : "",
		       v->slots[i].index, v->slots[i].held ? "held" : "free");
		if (v->slots[i].held) {
			gl_status_describe_holder(v->slots[i].pid, v->slots[i].dev, v->slots[i].ino,
			                          &p);
			json_proc(&p, "held_seconds");
		} else {
			printf("null");
		}
		putchar('}');
	}
	printf("], \"queue\": [");
	for (size_t i = 0; i < v->ntickets; i++) {
		if (!v->tickets[i].live)
			continue;
		gl_status_describe(v->tickets[i].pid, &p);
		p.since = gl_status_since(v->tickets[i].waited, p.running);
		printf("%s{\"ticket\": %llu, \"waiter\": ", k++ ? ", " : "", v->tickets[i].number);
		json_proc(&p, "waiting_seconds");
		putchar('}');
	}
	printf("], \"more_queued\": %zu}", v->queued - v->listed);
}

static void slots_text(const struct slots_view *v)
{
	struct gl_status_proc p;
	char role[16];

	if (v->error < 0) {
		printf("CPU slots %s: %s\n", v->dir,
		       v->error == -ENOENT ? "none (no slot directory yet)"
		                           : gl_slots_strerror(v->error));
		return;
	}
	printf("CPU slots %s: %zu of %zu busy, %zu queued\n", v->dir, v->busy, v->nslots, v->queued);
	for (size_t i = 0; i < v->nslots; i++) {
		snprintf(role, sizeof role, "slot %u", v->slots[i].index);
		if (!v->slots[i].held) {
			printf("  %-8s free\n", role);
		} else {
			gl_status_describe_holder(v->slots[i].pid, v->slots[i].dev, v->slots[i].ino,
			                          &p);
			text_proc(role, &p, "held for");
		}
	}
	for (size_t i = 0; i < v->ntickets; i++) {
		if (!v->tickets[i].live)
			continue;
		gl_status_describe(v->tickets[i].pid, &p);
		p.since = gl_status_since(v->tickets[i].waited, p.running);
		text_proc("queued", &p, "waiting");
	}
	if (v->queued > v->listed)
		printf("  ... and %zu more queued\n", v->queued - v->listed);
}

static void cpu_slots(const char *dir, bool json)
{
	static struct slots_view v; /* large: not on the stack */

	slots_read(dir, &v);
	if (json)
		slots_json(&v);
	else
		slots_text(&v);
}

int cli_status(const struct cli_settings *s, bool json, const char *slot_dir)
{
	struct gl_status st;
	int r = gl_status_read(s->cfg.lock_path, &st);

	if (r < 0) {
		fprintf(stderr, "gpulock: cannot read /proc/locks: %s\n", strerror(-r));
		return EXIT_SETUP;
	}
	/* As run and wait would say, for a lock file they could not use. */
	if (st.error) {
		fprintf(stderr, "gpulock: cannot use the lock file '%s': %s\n", st.path,
		        gl_lockfile_strerror(st.error));
		return EXIT_SETUP;
	}
	if (json) {
		printf("{\"gpu_lock\": {\"path\": ");
		json_string(st.path);
		printf(", \"state\": \"%s\", \"exists\": %s, \"holder\": ", st.held ? "held" : "free",
		       st.no_file ? "false" : "true");
		if (st.held)
			json_proc(&st.holder, "held_seconds");
		else
			printf("null");
		printf(", \"waiters\": [");
		for (size_t i = 0; i < st.nwaiters; i++) {
			if (i)
				printf(", ");
			json_proc(&st.waiters[i], "waiting_seconds");
		}
		printf("], \"more_waiters\": %zu}", st.more);
		cpu_slots(slot_dir, true);
		printf("}\n");
	} else {
		printf("GPU lock %s: %s%s\n", st.path, st.held ? "held" : "free",
		       st.no_file ? " (no lock file yet)" : "");
		if (st.held)
			text_proc("holder", &st.holder, "held for");
		for (size_t i = 0; i < st.nwaiters; i++)
			text_proc("waiting", &st.waiters[i], "waiting");
		if (st.more)
			printf("  ... and %zu more waiting\n", st.more);
		cpu_slots(slot_dir, false);
	}
	return st.held ? 1 : 0;
}
