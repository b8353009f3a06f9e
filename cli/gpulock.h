/* Shared by the files of the gpulock program. */
#ifndef GPULOCK_H
#define GPULOCK_H

#include "gl_lock_settings.h"

#include <stdbool.h>
#include <stdio.h>

#define PRELOAD_NAME "libgpulock_preload.so"

/* Exit codes, as in gpulock(1). */
#define EXIT_LOCK_FAILED 75  /* a wait for the lock timed out (fail policy) */
#define EXIT_SETUP 125       /* our own usage or set-up error, before anything ran */
#define EXIT_CANNOT_EXEC 126 /* the command exists but cannot be executed */
#define EXIT_NOT_FOUND 127   /* the command was not found */

/* Settings of the GPU side, from the environment and then the flags. */
struct cli_settings {
	struct gl_lock_settings cfg;
	bool lock_given, timeout_given, quiet_given;
};

/* "gpulock: MESSAGE" and "Try 'gpulock [CMD] --help'." for the subcommand
 * being run; returns EXIT_SETUP. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The help text of a subcommand, or the overview for NULL. False (nothing
 * printed) for an unknown name. */
bool cli_help(FILE *out, const char *cmd);

/* The preload library that goes with this gpulock (GPULOCK_PRELOAD when
 * set), as an absolute path, or NULL and *why: not found, or a path that
 * LD_PRELOAD cannot hold (it splits at spaces and colons). */
const char *cli_preload_path(const char **why);

/* Does an LD_PRELOAD value name the file lib (the same device and inode)?
 * Entries are split and $LIB and $PLATFORM expanded as the loader does for
 * this process; an entry with $ORIGIN or without a slash is not compared
 * (naming the library twice is harmless: the loader loads a file once). */
bool cli_preload_listed(const char *list, const char *lib);

/* LD_PRELOAD keeps what it has (sanitizer runtimes must stay first) and
 * gets lib at the end, unless that very file is listed already. 0 or
 * -ENOMEM. */
int cli_preload_add(const char *lib);

/* Refuses a lock path that cannot work, before anything runs: a symlink, a
 * directory, anything but a regular file, or a missing directory. */
int cli_check_lock_path(const char *path);

/* Subcommands: each returns the process exit status. */
int cli_status(const struct cli_settings *s, bool json, const char *slot_dir);
int cli_doctor(struct cli_settings *s, char **cmd);
int cli_shell_init(int argc, char **argv);

#endif
