/* The GPU lock's settings, read from the environment once, at the first GPU call
 * (never at load time). Bad values are reported through a callback and the
 * default is used: the preload must not fail its host over a typo. */
#ifndef GL_LOCK_SETTINGS_H
#define GL_LOCK_SETTINGS_H

#include <limits.h>
#include <stdbool.h>

#include "gl_hardened.h"

/* The default lock path without the hardened directory; with it,
 * GL_HARDENED_LOCK_PATH (gl_default_lock_path()). */
#define GL_DEFAULT_LOCK_PATH GL_TMP_LOCK_PATH
#define GL_GPU_DIR_SUFFIX ".d"
#define GL_TIMEOUT_MAX 31536000.0 /* a year: anything longer is a typo */
/* What a bad duration setting is told it should have been. */
#define GL_DURATION_EXPECTED                                                                       \
	"a duration (e.g. 30, 0.5, 1m30s, 2h, or forever), at most a year"

struct gl_lock_settings {
	/* GPU_LOCK_PATH: the whole-machine lock; by default
	 * GL_HARDENED_LOCK_PATH where gpulock setup made /run/gpulock, else
	 * GL_TMP_LOCK_PATH (gl_default_lock_path(): one lstat, at the load) */
	char lock_path[PATH_MAX];
	/* GPU_LOCK_DIR: the per-GPU lock files, one named by each GPU's UUID;
	 * by default lock_path with ".d" added (GL_GPU_DIR_SUFFIX) */
	char gpu_dir[PATH_MAX];
	const char *visible;      /* CUDA_VISIBLE_DEVICES, even empty; NULL when unset */
	bool pci_order;           /* CUDA_DEVICE_ORDER=PCI_BUS_ID */
	const char *group;        /* GPU_LOCK_GROUP, when valid (gl_job.h) */
	/* The first launcher's rank variable set (RANK, OMPI_COMM_WORLD_RANK,
	 * ...: gl_job.h), or NULL: whether to look for a job at all */
	const char *rank_var;
	double timeout;           /* GPU_LOCK_TIMEOUT, GL_WAIT_FOREVER when unset */
	bool run_on_timeout;      /* GPU_LOCK_ON_TIMEOUT=run (default fail) */
	bool run_on_error;        /* GPU_LOCK_ON_ERROR=run (default fail) */
	bool quiet;               /* GPU_LOCK_QUIET */
	bool debug;               /* GPU_LOCK_DEBUG */
	const char *skip_var;     /* PSRUN_SKIP_GPU_LOCK or GPU_SKIP_LOCK when set, else NULL */
	const char *held;         /* GPU_LOCK_HELD when non-empty, else NULL */
	/* Not a setting: the preload sets it, so that SIGINT, SIGTERM, SIGHUP
	 * and SIGQUIT end its waits (see gl_wait.h). */
	bool interruptible;
	/* Not a setting: what set the timeout, for messages ("--no-wait");
	 * NULL: the environment. */
	const char *timeout_source;
};

typedef const char *(*gl_getenv_fn)(const char *name);
/* var='value': expected ...; using the default (...) */
typedef void (*gl_settings_warn_fn)(const char *var, const char *value, const char *expected,
                                    const char *fallback);

void gl_lock_settings_load(struct gl_lock_settings *cfg, gl_getenv_fn get,
                           gl_settings_warn_fn warn);

/* Sets cfg->gpu_dir to the default that follows cfg->lock_path: for CLIs
 * whose --lock changes the lock path after the load, when GPU_LOCK_DIR was
 * not set. false when the result would not fit. */
bool gl_lock_settings_default_gpu_dir(struct gl_lock_settings *cfg);

/* The standard warning: "gpulock: VAR='value': expected ...; using ...". */
void gl_settings_warn_stderr(const char *var, const char *value, const char *expected,
                             const char *fallback);

#endif
