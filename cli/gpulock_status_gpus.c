/* gpulock status on a machine with GPUs: the whole-machine lock held
 * shared by jobs on some of the GPUs, a line for each GPU (its lock, its
 * memory where NVML tells), and the queue of gpulock run --gpus.
 *
 * JSON, beside "gpu_lock" and "cpu_run":
 *   "gpus": [{"index": int, "uuid": str, "bus": str, "model": str,
 *             "memory_used": int|null, "memory_total": int|null,  (bytes)
 *             "state": "free"|"held"|"no_lock", "other_pid_namespace": bool,
 *             (held: exclusive, or shared by the ranks of a job)
 *             "holder": null | HOLDER (gpulock_status.c; held shared: the job),
 *             "waiters": [PROC + "waiting_seconds", ...], "more_waiters": int}, ...]
 *   "gpu_queue": [{"ticket": int, "gpus": str|null,
 *                  "waiter": PROC + "waiting_seconds"}, ...]
 * ("no_lock": a board without a UUID, which has no lock file; "gpus": the
 * request's --gpus argument, "2" or "all", null when it cannot be read). */
#include "gpulock_status.h"
#include "gl_gpus.h"
#include "gl_log.h"
#include "gl_lockfile.h"
#include "gl_slots.h"
#include "gl_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TICKETS 64 /* described; all are counted */
#define PIDS_SHOWN 4   /* pids named on a heading or a GPU's line */
#define GIB (1024.0 * 1024.0 * 1024.0)

struct status_gpus {
	const struct gl_lock_settings *cfg;
	const struct gl_status_jobs *jobs;
	struct gl_gpu_list list;
	bool memory; /* NVML answered */
	unsigned long long used[GL_GPUS_MAX], total[GL_GPUS_MAX];
	struct gl_status lock[GL_GPUS_MAX]; /* lock[i] is GPU i's; path "" without a UUID */
	struct gl_ticket_state tickets[MAX_TICKETS];
	char wants[MAX_TICKETS][8]; /* each ticket's --gpus argument, "" unknown */
	size_t ntickets, nlive;
};

/* The --gpus argument in pid's command line: "2", "all"; "" when there is
 * none or it cannot be read. The arguments are read raw, as the kernel
 * keeps them (NUL between them), up to the command's "--". */
static void wanted(pid_t pid, char *out, size_t len)
{
	char path[32], buf[4096];
	ssize_t n;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n && strcmp(a, "--") != 0; a += strlen(a) + 1) {
		char *next = a + strlen(a) + 1;
		const char *v = NULL;

		if ((strcmp(a, "--gpus") == 0 || strcmp(a, "-g") == 0) && next < buf + n)
			v = next;
		else if (strncmp(a, "--gpus=", 7) == 0)
			v = a + 7;
		else if (strncmp(a, "-g", 2) == 0 && a[2])
			v = a + 2;
		if (v) {
			snprintf(out, len, "%s", v);
			gl_text_make_safe(out);
			return;
		}
	}
}

static void queue_read(struct status_gpus *g)
{
	struct gl_slot_state none[1];
	size_t nslots;

	if (gl_slots_inspect(g->cfg->gpu_dir, 0, none, 1, &nslots, g->tickets, MAX_TICKETS,
	                     &g->ntickets, &g->nlive) < 0) {
		g->ntickets = g->nlive = 0; /* no directory yet: no queue */
		return;
	}
	if (g->ntickets > MAX_TICKETS)
		g->ntickets = MAX_TICKETS;
	for (size_t i = 0; i < g->ntickets; i++)
		if (g->tickets[i].live)
			wanted(g->tickets[i].pid, g->wants[i], sizeof g->wants[i]);
}

struct status_gpus *status_gpus_read(const struct gl_lock_settings *cfg,
                                     const struct gl_status_jobs *jobs)
{
	struct status_gpus *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->cfg = cfg;
	g->jobs = jobs;
	gl_gpus_find(&g->list);
	if (g->list.n == 0) {
		free(g);
		return NULL;
	}
	g->memory = gl_gpus_memory(&g->list, g->used, g->total) == 0;
	for (unsigned i = 0; i < g->list.n; i++) {
		char path[PATH_MAX + GL_GPU_UUID_LEN + 1];

		if (!g->list.gpu[i].uuid[0])
			continue;
		snprintf(path, sizeof path, "%s/%s", cfg->gpu_dir, g->list.gpu[i].uuid);
		/* /proc/locks was read for the machine's lock: it reads again. */
		(void)gl_status_read(path, &g->lock[i]);
	}
	queue_read(g);
	return g;
}

void status_gpus_free(struct status_gpus *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->list.n; i++)
		gl_status_free(&g->lock[i]);
	free(g);
}

bool status_gpus_busy(const struct status_gpus *g)
{
	for (unsigned i = 0; g && i < g->list.n; i++)
		if (g->lock[i].held || g->lock[i].nshared)
			return true;
	return g && g->nlive > 0;
}

/* ---- the whole-machine lock ---- */

/* " (pids 1, 2, 3, 4, ...)" */
static void pid_list(const struct gl_status_proc *p, size_t n, size_t more, char *buf,
                     size_t len)
{
	size_t at = (size_t)snprintf(buf, len, " (pid%s", n + more == 1 ? "" : "s");

	for (size_t i = 0; i < n && i < PIDS_SHOWN && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s %d", i ? "," : "", (int)p[i].pid);
	if (at < len)
		snprintf(buf + at, len - at, "%s)", n + more > PIDS_SHOWN ? ", ..." : "");
}

void status_gpus_machine_text(const struct gl_status *st, const struct gl_status_jobs *jobs,
                              size_t width)
{
	static struct status_holder h[GL_STATUS_MAX_WAITERS];
	pid_t who[GL_STATUS_MAX_WAITERS];
	size_t whole = 0, shared = 0, n;
	char pids[128];

	for (size_t i = 0; i < st->nwaiters; i++) {
		shared += st->waiters[i].shared;
		whole += !st->waiters[i].shared;
	}
	printf("GPU lock %s: ", st->path);
	if (st->held) {
		printf("held");
	} else if (st->nshared) {
		/* a multi-process job once, by its launcher's pid */
		n = status_holders(st, jobs, h);
		for (size_t i = 0; i < n; i++)
			who[i] = h[i].job && h[i].job->launcher > 0 ? h[i].job->launcher : h[i].proc.pid;
		status_holders_free(h, n);
		status_pids(who, n, st->more_shared, pids, sizeof pids);
		printf("shared by %zu job%s on single GPUs%s", n + st->more_shared,
		       n + st->more_shared == 1 ? "" : "s", pids);
	} else {
		printf("free%s", st->no_file ? " (no lock file yet)" : "");
	}
	/* An exclusive request is every GPU; a shared one, a job on some of
	 * them that waits for a whole-machine holder to end. */
	if (whole)
		printf("; %zu waiting for the whole machine", whole);
	if (shared)
		printf("; %zu waiting to share it", shared);
	putchar('\n');
	if (st->held)
		status_text_row("holder", &st->holder, "held for", width);
	for (size_t i = 0; i < st->nwaiters; i++)
		status_text_row("waiting", &st->waiters[i], "waiting", width);
	if (st->more)
		printf("  ... and %zu more waiting\n", st->more);
}

/* ---- each GPU ---- */

/* "held for 3s by pid 12 (root)", or why the holder cannot be named. */
static void holder_text(const struct gl_status_proc *p, char *buf, size_t len)
{
	char col[48], user[64];

	if (p->hidden) {
		snprintf(buf, len, "held by another user's process (pid %d, hidden by /proc's hidepid)",
		         (int)p->pid);
	} else if (p->gone && p->inherited) {
		snprintf(buf, len, "held by pid %d (exited; its fd holds the lock in a process not "
		         "shown)", (int)p->pid);
	} else if (p->gone && p->pid <= 0) {
		snprintf(buf, len, "held by a process in another PID namespace");
	} else if (p->gone) {
		snprintf(buf, len, "held by pid %d (exited)", (int)p->pid);
	} else {
		status_user_name(p->uid, user, sizeof user);
		gl_text_make_safe(user);
		status_since_col(p, "held for", col, sizeof col);
		snprintf(buf, len, "%s by pid %d (%s)", strcmp(col, "-") ? col : "held", (int)p->pid,
		         user);
	}
}

/* A GPU held shared: by the ranks of a job, as one (its launcher's command
 * in *cmd), or by other processes (a user's flock -s). */
static void shared_text(const struct gl_status *st, const struct gl_status_jobs *jobs,
                        struct status_holder *h, size_t *n, char *buf, size_t len, char **cmd)
{
	size_t at;

	*n = status_holders(st, jobs, h);
	if (h[0].job) {
		status_job_text(&h[0], buf, len, cmd);
	} else {
		holder_text(&h[0].proc, buf, len);
		if (!h[0].proc.gone && (*cmd = strdup(h[0].proc.command)) != NULL)
			gl_text_make_safe(*cmd);
	}
	at = strlen(buf);
	if (*n + st->more_shared > 1 && at < len)
		snprintf(buf + at, len - at, ", shared with %zu more", *n + st->more_shared - 1);
}

/* GPU i's line: "  GPU 1  GPU-e1000000  MODEL  12.3/80.0 GiB  held for 3s by pid 12
 * (root), 1 waiting (pid 14): python a.py". */
static void gpu_line(const struct status_gpus *g, unsigned i, int model_w, size_t width)
{
	const struct gl_gpu *gpu = &g->list.gpu[i];
	const struct gl_status *st = &g->lock[i];
	static struct status_holder h[GL_STATUS_MAX_WAITERS];
	char model[sizeof gpu->model], state[400], waits[160] = "", mem[48] = "", *cmd = NULL;
	size_t n = 0;
	int used;

	snprintf(model, sizeof model, "%s", gpu->model[0] ? gpu->model : "?");
	gl_text_make_safe(model);
	if (g->memory && g->total[i])
		snprintf(mem, sizeof mem, "%.1f/%.1f GiB  ", (double)g->used[i] / GIB,
		         (double)g->total[i] / GIB);
	if (!gpu->uuid[0])
		snprintf(state, sizeof state, "no lock (the board has no UUID: it failed to start)");
	else if (st->error && st->error != -ENOENT)
		snprintf(state, sizeof state, "cannot use its lock file: %s",
		         gl_lockfile_strerror(st->error));
	else if (st->held)
		holder_text(&st->holder, state, sizeof state);
	else if (st->nshared)
		shared_text(st, g->jobs, h, &n, state, sizeof state, &cmd);
	else
		snprintf(state, sizeof state, "free");
	if (st->nwaiters + st->more) {
		char pids[128];

		pid_list(st->waiters, st->nwaiters, st->more, pids, sizeof pids);
		snprintf(waits, sizeof waits, ", %zu waiting%s", st->nwaiters + st->more, pids);
	}
	used = printf("  GPU %-2u %-12.12s  %-*s  %s%s%s", i, gpu->uuid[0] ? gpu->uuid : "-", model_w,
	              model, mem, state, waits);
	if (st->held && !st->holder.gone && (cmd = strdup(st->holder.command)) != NULL)
		gl_text_make_safe(cmd);
	if (cmd) {
		fputs(": ", stdout);
		status_print_command(cmd, used > 0 ? (size_t)used + 2 : 0, width);
	} else {
		putchar('\n');
	}
	free(cmd);
	status_holders_free(h, n);
}

static void queue_text(const struct status_gpus *g, size_t width)
{
	struct gl_status_proc p;
	char role[16];
	size_t listed = 0;

	if (g->nlive == 0)
		return;
	printf("GPU queue %s: %zu waiting for GPUs (gpulock run --gpus)\n", g->cfg->gpu_dir, g->nlive);
	for (size_t i = 0; i < g->ntickets; i++) {
		if (!g->tickets[i].live)
			continue;
		listed++;
		if (!g->wants[i][0])
			snprintf(role, sizeof role, "queued");
		else if (strcmp(g->wants[i], "all") == 0)
			snprintf(role, sizeof role, "all GPUs");
		else
			snprintf(role, sizeof role, "%.3s GPU%s", g->wants[i],
			         strcmp(g->wants[i], "1") ? "s" : "");
		gl_status_describe(g->tickets[i].pid, &p);
		p.since = gl_status_since(g->tickets[i].waited, p.running);
		status_text_row(role, &p, "waiting", width);
		gl_status_proc_free(&p);
	}
	if (g->nlive > listed)
		printf("  ... and %zu more queued\n", g->nlive - listed);
}

void status_gpus_text(const struct status_gpus *g, size_t width)
{
	int model_w = 1;

	printf("GPUs: %u, locks in %s\n", g->list.n, g->cfg->gpu_dir);
	for (unsigned i = 0; i < g->list.n; i++) {
		int w = (int)strlen(g->list.gpu[i].model);

		model_w = w > model_w ? w : model_w;
	}
	for (unsigned i = 0; i < g->list.n; i++)
		gpu_line(g, i, model_w, width);
	queue_text(g, width);
}

/* ---- JSON ---- */

static void json_bytes(const char *key, bool known, unsigned long long v)
{
	if (known)
		printf(", \"%s\": %llu", key, v);
	else
		printf(", \"%s\": null", key);
}

static void json_gpu(const struct status_gpus *g, unsigned i)
{
	const struct gl_gpu *gpu = &g->list.gpu[i];
	const struct gl_status *st = &g->lock[i];
	static struct status_holder h[GL_STATUS_MAX_WAITERS];
	bool mem = g->memory && g->total[i];
	size_t n;

	printf("%s{\"index\": %u, \"uuid\": ", i ? ", " : "", i);
	status_json_string(gpu->uuid);
	printf(", \"bus\": ");
	status_json_string(gpu->bus);
	printf(", \"model\": ");
	status_json_string(gpu->model);
	json_bytes("memory_used", mem, g->used[i]);
	json_bytes("memory_total", mem, g->total[i]);
	printf(", \"state\": \"%s\", \"other_pid_namespace\": %s, \"holder\": ",
	       !gpu->uuid[0] ? "no_lock" : st->held || st->nshared ? "held" : "free",
	       st->elsewhere ? "true" : "false");
	if (st->held) {
		status_json_proc_open(&st->holder, "held_seconds");
		printf(", \"job\": null}");
	} else if (st->nshared) {
		/* held shared: by a job's ranks, the job; else its first holder */
		n = status_holders(st, g->jobs, h);
		status_json_holder(&h[0]);
		status_holders_free(h, n);
	} else {
		printf("null");
	}
	printf(", \"waiters\": [");
	for (size_t k = 0; k < st->nwaiters; k++) {
		if (k)
			printf(", ");
		status_json_proc(&st->waiters[k], "waiting_seconds");
	}
	printf("], \"more_waiters\": %zu}", st->more);
}

void status_gpus_json(const struct status_gpus *g)
{
	struct gl_status_proc p;
	size_t k = 0;

	printf(", \"gpus\": [");
	for (unsigned i = 0; g && i < g->list.n; i++)
		json_gpu(g, i);
	printf("], \"gpu_queue\": [");
	for (size_t i = 0; g && i < g->ntickets; i++) {
		if (!g->tickets[i].live)
			continue;
		printf("%s{\"ticket\": %llu, \"gpus\": ", k++ ? ", " : "", g->tickets[i].number);
		if (g->wants[i][0])
			status_json_string(g->wants[i]);
		else
			printf("null");
		printf(", \"waiter\": ");
		gl_status_describe(g->tickets[i].pid, &p);
		p.since = gl_status_since(g->tickets[i].waited, p.running);
		status_json_proc(&p, "waiting_seconds");
		gl_status_proc_free(&p);
		putchar('}');
	}
	printf("]");
}
