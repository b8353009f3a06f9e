/* Strict parsers for settings read from the environment or the command line.
 * They reject empty strings, trailing junk, NaN/infinity and out-of-range
 * values instead of guessing, so a typo never silently changes behaviour.
 * None depends on the locale: a host program that called setlocale() still
 * reads "0.5" as a half. */
#ifndef GL_PARSE_H
#define GL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* What gl_parse_duration gives for "forever". */
#define GL_DURATION_FOREVER (-1.0)

/* A duration: plain seconds ("90", "0.5", as the original tools take), or
 * numbers with units in falling order, each unit at most once ("1m30s",
 * "2h", "1.5h", "1d12h"; d h m s), or "forever" (any case), which gives
 * GL_DURATION_FOREVER. Returns 0, or -EINVAL (not a duration) or -ERANGE
 * (negative or above max seconds). *out is untouched on error. */
int gl_parse_duration(const char *s, double max, double *out);

/* The decimal number at the start of s: digits with at most one '.', and at
 * least one digit ("30", "0.5", ".25", "2."). No sign, exponent, hex,
 * "inf" or spaces. Returns the characters read, 0 when s starts with no
 * number; *out is set only then. Values too large for a double read as
 * HUGE_VAL, for the caller's range check. */
size_t gl_parse_decimal(const char *s, double *out);

/* 1/yes/true/on and 0/no/false/off, case-insensitive. Returns 0 or -EINVAL. */
int gl_parse_bool(const char *s, bool *out);

/* Index of s in the NULL-terminated list of words, or -EINVAL. */
int gl_parse_word(const char *s, const char *const *words);

/* A decimal integer: an optional '-', then digits only (no '+', spaces, hex
 * or octal). Returns 0, or -EINVAL (not an integer) or -ERANGE (below min or
 * above max). *out is untouched on error. */
int gl_parse_long(const char *s, long min, long max, long *out);

#endif
