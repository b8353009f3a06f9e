/* Running cpu_run for real in its tests: a fresh slot directory per test,
 * processes with pipes on all three stdio fds, and synchronisation on lock
 * states read from /proc/locks (who holds a slot, who waits, who holds a
 * ticket), never on sleeps. */
#ifndef GL_CPU_RUN_HARNESS_H
#define GL_CPU_RUN_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "procs.h"

extern char t_dir[];   /* a fresh directory per test */
extern char t_slots[]; /* t_dir/slots, exported as CPU_RUN_SLOT_DIR */
extern char t_log[];   /* t_dir/log, exported as CR_LOG */

/* A fresh t_dir in the test program's temporary directory (see procs.h),
 * removed with it at the latest. */
void t_setup(void);
/* Checked fixture teardown: removes t_dir, if a test made one. */
void t_teardown(void);
const char *t_cpu_run(void); /* the cpu_run under test */
const char *t_job(void);     /* cr_job */
const char *t_seed(void);    /* the original cpu_run.sh */
/* For a test that runs them as another user, who may not reach the build
 * tree (a clone in a 0700 home): copies of the three into t_dir, which
 * the three functions above name from then on. After t_setup. */
void t_share_programs(void);

/* Spawn argv with a clean environment (no CPU_RUN_* or thread variables from
 * whoever runs the tests) plus CPU_RUN_SLOT_DIR, CR_LOG and the NULL-
 * terminated "NAME=value" entries of extra (which win). uid: run as that
 * user (the caller must be root; argv[0] must be within its reach, see
 * t_share_programs), or (uid_t)-1. */
void t_spawn_as(struct tp_proc *p, const char *const argv[], const char *const extra[], uid_t uid);
void t_spawn(struct tp_proc *p, const char *const argv[], const char *const extra[]);
/* Wait for exit (failing the test after timeout seconds, scaled). Returns the
 * exit status, or 128+signal. Closes the pipes. */
int t_wait(struct tp_proc *p, double timeout);
/* Spawn, close stdin, collect stdout and stderr, wait. Returns the status. */
int t_run(const char *const argv[], const char *const extra[], char **out, char **err);

/* Wait until pid holds (waiting false) or waits for (true) a flock on path.
 * pid 0: anyone. */
void t_wait_lock(const char *path, pid_t pid, bool waiting);
/* Wait until pid holds a live ticket in t_slots. */
void t_wait_ticket(pid_t pid);
/* Wait until waiter blocks on the ticket of pred (its predecessor). */
void t_wait_follows(pid_t waiter, pid_t pred);
/* Ticket files in t_slots, live or not. */
int t_tickets(void);
/* Path of slot k in t_slots (static buffer). */
const char *t_slot(unsigned k);

/* Can cpu_run --mem-max cap a job here, asked without cpu_run: does
 * systemd-run --user --scope with a MemoryMax run, or is there, from our
 * cgroup v2 upwards, one that enables the memory controller for its
 * children and that we may write? why says how, or why not. After
 * t_setup. */
bool t_can_cap_memory(char *why, size_t len);

/* Start "flock PATH cat": util-linux flock(1) holding the file, as the
 * original tools do, until its stdin closes. Returns once it holds. */
void t_flock_hold(struct tp_proc *p, const char *path);
/* Start cpu_run (with the args before the job) running "cr_job run TAG
 * hold"; returns once the job printed its line, i.e. it holds its slot. */
void t_job_hold(struct tp_proc *p, const char *tag, const char *const cpu_run_args[],
                const char *const extra[]);

#endif
