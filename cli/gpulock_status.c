/* gpulock status: the GPU lock (and the cpu_run slots) as text or JSON.
 *
 * JSON, one object:
 *   {"gpu_lock": {"path": str, "state": "free"|"held", "exists": bool,
 *                 "holder": null | PROC + "held_seconds": num|null,
 *                 "waiters": [PROC + "waiting_seconds": num|null, ...],
 *                 "more_waiters": int},
 *    "cpu_run": ...see cpu_status_json}
 *   PROC = {"pid": int, "uid": int|null, "user": str|null, "command": str|null,
 *           "running_seconds": num|null}   (null fields: the process exited
 *                                           while we read it)
 * Exit status: 0 when the GPU is free, 1 when it is held, 125 on errors. */
#include "gpulock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_status.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
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

int cli_status(const struct cli_settings *s, bool json, const char *slot_dir)
{
	struct gl_status st;
	int r = gl_status_read(s->cfg.lock_path, &st);

	(void)slot_dir;
	if (r < 0) {
		fprintf(stderr, "gpulock: cannot read /proc/locks: %s\n", strerror(-r));
		return EXIT_SETUP;
	}
	if (st.error && st.error != -ENOENT) {
		fprintf(stderr, "gpulock: cannot use the lock file '%s': %s\n", st.path,
		        gl_lockfile_strerror(st.error));
		return EXIT_SETUP;
	}
	if (json) {
		printf("{\"gpu_lock\": {\"path\": ");
		json_string(st.path);
		printf(", \"state\": \"%s\", \"exists\": %s, \"holder\": ", st.held ? "held" : "free",
		       st.error ? "false" : "true");
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
		printf("], \"more_waiters\": %zu}}\n", st.more);
	} else {
		printf("GPU lock %s: %s%s\n", st.path, st.held ? "held" : "free",
		       st.error ? " (no lock file yet)" : "");
		if (st.held)
			text_proc("holder", &st.holder, "held for");
		for (size_t i = 0; i < st.nwaiters; i++)
			text_proc("waiting", &st.waiters[i], "waiting");
		if (st.more)
			printf("  ... and %zu more waiting\n", st.more);
	}
	return st.held ? 1 : 0;
}
