/* What every test program that runs real processes needs, whatever it runs:
 * waiting for a child with a deadline, reading a pipe to its end, and
 * synchronising on lock states read from /proc/locks rather than on sleeps.
 * tests/integration/harness.c and tests/cpu_run/crh.c build on these. */
#ifndef GL_TEST_PROCS_H
#define GL_TEST_PROCS_H

#include <stdbool.h>
#include <sys/types.h>

/* Seconds on CLOCK_MONOTONIC. */
double tp_now(void);

/* Wait for pid to exit; after timeout seconds kill it and fail the test.
 * Returns the exit status, or 128+signal. */
int tp_wait(pid_t pid, double timeout);

/* Everything the fd delivers until EOF (malloc'd, NUL-terminated). */
char *tp_read_all(int fd);

/* Read out_fd then err_fd to their ends (the outputs of tests are small)
 * and hand each text to *out / *err, or free it where that is NULL. */
void tp_collect(int out_fd, int err_fd, char **out, char **err);

/* Does pid (0: anyone) hold (waiting false) or wait for (true) a flock on
 * path? tp_wait_lock waits until it does, failing the test after timeout
 * seconds. */
bool tp_lock_state(const char *path, pid_t pid, bool waiting);
void tp_wait_lock(const char *path, pid_t pid, bool waiting, double timeout);

/* Run the suite's tests; the exit status of a test program. */
typedef struct Suite Suite;
int tp_run_suite(Suite *s);

/* Lines of text that contain needle. */
int tp_count(const char *text, const char *needle);

#endif
