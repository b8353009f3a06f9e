/* What gpulock_status.c (the GPU lock, cpu_run's slots) and
 * gpulock_status_gpus.c (each GPU, the --gpus queue) share: JSON and text
 * rows written the same way. */
#ifndef GPULOCK_STATUS_H
#define GPULOCK_STATUS_H

#include "gl_lock_settings.h"
#include "gl_status.h"

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

/* ---- gpulock_status_gpus.c ---- */

struct status_gpus;

/* The GPUs (gl_gpus_find), their locks in cfg->gpu_dir, their memory where
 * NVML tells, and the --gpus queue. NULL when no GPU is found (or memory
 * runs out): status is then the one lock's. */
struct status_gpus *status_gpus_read(const struct gl_lock_settings *cfg);
void status_gpus_free(struct status_gpus *g);

/* Some GPU's lock is held, or someone queues for GPUs. */
bool status_gpus_busy(const struct status_gpus *g);

/* The whole-machine lock's heading, for a machine with GPUs: "shared by 2
 * jobs on single GPUs (pids 4242, 4250)", the requests that wait for the
 * whole machine. */
void status_gpus_machine_text(const struct gl_status *st, size_t width);

/* A line for each GPU, then the --gpus queue. */
void status_gpus_text(const struct status_gpus *g, size_t width);

/* , "gpus": [...], "gpu_queue": [...] */
void status_gpus_json(const struct status_gpus *g);

#endif
