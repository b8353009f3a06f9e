/* What cpu_run says while it waits in the queue (who holds the slots, how
 * long it has waited), and whether it runs inside a job that holds a slot
 * already. The queue and the slots themselves are launcher/gl_slots*.c. */
#include "cpu_run.h"

#include "gl_log.h"
#include "gl_proc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Who holds one held slot: "slot1: pid 123 (python x.py)", after sep.
 * What snprintf returns. */
static int describe_slot(const struct gl_slot_state *st, const char *sep, char *buf, size_t len)
{
	char cmd[96] = "?";
	/* cpu_run.sh locks with a flock(1) child on its fd 9: the job holds the
	 * slot through it, after the locker has exited. */
	pid_t pid = gl_proc_flock_holder(st->dev, st->ino, st->pid);

	if (pid > 0 && gl_proc_cmdline(pid, cmd, sizeof cmd) == 0)
		return snprintf(buf, len, "%sslot%u: pid %d (%s)", sep, st->index, (int)pid, cmd);
	if (st->pid > 0 && gl_proc_hidden(st->pid))
		return snprintf(buf, len,
		                "%sslot%u: another user's process (pid %d, hidden by /proc's hidepid)",
		                sep, st->index, (int)st->pid);
	if (st->pid > 0)
		return snprintf(buf, len,
		                "%sslot%u: held through an inherited fd (the locker, pid %d, has "
		                "exited, as cpu_run.sh's flock does)",
		                sep, st->index, (int)st->pid);
	return snprintf(buf, len, "%sslot%u: held", sep, st->index);
}

/* Who holds the slots, for the waiting line: the first four. */
static void describe_holders(struct run *r, char *buf, size_t len)
{
	struct gl_slot_state st[GL_SLOTS_MAX];
	size_t n, nt, off = 0;
	unsigned shown = 0;

	buf[0] = '\0';
	if (gl_slots_inspect_at(r->slots.dirfd, r->o.slots, st, GL_SLOTS_MAX, &n, NULL, 0, &nt,
	                        NULL) < 0 &&
	    n == 0)
		return;
	for (size_t i = 0; i < n && off + 1 < len; i++) {
		int w;

		if (!st[i].held)
			continue;
		if (shown == 4)
			w = snprintf(buf + off, len - off, ", ...");
		else
			w = describe_slot(&st[i], shown ? ", " : "", buf + off, len - off);
		off += w > 0 ? (size_t)w : 0;
		if (shown++ == 4)
			break;
	}
	if (off >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* The first line of a wait, once. */
void cr_announce_wait(struct run *r, unsigned ahead)
{
	char who[1024], where[64];

	if (r->announced)
		return;
	r->announced = true;
	if (r->o.quiet)
		return;
	describe_holders(r, who, sizeof who);
	if (ahead)
		snprintf(where, sizeof where, "%u ahead in the queue", ahead);
	else
		snprintf(where, sizeof where, "next in line");
	cr_msg("pid %d waiting for one of %u slots in %s (%s); held by %s", (int)getpid(),
	       r->o.slots, r->o.dir, where, who[0] ? who : "no one (freeing now)");
}

/* A long wait is not silent: at 1, 5, 15 and 60 minutes, then hourly. */
void cr_remind_wait(double waited, void *arg)
{
	struct run *r = arg;
	char who[1024], where[64], dur[32];
	unsigned ahead = gl_slots_ahead(&r->slots);

	describe_holders(r, who, sizeof who);
	gl_log_duration(waited, dur, sizeof dur);
	if (r->slots.held)
		snprintf(where, sizeof where, "holding slot %u, short of memory", r->slots.held);
	else if (ahead)
		snprintf(where, sizeof where, "%u ahead in the queue", ahead);
	else
		snprintf(where, sizeof where, "next in line");
	cr_msg("pid %d still waiting after %s for one of %u slots in %s (%s); held by %s",
	       (int)getpid(), dur, r->o.slots, r->o.dir, where, who[0] ? who : "no one (freeing now)");
}

void cr_on_slot_wait(struct gl_slots *s, void *arg)
{
	(void)s;
	cr_announce_wait(arg, 0);
}

/* The wait is over. Called once, for the line "starting after a wait". */
void cr_announce_start(struct run *r, const char *how)
{
	char took[32];

	if (!r->announced || r->o.quiet)
		return;
	gl_log_duration(gl_wait_now() - r->start, took, sizeof took);
	cr_msg("pid %d %s after %s", (int)getpid(), how, took);
}

/* Run inside a job that holds a slot (its child, grandchild, ...): it is
 * within the guard already. Queueing again could deadlock: N parents each
 * holding a slot while their children wait for one. The job is recognised
 * by CPU_RUN_ACTIVE and a slot held for us. */
bool cr_inside_a_slot(struct run *r)
{
	return cr_env("CPU_RUN_ACTIVE") && gl_slots_held_in_tree(r->slots.dirfd);
}
