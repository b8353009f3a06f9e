/* What gl_gpu.c (the whole-machine lock), gl_gpu_some.c (the locks of
 * some of the GPUs) and gpulock run --gpus (which picks free GPUs) share:
 * one take's wait, the test of whether a busy lock is held for our own
 * process tree, and the whole-machine lock taken shared. */
#ifndef GL_GPU_INTERNAL_H
#define GL_GPU_INTERNAL_H

#include "gl_gpu.h"
#include "gl_gpus.h"
#include "gl_held.h"
#include "gl_wait.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct gl_gpu_wait {
	const struct gl_lock_settings *cfg;
	const struct gl_held *named; /* our GPU_LOCK_HELD, parsed, or NULL */
	pid_t holder;                /* found holding a lock for our tree */
	struct stat st;              /* and the lock file it holds */
	struct gl_wait wait;         /* the whole take: one deadline, one reminder schedule */
	int fd;                      /* the fd being waited on, for the reminders */
	/* For messages: the lock being waited for ("the GPU lock", "the lock
	 * of GPU 2") and its file; the whole take ("the GPU lock", "the locks
	 * of GPUs 1, 3") and its file or directory. */
	const char *what, *path;
	const char *take_what, *take_path;
	char what_buf[64], take_buf[GL_GPUS_MAX * 4 + 32];
	char path_buf[PATH_MAX];
};

/* Names holder in GPU_LOCK_HELD for the processes we start (gl_held.h);
 * dev and ino are the whole-machine lock file's. */
void gl_gpu_export_held(pid_t holder, dev_t dev, ino_t ino);

/* gl_lock_wait_fn: "pid N waiting for WHAT PATH, held by ...". */
void gl_gpu_announce_wait(int fd, void *arg);

/* One try for an exclusive lock on fd; when it is busy, is it held for our
 * process tree (an ancestor, or the holder GPU_LOCK_HELD names, holding it
 * shared or exclusive)? 0: locked; 1: held for our tree (ctx->holder and
 * ctx->st say by whom, on which file); -EWOULDBLOCK: held by another;
 * -errno. */
int gl_gpu_try_for_tree(struct gl_gpu_wait *ctx, int fd);

/* Is the lock on st's file held for our tree, as gl_gpu_try_for_tree
 * decides (ctx->holder set)? */
bool gl_gpu_held_for_tree(struct gl_gpu_wait *ctx, const struct stat *st);

/* The wait of a take, as cfg says: its deadline, reminders, and whether a
 * stop signal ends it. */
void gl_gpu_wait_init(struct gl_gpu_wait *ctx, const struct gl_lock_settings *cfg);

/* The whole-machine lock on fd, shared, after any whole-machine request
 * that is waiting for it already (see gl_gpu_some.c). 0, 1 (held
 * exclusive for our tree), -ETIMEDOUT, -EINTR or -errno. */
int gl_gpu_machine_shared(struct gl_gpu_wait *ctx, int fd, bool *waited);

/* A whole-machine request that waits for the machine lock (st): a waiting
 * exclusive flock in /proc/locks that is not ours. Its pid, -1 when it
 * shows without one, 0 when there is none. */
pid_t gl_gpu_machine_waiter(const struct stat *st);

/* What taking the locks of the GPUs in set needs, for a single process and
 * for a rank alike: their order (order[], by UUID; returned: how many),
 * the take's description, and h's table of fds. -ENOMEM. */
int gl_gpu_plan(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list, gl_gpu_set set,
                struct gl_gpu_hold *h, const struct gl_gpu **order);

/* GPU g's lock file open on *fd (unless a fork handed it over), and ctx
 * naming it for the messages. 0 or -errno. */
int gl_gpu_open_lock(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list,
                     const struct gl_gpu *g, int *fd);

/* As gl_gpu_take_some, for a rank of a multi-process job (gl_job.h): the
 * locks are shared with the other ranks of the job and exclusive against
 * everyone else (gl_gpu_group.c). set: the GPUs it sees; a list with no
 * GPUs: the machine lock alone. */
struct gl_job;
int gl_gpu_take_for_job(struct gl_gpu_wait *ctx, const struct gl_job *job,
                        const struct gl_gpu_list *list, gl_gpu_set set, struct gl_gpu_hold *h,
                        bool *waited);

/* Does the holder ctx->named (our GPU_LOCK_HELD) still hold the machine
 * lock on fd, shared or not? Then we run under its locks, whatever GPUs we
 * see (ctx->holder and ctx->st say whose). */
bool gl_gpu_named_holds(struct gl_gpu_wait *ctx, int fd);

/* The directory of per-GPU lock files, created (mode 01777, like /tmp)
 * when missing. 0, or -ELOOP (a symlink), -ENOTDIR, -errno. */
int gl_gpu_dir_ready(const char *dir);

/* Takes the locks of the GPUs in set exclusive, in the order of their
 * UUIDs, then the machine lock shared, into h (its fds already open,
 * inherited through a fork in the middle of a take, are waited on again).
 * 0: all taken; 1: held for our tree already (nothing kept); -ETIMEDOUT,
 * -EINTR, or -errno (nothing kept). *waited: some lock was busy. */
int gl_gpu_take_some(struct gl_gpu_wait *ctx, const struct gl_gpu_list *list, gl_gpu_set set,
                     struct gl_gpu_hold *h, bool *waited);

#endif
