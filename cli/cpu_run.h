/* Shared by the files of the cpu_run program:
 *   cpu_run.c           main: parse, wait for a slot, set up, exec
 *   cpu_run_settings.c  the settings: variables, options, --help
 *   cpu_run_queue.c     what a waiting launcher says; whether it runs inside a slot
 *   cpu_run_mem.c       the memory guard: --mem-avail and --mem-max
 *   cpu_run_job.c       the job's process: CPUs, niceness, threads, exec */
#ifndef CPU_RUN_H
#define CPU_RUN_H

#include "exit_codes.h"
#include "gl_size.h"
#include "gl_slots.h"
#include "gl_wait.h"

#include <limits.h>
#include <stdbool.h>

struct opts {
	unsigned slots;
	unsigned threads;
	bool threads_given; /* else min(the default, the CPUs the job may use) */
	double max_wait;
	const char *dir;
	bool fail_on_timeout;
	struct gl_size mem_avail;    /* 0 bytes: no guard */
	const char *mem_avail_name;  /* where it came from, for the refusal of */
	const char *mem_avail_value; /* one above MemTotal */
	struct gl_size mem_max;      /* 0 bytes: no cap */
	bool force_threads;
	bool pin;
	bool ionice;
	bool quiet;
	long nice;
	const char *meminfo; /* CPU_RUN_MEMINFO_PATH, for tests */
};

/* How --mem-max is enforced, decided before anything runs. */
enum memcap { MEMCAP_NONE, MEMCAP_CGROUP, MEMCAP_SYSTEMD };

struct run {
	struct opts o;
	char **cmd;
	char cmd_path[PATH_MAX];
	double start;
	double deadline;
	struct gl_wait wait; /* from start to deadline, with the reminders */
	struct gl_slots slots;
	bool announced;
	bool nested;   /* run by a job that holds a slot: no slot of its own */
	unsigned cpus; /* in our affinity mask when we started; 0: unknown */
	enum memcap memcap;
	bool systemd_expand_flag; /* systemd-run knows --expand-environment=no */
	unsigned long long mem_total;
	unsigned long long mem_need; /* --mem-avail in bytes, 0: none */
	unsigned long long mem_cap;  /* --mem-max in bytes, 0: none */
};

/* cpu_run.c: one line on stderr, "cpu_run: ...", in one write(2). */
void cr_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error, then "Try 'cpu_run --help'."; exits EXIT_SETUP. */
void cr_die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* An empty variable is an unset one, as ${VAR:-default} in cpu_run.sh. */
const char *cr_env(const char *name);

/* cpu_run_settings.c: the environment, then the options over it. Returns
 * the command; exits on a bad setting, --help or --version. */
char **cr_read_settings(struct opts *o, int argc, char **argv);

/* cpu_run_queue.c */
bool cr_inside_a_slot(struct run *r);
void cr_announce_wait(struct run *r, unsigned ahead);
void cr_announce_start(struct run *r, const char *how);
void cr_remind_wait(double waited, void *arg);
void cr_on_slot_wait(struct gl_slots *s, void *arg);

/* cpu_run_mem.c */
void cr_memory_settings(struct run *r);
void cr_setup_mem_max(struct run *r);
int cr_wait_memory(struct run *r);

/* cpu_run_job.c */
void cr_fit_threads(struct run *r);
void cr_find_command(struct run *r);
long cr_job_nice(const struct run *r, int *cur);
void cr_setup_job(struct run *r, unsigned slot);
void cr_exec_job(struct run *r) __attribute__((noreturn));

#endif
