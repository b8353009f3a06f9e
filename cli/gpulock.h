/* Shared by the files of the gpulock program. */
#ifndef GPULOCK_H
#define GPULOCK_H

#include "gl_config.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes, as in the README. */
#define EXIT_LOCK_FAILED 75  /* a wait for the lock timed out (fail policy) */
#define EXIT_SETUP 125       /* our own usage or set-up error, before anything ran */
#define EXIT_CANNOT_EXEC 126 /* the command exists but cannot be executed */
#define EXIT_NOT_FOUND 127   /* the command was not found */

/* Settings of the GPU side, from the environment and then the flags. */
struct cli_settings {
	struct gl_gpu_config cfg;
	bool lock_given, timeout_given, quiet_given;
};

/* The preload library that goes with this gpulock, or NULL. */
const char *cli_preload_path(void);

/* Refuses a lock path that cannot work, before anything runs: a symlink, a
 * directory, anything but a regular file, or a missing directory. */
int cli_check_lock_path(const char *path);

/* Subcommands: each returns the process exit status. */
int cli_status(const struct cli_settings *s, bool json, const char *slot_dir);
int cli_doctor(struct cli_settings *s, char **cmd);

#endif
