/* One-line messages on stderr, prefixed "gpulock: ". Each message is a single
 * write(2) on fd 2: no stdio buffers are touched, so a host program's own
 * stdout/stderr state is never disturbed and lines from several processes do
 * not interleave mid-line. errno is preserved. */
#ifndef GL_LOG_H
#define GL_LOG_H

#include <stdarg.h>
#include <stddef.h>

void gl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for another program: "PREFIX: message". */
void gl_log_as_v(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* "0.4s", "42.0s", "2m05s", "1h02m": a duration for humans. */
void gl_log_duration(double seconds, char *buf, size_t len);

/* Seconds as a plain number, to the millisecond, trailing zeros dropped:
 * "5", "0.5", "0.25". Numbers in messages are written by hand, not with
 * "%f" or "%g", which write a host's decimal comma (a program that called
 * setlocale): what the messages print, the settings must read back. */
void gl_log_seconds(double seconds, char *buf, size_t len);

#endif
