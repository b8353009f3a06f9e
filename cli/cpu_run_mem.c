/* cpu_run's memory guard. --mem-avail: the head of the queue, holding its
 * slot, starts only when MemAvailable is at least this. --mem-max: the job
 * runs in a cgroup with that memory limit and no swap, found or asked of
 * systemd before anyone waits. */
#include "cpu_run.h"

#include "gl_memcap.h"
#include "gl_meminfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEM_POLL_SECONDS 0.25 /* memory has no event to wait on */

static int read_meminfo(struct run *r, unsigned long long *avail)
{
	unsigned long long total;
	int e = gl_meminfo_read(r->o.meminfo, &total, avail);

	if (e == 0)
		r->mem_total = total;
	return e;
}

/* --mem-avail above MemTotal: a typo (500T for 500G), which would wait out
 * the whole max-wait, an hour by default. */
static void __attribute__((noreturn)) refuse_mem_avail(const struct run *r)
{
	char total[32];

	gl_size_format(r->mem_total, total, sizeof total);
	cr_die_usage("%s='%s': more than MemTotal (%s): the job could never start",
	             r->o.mem_avail_name, r->o.mem_avail_value, total);
}

/* --mem-avail and --mem-max in bytes, from MemTotal where they are shares
 * of it. Exits EXIT_SETUP where MemTotal cannot be read. */
void cr_memory_settings(struct run *r)
{
	unsigned long long avail;
	int e;

	if (!(r->o.mem_avail.percent ? r->o.mem_avail.pct > 0 : r->o.mem_avail.bytes > 0) &&
	    !(r->o.mem_max.percent && r->o.mem_max.pct > 0)) {
		r->mem_cap = r->o.mem_max.bytes;
		return;
	}
	e = read_meminfo(r, &avail);
	if (e < 0) {
		cr_msg("cannot read %s for the memory settings: %s", r->o.meminfo, strerror(-e));
		exit(EXIT_SETUP);
	}
	r->mem_need = gl_size_bytes(&r->o.mem_avail, r->mem_total);
	r->mem_cap = gl_size_bytes(&r->o.mem_max, r->mem_total);
	if (r->mem_need > r->mem_total) /* a typo (500T for 500G): never */
		refuse_mem_avail(r);
}

/* systemd-run --user --scope puts itself (the same pid) into a new scope
 * with the limits and execs the command: the slot fd goes along. Tried once
 * with a harmless command, so a missing user manager is found out now. */
static bool systemd_probe(struct run *r, char *why, size_t whylen)
{
	char max[64];
	int pipefd[2];

	snprintf(max, sizeof max, "MemoryMax=%llu", r->mem_cap);
	for (int with_flag = 1; with_flag >= 0; with_flag--) {
		const char *argv[16];
		int n = 0, status;
		pid_t pid;
		ssize_t got;

		argv[n++] = "systemd-run";
		argv[n++] = "--user";
		argv[n++] = "--scope";
		argv[n++] = "--quiet";
		argv[n++] = "--collect";
		if (with_flag)
			argv[n++] = "--expand-environment=no"; /* systemd 254+ */
		argv[n++] = "-p";
		argv[n++] = max;
		argv[n++] = "-p";
		argv[n++] = "MemorySwapMax=0";
		argv[n++] = "true";
		argv[n] = NULL;
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return false;
		pid = fork();
		if (pid < 0) {
			close(pipefd[0]);
			close(pipefd[1]);
			return false;
		}
		if (pid == 0) {
			dup2(pipefd[1], STDERR_FILENO);
			dup2(pipefd[1], STDOUT_FILENO);
			execvp(argv[0], (char *const *)argv);
			_exit(EXIT_NOT_FOUND);
		}
		close(pipefd[1]);
		got = read(pipefd[0], why, whylen - 1);
		close(pipefd[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			r->systemd_expand_flag = with_flag;
			return true;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NOT_FOUND) {
			snprintf(why, whylen, "systemd-run is not installed");
			return false;
		}
		why[got > 0 ? got : 0] = '\0';
		why[strcspn(why, "\n")] = '\0';
	}
	return false;
}

/* --mem-max: settled before anyone waits, so that a job that cannot be
 * capped fails now. Where systemd manages the cgroups, ask it (a foreign
 * cgroup in its tree is not ours to make); elsewhere take a delegated or
 * root-writable cgroup ourselves. Never RLIMIT_AS. */
void cr_setup_mem_max(struct run *r)
{
	char path[PATH_MAX], why_cg[512] = "", why_sd[512] = "", size[32];
	bool systemd;

	systemd = access("/run/systemd/system", F_OK) == 0;
	if (systemd && systemd_probe(r, why_sd, sizeof why_sd)) {
		r->memcap = MEMCAP_SYSTEMD;
		return;
	}
	if (gl_memcap_enter(r->mem_cap, path, sizeof path, why_cg, sizeof why_cg) == 0) {
		r->memcap = MEMCAP_CGROUP;
		return;
	}
	if (!systemd && systemd_probe(r, why_sd, sizeof why_sd)) {
		r->memcap = MEMCAP_SYSTEMD;
		return;
	}
	gl_size_format(r->mem_cap, size, sizeof size);
	cr_msg("--mem-max %s: cannot cap memory here: %s; and systemd-run --user: %s. Nothing was "
	       "run: a cap needs cgroup v2 with the memory controller delegated to you (as under a "
	       "systemd user session) or root on a cgroup v2 host",
	       size, why_cg, why_sd[0] ? why_sd : "failed");
	exit(EXIT_SETUP);
}

/* --mem-avail: the head, holding its slot, waits for MemAvailable. Polled:
 * memory has no event to block on. Returns 0 or -ETIMEDOUT. */
int cr_wait_memory(struct run *r)
{
	bool said = false;

	for (;;) {
		unsigned long long avail;
		char have[32], need[32];
		int e = read_meminfo(r, &avail);
		struct timespec ts;
		double left;

		if (e < 0) {
			cr_msg("cannot read %s: %s", r->o.meminfo, strerror(-e));
			gl_slots_dequeue(&r->slots);
			exit(EXIT_SETUP);
		}
		if (avail >= r->mem_need)
			return 0;
		gl_size_format(avail, have, sizeof have);
		gl_size_format(r->mem_need, need, sizeof need);
		if (!said && !r->o.quiet)
			cr_msg("pid %d waiting for memory: MemAvailable is %s, --mem-avail needs %s",
			       (int)getpid(), have, need);
		said = true;
		r->announced = true;
		if (r->wait.remind &&
		    gl_wait_now() >= r->wait.start + gl_wait_reminder_at(r->wait.reminded)) {
			r->wait.remind(gl_wait_now() - r->wait.start, r);
			r->wait.reminded++;
		}
		left = r->deadline < 0 ? MEM_POLL_SECONDS : r->deadline - gl_wait_now();
		if (left <= 0)
			return -ETIMEDOUT;
		if (left > MEM_POLL_SECONDS)
			left = MEM_POLL_SECONDS;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}
