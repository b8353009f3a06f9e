/* cpu_run's job: the command found before anyone waits, then, once it may
 * start, its process adjusted (CPUs, niceness, I/O class, thread caps) and
 * exec'd. */
#include "cpu_run.h"

#include "gl_command.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The runtimes whose thread pools size themselves to the whole machine. */
static const char *const thread_vars[] = {
	"OMP_NUM_THREADS",      "OPENBLAS_NUM_THREADS",   "MKL_NUM_THREADS",
	"NUMEXPR_NUM_THREADS",  "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
	"NUMBA_NUM_THREADS",    "GOTO_NUM_THREADS",       "RAYON_NUM_THREADS",
	"POLARS_MAX_THREADS",   "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
	"JULIA_NUM_THREADS",    "GOMAXPROCS",             NULL,
};

/* Find the command as execvp will, before anyone waits in vain: exits 127
 * (not found) or 126 (not executable). */
void cr_find_command(struct run *r)
{
	int e = gl_command_find(r->cmd[0], r->cmd_path, sizeof r->cmd_path);

	if (e == 0)
		return;
	e = e == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	cr_msg("%s: %s", r->cmd[0], e == EXIT_NOT_FOUND ? "command not found" : "not executable");
	exit(e);
}

static unsigned allowed_cpus(cpu_set_t *set)
{
	if (sched_getaffinity(0, sizeof *set, set) < 0)
		return 0;
	return (unsigned)CPU_COUNT(set);
}

/* More threads than CPUs only take turns (taskset -c 0 cpu_run ...): the
 * default cap is no more than the CPUs the job may use. One given stays. */
void cr_fit_threads(struct run *r)
{
	cpu_set_t set;

	r->cpus = allowed_cpus(&set);
	if (!r->o.threads_given && r->cpus && r->cpus < r->o.threads)
		r->o.threads = r->cpus;
}

/* --pin: THREADS CPUs of those we may use, a different run of them for each
 * slot (wrapping around); an unslotted job takes the run after the last. */
static void pin(struct run *r, unsigned slot)
{
	cpu_set_t allowed, mine;
	int cpus[CPU_SETSIZE];
	unsigned n = 0, first;

	if (!allowed_cpus(&allowed))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	if (r->o.threads >= n)
		return;
	CPU_ZERO(&mine);
	first = (slot - 1) * r->o.threads;
	for (unsigned j = 0; j < r->o.threads; j++)
		CPU_SET(cpus[(first + j) % n], &mine);
	if (sched_setaffinity(0, sizeof mine, &mine) < 0)
		cr_msg("warning: cannot pin to CPUs: %s", strerror(errno));
}

/* The job's niceness: --nice is a floor, never a ceiling. A caller nicer
 * than that (nice -n 19 cpu_run ...) asked for more politeness, and root,
 * who could lower it, must not make the job less nice than its caller. */
long cr_job_nice(const struct run *r, int *cur)
{
	errno = 0;
	*cur = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		return r->o.nice; /* unknown: ask for the configured one */
	return *cur > r->o.nice ? *cur : r->o.nice;
}

static void be_nice(struct run *r)
{
	int cur;
	long want = cr_job_nice(r, &cur);

	if (cur < want && setpriority(PRIO_PROCESS, 0, (int)want) < 0)
		cr_msg("warning: cannot set niceness %ld: %s", want, strerror(errno));
	/* ioprio_set(IOPRIO_WHO_PROCESS, self, IOPRIO_CLASS_IDLE): the class
	 * needs no privilege since Linux 2.6.25; a failure costs only politeness.
	 * Idle is the lowest class, so this never raises the caller's I/O
	 * priority; without it the job keeps the caller's. */
	if (r->o.ionice)
		(void)syscall(SYS_ioprio_set, 1, 0, 3 << 13);
}

/* The job's environment: ours, with the thread caps and CPU_RUN_ACTIVE=1
 * set. It becomes environ for the exec. Built in static storage, without
 * malloc: setenv(3), or only a calloc'd array, makes musl set up its heap,
 * 3 page faults and 15-40 us of CPU time more per launch (scripts/bench,
 * section 6's spawns, each variant against this one, 2026-11-30). */
#define JOB_VARS (sizeof thread_vars / sizeof *thread_vars) /* and CPU_RUN_ACTIVE */
#define JOB_ENV_INLINE 256

struct job_env {
	char set[JOB_VARS][48];           /* "NAME=value" for each variable we set */
	char *inline_env[JOB_ENV_INLINE]; /* the new environ, when it fits */
};

/* Does entry ("NAME=value") name one of the variables in set[0..n)? */
static bool replaced(const char *entry, char (*set)[48], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)(strchr(set[i], '=') - set[i]) + 1;

		if (strncmp(entry, set[i], len) == 0)
			return true;
	}
	return false;
}

static void cap_threads(struct run *r)
{
	static struct job_env je;
	char val[16], numba[16], **envp;
	size_t nset = 0, n = 0, k = 0;
	unsigned cpus = r->cpus; /* ours at the start: --pin leaves min(threads, cpus) */

	snprintf(val, sizeof val, "%u", r->o.threads);
	/* numba refuses a NUMBA_NUM_THREADS above the CPUs it may use. */
	snprintf(numba, sizeof numba, "%u", cpus && cpus < r->o.threads ? cpus : r->o.threads);
	for (int i = 0; thread_vars[i]; i++) {
		const char *v = strcmp(thread_vars[i], "NUMBA_NUM_THREADS") == 0 ? numba : val;

		if (r->o.force_threads || !cr_env(thread_vars[i]))
			snprintf(je.set[nset++], sizeof je.set[0], "%s=%s", thread_vars[i], v);
	}
	snprintf(je.set[nset++], sizeof je.set[0], "CPU_RUN_ACTIVE=1");

	while (environ[n])
		n++;
	envp = n + nset < JOB_ENV_INLINE ? je.inline_env : calloc(n + nset + 1, sizeof *envp);
	if (!envp) {
		cr_msg("cannot set the job's environment: %s", strerror(ENOMEM));
		gl_slots_dequeue(&r->slots);
		exit(EXIT_SETUP);
	}
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i], je.set, nset))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nset; i++)
		envp[k++] = je.set[i];
	envp[k] = NULL;
	environ = envp;
}

/* The job's process, in slot (THE SLOTS + 1: none): its CPUs (nested: the
 * job's own CPUs already), its niceness and I/O class, its thread caps. */
void cr_setup_job(struct run *r, unsigned slot)
{
	if (r->o.pin && !r->nested)
		pin(r, slot);
	be_nice(r);
	cap_threads(r);
}

/* Under systemd-run --user --scope for --mem-max: it moves itself (our pid)
 * into a new scope with the limits, then execs the command. */
static void exec_systemd(struct run *r)
{
	char max[64], **argv;
	int n = 0, argc = 0;

	while (r->cmd[argc])
		argc++;
	argv = calloc((size_t)argc + 16, sizeof *argv);
	if (!argv)
		return;
	snprintf(max, sizeof max, "MemoryMax=%llu", r->mem_cap);
	argv[n++] = "systemd-run";
	argv[n++] = "--user";
	argv[n++] = "--scope";
	argv[n++] = "--quiet";
	argv[n++] = "--collect";
	if (r->systemd_expand_flag)
		argv[n++] = "--expand-environment=no"; /* a '$' in the command stays a '$' */
	argv[n++] = "-p";
	argv[n++] = max;
	argv[n++] = "-p";
	argv[n++] = "MemorySwapMax=0";
	argv[n++] = "--";
	argv[n++] = r->cmd_path;
	for (int i = 1; i < argc; i++)
		argv[n++] = r->cmd[i];
	execvp(argv[0], argv);
	free(argv);
}

/* The path found before waiting: no second search. A file without a #!
 * line goes to the shell, as execvp does it. */
static void exec_direct(struct run *r)
{
	int argc = 0;
	char **sh;

	if (execv(r->cmd_path, r->cmd) == 0 || errno != ENOEXEC)
		return;
	while (r->cmd[argc])
		argc++;
	sh = calloc((size_t)argc + 2, sizeof *sh);
	if (sh) {
		sh[0] = "sh";
		sh[1] = r->cmd_path;
		for (int i = 1; i < argc; i++)
			sh[i + 1] = r->cmd[i];
		execv("/bin/sh", sh);
		free(sh);
	}
	errno = ENOEXEC;
}

void cr_exec_job(struct run *r)
{
	int e;

	if (r->memcap == MEMCAP_SYSTEMD)
		exec_systemd(r);
	else
		exec_direct(r);
	e = errno;
	cr_msg("cannot run %s: %s", r->memcap == MEMCAP_SYSTEMD ? "systemd-run" : r->cmd[0],
	       strerror(e));
	exit(e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}
