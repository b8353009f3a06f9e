#include "gl_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int gl_parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	/* strtod would accept "inf", "nan" and hex floats: allow digits and one dot only. */
	if (strspn(s, "0123456789.") != strlen(s) || !strpbrk(s, "0123456789"))
		return s[0] == '-' ? -ERANGE : -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v) || v > max)
		return -ERANGE;
	*out = v;
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
