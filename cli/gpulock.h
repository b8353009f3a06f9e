/* The parts of the gpulock program, each in a file of its own, for
 * gpulock.c (the command line) and for each other. gpulock.c defines none
 * of this: it only calls these. */
#ifndef GPULOCK_H
#define GPULOCK_H

#include "exit_codes.h"
#include "gl_lock_settings.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#define PRELOAD_NAME "libgpulock_preload.so"

/* ---- gpulock_options.c ---- */

/* Settings of the GPU side, from the environment and then the flags. */
struct cli_settings {
	struct gl_lock_settings cfg;
	bool lock_given, timeout_given, quiet_given;
};

/* Loads the settings from the environment; a bad one is reported and makes
 * the result EXIT_SETUP (0 otherwise), to be returned once the options are
 * read: --help still helps. */
int cli_load_settings(struct cli_settings *s);

/* getopt_long, with the word being read (a cluster such as -qx included) in
 * *word, for cli_option_error: getopt's own messages (opterr = 0) would
 * name the subcommand, not gpulock. */
int cli_next_option(int argc, char **argv, const char *opts, const struct option *longopts,
                    const char **word);

/* The usage error for what getopt returned ('?' or ':'). */
int cli_option_error(int c, const char *word);

/* --lock and --timeout: 0, or a usage error's exit status. */
int cli_set_lock(struct cli_settings *s, const char *arg);
int cli_set_timeout(struct cli_settings *s, const char *arg);

/* Refuses a lock path that cannot work, before anything runs: a symlink, a
 * directory, anything but a regular file, or a missing directory. */
int cli_check_lock_path(const char *path);

/* "gpulock: cannot use the GPU lock PATH: why" on stderr, naming what the
 * path is and its owner where it is not a regular file (gl_lockfile_explain). */
void cli_lock_path_error(const char *path, int err);

/* ---- gpulock_usage.c ---- */

/* Names the subcommand being run (NULL: none) for cli_usage_error. */
void cli_usage_subcommand(const char *name);

/* "gpulock: MESSAGE" and "Try 'gpulock [CMD] --help'." for the subcommand
 * being run; returns EXIT_SETUP. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- gpulock_help.c ---- */

/* The help text of a subcommand, or the overview for NULL. False (nothing
 * printed) for an unknown name. */
bool cli_help(FILE *out, const char *cmd);

/* ---- gpulock_preload.c ---- */

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
 * -ENOMEM. The one place LD_PRELOAD is added to (run and doctor). */
int cli_preload_add(const char *lib);

/* ---- gpulock_shared_dirs.c ---- */

enum cli_dir_state { CLI_DIR_MISSING, CLI_DIR_OK, CLI_DIR_WRONG };

/* Is path (the per-GPU lock directory, cpu_run's slot directory) root's,
 * mode 1777, as gpulock's tmpfiles.d entry and gpulock setup make it? For
 * CLI_DIR_WRONG, buf says what is wrong ("is owned by alice (uid 1000),
 * not root: ..."); *fix is always how to make it right. */
enum cli_dir_state cli_shared_dir_check(const char *path, char *buf, size_t len,
                                        const char **fix);

/* ---- the subcommands: each returns the process exit status ---- */

/* gpulock_status.c: the lock cfg->lock_path, and cpu_run's slots in slot_dir. */
int cli_status(const struct gl_lock_settings *cfg, bool json, const char *slot_dir);
/* gpulock_doctor.c: checks of the lock cfg->lock_path, the preload, and cmd
 * (may be NULL). */
int cli_doctor(const struct gl_lock_settings *cfg, char **cmd);
/* gpulock_shell.c */
int cli_shell_init(int argc, char **argv);
/* gpulock_run.c */
int cli_run(int argc, char **argv);
/* exec, so that the exit status, signals and pid are the command's own;
 * returns 126 or 127, having said why, when it cannot. */
int cli_exec(char **cmd);
/* Is cmd[0] a command that can run? 0, or 126 or 127, having said why:
 * checked before a wait, which may be long, not after it. */
int cli_check_command(char **cmd);
/* gpulock_gpus.c: run --gpus K (arg) */
int cli_run_gpus(const struct cli_settings *s, const char *arg, char **cmd);
/* gpulock_setup.c: (root) the hardened layout (gl_hardened.h) */
int cli_setup(int argc, char **argv);
/* gpulock_wait.c */
int cli_wait(int argc, char **argv);

#endif
