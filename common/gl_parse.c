#include "gl_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t gl_parse_decimal(const char *s, double *out)
{
	/* By hand, not strtod: strtod reads the decimal separator from the
	 * locale (a host in de_DE would read "0.5" as 0 and stop at the dot),
	 * and it takes "inf", "nan", hex, exponents, signs and spaces. Up to
	 * 18 significant digits are kept exactly; the one division below then
	 * rounds correctly wherever that matters (fewer than 16 digits). */
	unsigned long long mant = 0;
	int frac = 0, dropped = 0, digits = 0;
	bool dot = false;
	size_t i;
	double v;

	for (i = 0; s[i]; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			break;
		digits++;
		if (mant < 100000000000000000ULL) {
			mant = mant * 10 + (unsigned)(s[i] - '0');
			frac += dot;
		} else if (!dot) {
			dropped++; /* an integer digit beyond what we keep: scale */
		}
	}
	if (!digits)
		return 0;
	v = (double)mant;
	for (; dropped > 0 && v < HUGE_VAL; dropped--)
		v *= 10;
	/* By exact powers of ten (10^22 at most), however many fraction digits
	 * (leading zeros such as .000...1 are all counted): one division when
	 * there are few, the usual case, and no overflow to infinity when
	 * there are hundreds. The odd part first, by 10^22 after it: only the
	 * last division can take v below the normal range, so a tiny value is
	 * rounded there once, as strtod rounds it (in turn, each step's
	 * rounding to fewer bits added up past 1e-12, fuzzing found). */
	for (int k = frac % 22 ? frac % 22 : 22; frac > 0; frac -= k, k = 22) {
		double scale = 1;

		for (int p = 0; p < k; p++)
			scale *= 10;
		v /= scale;
	}
	*out = v;
	return i;
}

/* Seconds per unit, in the order units must come. */
static const struct {
	char unit;
	double seconds;
} duration_units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

/* The sum of s's number+unit pairs (or of a plain number), in seconds.
 * Returns 0 or -EINVAL. */
static int duration_sum(const char *s, double *out)
{
	double total = 0;
	size_t next_unit = 0, i = 0;

	if (!*s)
		return -EINVAL;
	while (s[i]) {
		double v;
		size_t n = gl_parse_decimal(s + i, &v);
		size_t u = next_unit;

		if (!n)
			return -EINVAL;
		i += n;
		if (!s[i] && i == n) { /* a plain number: seconds */
			total = v;
			break;
		}
		while (u < sizeof duration_units / sizeof duration_units[0] &&
		       duration_units[u].unit != s[i])
			u++;
		if (u == sizeof duration_units / sizeof duration_units[0])
			return -EINVAL; /* no such unit, or one out of order */
		total += v * duration_units[u].seconds;
		next_unit = u + 1;
		i++;
	}
	*out = total;
	return 0;
}

int gl_parse_duration(const char *s, double max, double *out)
{
	double total;

	if (!s || !*s)
		return -EINVAL;
	if (strcasecmp(s, "forever") == 0) {
		*out = GL_DURATION_FOREVER;
		return 0;
	}
	if (s[0] == '-') /* a negative duration is out of range, not junk */
		return duration_sum(s + 1, &total) == 0 ? -ERANGE : -EINVAL;
	if (duration_sum(s, &total) < 0)
		return -EINVAL;
	if (!isfinite(total) || total > max)
		return -ERANGE;
	*out = total;
	return 0;
}

int gl_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on", NULL};
	static const char *const no[] = {"0", "no", "false", "off", NULL};

	if (gl_parse_word(s, yes) >= 0) {
		*out = true;
		return 0;
	}
	if (gl_parse_word(s, no) >= 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int gl_parse_word(const char *s, const char *const *words)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return i;
	return -EINVAL;
}

int gl_parse_long(const char *s, long min, long max, long *out)
{
	const char *digits = s && *s == '-' ? s + 1 : s;
	char *end;
	long v;

	/* strtol would skip spaces and accept '+' and "0x": digits only. */
	if (!digits || !*digits || strspn(digits, "0123456789") != strlen(digits))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
