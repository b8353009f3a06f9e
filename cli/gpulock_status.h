/* What gpulock_status.c (the GPU lock, cpu_run's slots) and
 * gpulock_status_gpus.c (each GPU, the --gpus queue) share: JSON and text
 * rows written the same way. */
#ifndef GPULOCK_STATUS_H
#define GPULOCK_STATUS_H

#include "gl_lock_settings.h"
#include "gl_status.h"
#include "gl_status_jobs.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- gpulock_status.c ---- */

const char *status_user_name(uid_t uid, char *buf, size_t len);

/* A JSON string, always valid UTF-8; a seconds field (null when < 0); a
 * PROC object with since as since_key. */
void status_json_string(const char *s);
void status_json_seconds(const char *key, double v);
void status_json_proc(const struct gl_status_proc *p, const char *since_key);
/* The same without its closing brace, for fields of the caller's. */
void status_json_proc_open(const struct gl_status_proc *p, const char *since_key);

/* The command, last on its row after used columns, cut to width (0: no
 * limit); cmd is safe for a terminal already (gl_text_make_safe). */
void status_print_command(const char *cmd, size_t used, size_t width);

/* "  ROLE     pid N  user  held for 3s  command", and its variants for a
 * process that is hidden, exited or not shown. */
void status_text_row(const char *role, const struct gl_status_proc *p, const char *since_word,
                     size_t width);

/* "held for 3m02s", "waiting 5s", or how long it has been running. */
void status_since_col(const struct gl_status_proc *p, const char *since_word, char *col,
                      size_t len);

/* A holder of a lock as status shows it: a process, or the ranks of a
 * multi-process job (gl_status_jobs.h) that hold it shared, as one. */
struct status_holder {
	struct gl_status_proc proc; /* the process; for a job, its launcher
	                             * (a group's: its first rank), since the
	                             * longest any of its ranks has held it */
	bool own;                   /* proc.command is ours to free */
	const struct gl_status_job *job; /* NULL: a process on its own */
	size_t nranks;              /* the job's ranks among the lock's holders */
	pid_t rank[GL_STATUS_MAX_WAITERS];
};

/* st's shared holders into h[GL_STATUS_MAX_WAITERS], each job once, in
 * the order of their first holder's pid; how many. */
size_t status_holders(const struct gl_status *st, const struct gl_status_jobs *jobs,
                      struct status_holder *h);
void status_holders_free(struct status_holder *h, size_t n);

/* " (pid 1)", " (pids 1, 2, 3, 4, ...)" */
void status_pids(const pid_t *pid, size_t n, size_t more, char *buf, size_t len);

/* A job that holds a lock: "held for 3s by the job of pid 12 (root), 2
 * ranks (pids 13, 14)", "held for 3s by group NAME (root), 3 processes
 * (pids 13, 14, 15)"; safe for a terminal. Its launcher's command, safe
 * (malloc'd), in *cmd; NULL for a group, or where it is not known. */
void status_job_text(const struct status_holder *h, char *buf, size_t len, char **cmd);

/* A holder: PROC + "held_seconds" + "job": null | {"launcher": int|null,
 * "command": str|null, "group": str|null, "ranks": [int, ...]} */
void status_json_holder(const struct status_holder *h);

/* ---- gpulock_status_gpus.c ---- */

struct status_gpus;

/* The GPUs (gl_gpus_find), their locks in cfg->gpu_dir, their memory where
 * NVML tells, and the --gpus queue. NULL when no GPU is found (or memory
 * runs out): status is then the one lock's. */
struct status_gpus *status_gpus_read(const struct gl_lock_settings *cfg,
                                     const struct gl_status_jobs *jobs);
void status_gpus_free(struct status_gpus *g);

/* Some GPU's lock is held, or someone queues for GPUs. */
bool status_gpus_busy(const struct status_gpus *g);

/* The whole-machine lock's heading, for a machine with GPUs: "shared by 2
 * jobs on single GPUs (pids 4242, 4250)", the requests that wait for the
 * whole machine. */
void status_gpus_machine_text(const struct gl_status *st, const struct gl_status_jobs *jobs,
                              size_t width);

/* A line for each GPU, then the --gpus queue. */
void status_gpus_text(const struct status_gpus *g, size_t width);

/* , "gpus": [...], "gpu_queue": [...] */
void status_gpus_json(const struct status_gpus *g);

#endif
