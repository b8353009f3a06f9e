/* What the gpulock command's tests share: the program, running it with the
 * exit status and output checked, and LD_PRELOAD values that keep a
 * sanitizer runtime first where the build has one. */
#ifndef GL_CLI_HARNESS_H
#define GL_CLI_HARNESS_H

#include <stddef.h>

const char *gpulock(void);

/* Runs argv (gpulock is not preloaded itself) with the sanitizer runtime,
 * where there is one, in LD_PRELOAD, and checks the status and that stdout
 * and stderr contain want_out and want_err (NULL: anything). */
void expect(const char *const argv[], int want_status, const char *want_out, const char *want_err);

/* Runs argv with extra environment entries (may be NULL); the status, stdout
 * and stderr must be exactly these. */
void expect_exact(const char *const argv[], const char *const extra[], int want_status,
                  const char *want_out, const char *want_err);

/* "LD_PRELOAD=" the sanitizer runtime (where there is one), then entries. */
void preload_env(char *buf, size_t len, const char *entries);
/* The same without "LD_PRELOAD=": the value. */
void preload_value(char *buf, size_t len, const char *entries);

#endif
