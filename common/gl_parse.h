/* Strict parsers for settings read from the environment or the command line.
 * They reject empty strings, trailing junk, NaN/infinity and out-of-range
 * values instead of guessing, so a typo never silently changes behaviour. */
#ifndef GL_PARSE_H
#define GL_PARSE_H

#include <stdbool.h>

/* Seconds as a decimal number, fractions allowed ("30", "0.5"). Returns 0, or
 * -EINVAL (not a number) or -ERANGE (negative or above max). */
int gl_parse_seconds(const char *s, double max, double *out);

/* 1/yes/true/on and 0/no/false/off, case-insensitive. Returns 0 or -EINVAL. */
int gl_parse_bool(const char *s, bool *out);

/* Index of s in the NULL-terminated list of words, or -EINVAL. */
int gl_parse_word(const char *s, const char *const *words);

/* A decimal integer: an optional '-', then digits only (no '+', spaces, hex
 * or octal). Returns 0, or -EINVAL (not an integer) or -ERANGE (below min or
 * above max). *out is untouched on error. */
int gl_parse_long(const char *s, long min, long max, long *out);

#endif
