/* cpu_run: run a heavy CPU job through a machine-wide, first-come-first-served
 * queue of N slots, with its threads capped, niced, and its RAM guarded.
 *
 *   cpu_run [options] command [args...]
 *
 * A launcher in the skalibs sense: parse, wait for a slot, adjust the
 * process, exec. There is no fork: the slot's flock is held by the command
 * itself, through an fd that survives exec, so the kernel frees the slot the
 * moment the command ends, however it ends (kill -9 included).
 *
 * Compatible with the original cpu_run.sh: same variables and defaults, and
 * the same slot files, so a slot held by either launcher is busy for the
 * other. The queue, the slots and the status reader are in launcher/gl_slots*.c;
 * the files of this program are listed in cpu_run.h. */
#include "cpu_run.h"

#include "gl_hardened.h"
#include "gl_lockfile.h"
#include "gl_log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- messages ---- */

/* One line on stderr, one write(2), so lines of concurrent jobs never mix. */
void cr_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gl_log_as_v("cpu_run", fmt, ap);
	va_end(ap);
}

/* A usage error: what is wrong, then where to read more, in one write. */
void cr_die_usage(const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	cr_msg("%s\nTry 'cpu_run --help'.", what);
	exit(EXIT_SETUP);
}

const char *cr_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void command_text(char *const *cmd, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; cmd[i] && n + 1 < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? " " : "", cmd[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* ---- the steps of main ---- */

/* Why path cannot be used: what it is and who owns it when it is not what
 * it should be (planted, in a shared directory such as /tmp), else the
 * error's text. */
static const char *why_not(const char *path, int e, char *buf, size_t len)
{
	if (e == -ELOOP || e == -ENOTDIR || e == -EISDIR || e == -EBADFD) {
		gl_lockfile_explain(path, e, buf, len);
		return buf;
	}
	return gl_slots_strerror(e);
}

static void open_slots(struct run *r)
{
	char who[96], why[256];
	bool created;
	uid_t owner = 0;
	int e = gl_slots_open(&r->slots, r->o.dir, r->o.slots, true, &owner, &created);

	if (e == 0)
		return;
	if (e == -EPERM) {
		gl_owner_text(owner, who, sizeof who);
		cr_msg("slot directory %s is owned by %s, not by root or you (uid %u): refused, "
		       "since its owner controls the slots. Use a directory of your own (--slot-dir) "
		       "or have root create a shared one: install -d -m 1777 %s (sudo gpulock setup "
		       "makes " GL_HARDENED_SLOT_DIR ", the default once it exists)",
		       r->o.dir, who, (unsigned)geteuid(), r->o.dir);
	} else {
		cr_msg("cannot use slot directory %s: %s", r->o.dir,
		       why_not(r->o.dir, e, why, sizeof why));
	}
	exit(EXIT_SETUP);
}

static void __attribute__((noreturn)) slot_error(struct run *r, int e)
{
	char path[PATH_MAX + 32], why[256];

	gl_slots_dequeue(&r->slots);
	snprintf(path, sizeof path, "%s/slot%u", r->o.dir, r->slots.bad_slot);
	if (r->slots.bad_slot)
		cr_msg("cannot use slot file %s: %s", path, why_not(path, e, why, sizeof why));
	else
		cr_msg("cannot wait for a slot in %s: %s", r->o.dir, gl_slots_strerror(e));
	exit(EXIT_SETUP);
}

/* Everything after the wait: the job's process, then exec. The ticket goes
 * last, just before exec, so the next waiter becomes head at once. how: the
 * line to say if the launcher waited, or NULL. */
static void __attribute__((noreturn)) start(struct run *r, const char *how)
{
	unsigned slot = r->slots.held ? r->slots.held : r->o.slots + 1;
	int e;

	cr_setup_job(r, slot);
	if (r->slots.held && (e = gl_slots_keep_across_exec(&r->slots)) < 0) {
		cr_msg("cannot keep slot %u across exec: %s", r->slots.held, strerror(-e));
		exit(EXIT_SETUP);
	}
	if (how)
		cr_announce_start(r, how);
	gl_slots_dequeue(&r->slots);
	cr_exec_job(r);
}

/* The fast path: a free slot and no queue. */
static void take_a_free_slot(struct run *r)
{
	int e = gl_slots_try(&r->slots);

	if (e < 0)
		slot_error(r, e);
	if (e == 1)
		start(r, NULL);
}

static void __attribute__((noreturn)) timed_out(struct run *r, const char *what)
{
	char cmd[512], waited[32];
	int cur;

	gl_log_duration(gl_wait_now() - r->start, waited, sizeof waited);
	if (r->o.fail_on_timeout) {
		cr_msg("pid %d gave up after %s: %s (--on-timeout=fail)", (int)getpid(), waited, what);
		gl_slots_dequeue(&r->slots);
		exit(EXIT_TIMED_OUT);
	}
	command_text(r->cmd, cmd, sizeof cmd);
	cr_msg("warning: pid %d waited %s: %s; running %s anyway (threads capped at %u, nice %ld): "
	       "%s",
	       (int)getpid(), waited, what, r->slots.held ? "short of memory" : "without a slot",
	       r->o.threads, cr_job_nice(r, &cur), cmd);
	start(r, NULL);
}

/* We wait from here on: time it (the clock's first read costs the vDSO's
 * page faults, which the fast path does without), with the reminders. */
static void start_waiting(struct run *r)
{
	r->start = gl_wait_now();
	r->deadline = r->o.max_wait < 0 ? -1 : r->start + r->o.max_wait;
	r->wait.start = r->start;
	r->wait.deadline = r->deadline;
	r->wait.remind = r->o.quiet ? NULL : cr_remind_wait;
	r->wait.arg = r;
}

/* Take a ticket, then wait until it is the first. */
static void queue(struct run *r)
{
	unsigned ahead;
	int e = gl_slots_enqueue(&r->slots, &ahead);

	if (e < 0) {
		cr_msg("cannot join the queue in %s: %s", r->o.dir, gl_slots_strerror(e));
		exit(EXIT_SETUP);
	}
	if (ahead)
		cr_announce_wait(r, ahead);
	e = gl_slots_wait_head(&r->slots, &r->wait);
	if (e == -ETIMEDOUT)
		timed_out(r, "still queued behind other jobs");
	if (e < 0) {
		cr_msg("cannot wait in the queue in %s: %s", r->o.dir, gl_slots_strerror(e));
		gl_slots_dequeue(&r->slots);
		exit(EXIT_SETUP);
	}
}

/* At the head of the queue: the first slot to free up. */
static void wait_for_slot(struct run *r)
{
	int e = gl_slots_wait_slot(&r->slots, &r->wait, cr_on_slot_wait, r);

	if (e == -ETIMEDOUT)
		timed_out(r, "every slot is still busy");
	if (e < 0)
		slot_error(r, e);
}

int main(int argc, char **argv)
{
	static struct run run;
	struct run *r = &run;
	char how[64];

	r->cmd = cr_read_settings(&r->o, argc, argv);
	cr_fit_threads(r);
	cr_find_command(r);
	cr_memory_settings(r);
	open_slots(r);
	if (r->mem_cap)
		cr_setup_mem_max(r);
	if (cr_inside_a_slot(r)) {
		r->nested = true;
		start(r, NULL);
	}
	/* With --mem-avail everyone goes through the queue, so admission is
	 * one job at a time. */
	if (!r->mem_need)
		take_a_free_slot(r);

	start_waiting(r);
	if (r->o.max_wait == 0 && !r->mem_need)
		timed_out(r, "every slot is busy");
	queue(r);
	wait_for_slot(r);
	if (r->mem_need && cr_wait_memory(r) < 0)
		timed_out(r, "not enough memory available (--mem-avail)");
	snprintf(how, sizeof how, "got slot %u of %u", r->slots.held, r->o.slots);
	start(r, how);
}
