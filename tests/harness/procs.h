/* What every test program that runs real processes needs, whatever it runs:
 * waiting for a child with a deadline, reading a pipe to its end, and
 * synchronising on lock states read from /proc/locks rather than on sleeps.
 * preload_harness.c and cpu_run_harness.c, beside it, build on these.
 *
 * Temporary files: each test program makes one directory under $TMPDIR
 * (default /tmp), gl-test-XXXXXX, as it starts, and removes it with all
 * that is in it as it ends, also when it is interrupted. Tests make their
 * own directories in it (tp_make_dir): a test that fails or hangs in its
 * own process (Check's fork mode) leaves nothing behind either. */
#ifndef GL_TEST_PROCS_H
#define GL_TEST_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A process started by a test, with pipes on its three stdio fds. */
struct tp_proc {
	pid_t pid;
	int in;  /* its stdin: closing it releases a holding client or job */
	int out; /* its stdout */
	int err; /* its stderr */
};

/* Seconds on CLOCK_MONOTONIC. */
double tp_now(void);
/* Scale for time windows and deadlines: 10 under valgrind, else 1. */
double tp_scale(void);

/* Wait for pid to exit; after timeout seconds kill it and fail the test.
 * Returns the exit status, or 128+signal. */
int tp_wait(pid_t pid, double timeout);

/* Everything the fd delivers until EOF (malloc'd, NUL-terminated). Fails
 * the test, showing what came so far, when the end takes longer than 120
 * seconds (scaled): a writer that hangs does not hang the test. */
char *tp_read_all(int fd);

/* Read out_fd and err_fd together to their ends and hand each text to *out
 * / *err, or free it where that is NULL. Fails the test, showing both
 * texts so far, when the ends take longer than timeout seconds (scaled);
 * tp_collect allows 120. */
void tp_collect(int out_fd, int err_fd, char **out, char **err);
void tp_collect_within(int out_fd, int err_fd, char **out, char **err, double timeout);

/* One line of fd (malloc'd, without its '\n'), reading byte by byte so
 * that the rest stays in the pipe for the next reader. NULL at EOF before
 * any byte; fails the test after timeout seconds (scaled). */
char *tp_read_line(int fd, double timeout);

/* Does pid (0: anyone) hold (waiting false) or wait for (true) a flock on
 * path? tp_wait_lock waits until it does, failing the test after timeout
 * seconds. */
bool tp_lock_state(const char *path, pid_t pid, bool waiting);
void tp_wait_lock(const char *path, pid_t pid, bool waiting, double timeout);
/* How pid holds a flock on path: 'W' (exclusive), 'R' (shared), or 0. */
char tp_held_as(const char *path, pid_t pid);

/* A fresh directory (mode 0755) in this program's temporary directory, its
 * path in buf; fails the test, saying why, where it cannot be made. */
void tp_make_dir(char *buf, size_t len);
/* $TMPDIR, or /tmp where it is unset or empty. */
const char *tp_tmpdir(void);

/* For tests that run programs as another user (uid), who may not reach
 * the build tree (a clone in a 0700 home): copy the files that the
 * environment variables named NAME_PREFIX... (but not skip_prefix...)
 * name into dir, each in a directory of its own under its own name, and
 * point the variables at the copies. Variables that name no regular file
 * by an absolute path are left alone. */
void tp_share_files(const char *dir, const char *name_prefix, const char *skip_prefix);
/* Copy file to path, readable (and executable, where it is) by everyone. */
void tp_copy_file(const char *file, const char *path);
/* Can uid (not root) search every directory down to path, and read it? */
bool tp_reachable_by(uid_t uid, const char *path);
/* Become uid, its group and no supplementary group, for the rest of this
 * process (the caller is root). */
void tp_become(uid_t uid);

/* Report this test as skipped, saying why, on stderr; the test then returns.
 * A test program in which every test that ran skipped exits 77, meson's
 * SKIP; see doc/HACKING.md for how tests that may skip are grouped. */
void tp_skip(const char *test, const char *why);

/* Run the suites' tests (tp_run_suites: a NULL-terminated list); the exit
 * status of a test program: 1 where a test failed, 77 where all skipped. */
typedef struct Suite Suite;
int tp_run_suite(Suite *s);
int tp_run_suites(Suite *first, ...);

/* Lines of text that contain needle. */
int tp_count(const char *text, const char *needle);
/* The whole file (malloc'd); "" where it cannot be opened. */
char *tp_slurp(const char *path);
/* Is there something to read on fd right now? */
bool tp_readable(int fd);
/* Write text to path whole: written aside and renamed, so that a reader
 * never sees half of it. Fails the test where it cannot. */
void tp_write_file(const char *path, const char *text);

#endif
