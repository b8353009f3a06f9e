/* gl_parse_duration, gl_parse_bool, gl_parse_word and gl_parse_long against
 * independent reference rules: what they accept, what they return, and that
 * the output is untouched on error. The first byte picks the parser and its
 * bounds; the rest is the string, as getenv or argv would give it. */
#include "fuzz.h"
#include "gl_lock_settings.h"
#include "gl_parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Digits and at most one dot, with at least one digit: the length of the
 * number at s, 0 when there is none. */
static size_t number_len(const char *s)
{
	size_t n = 0;
	int dots = 0, digits = 0;

	for (; s[n] == '.' || (s[n] >= '0' && s[n] <= '9'); n++) {
		if (s[n] == '.' && ++dots > 1)
			break;
		digits += s[n] != '.';
	}
	return digits ? n : 0;
}

/* The duration grammar, written again independently: a plain number, or
 * number+unit pairs with the units d h m s in falling order. Returns false
 * when s is not a duration; *ref is the sum strtod makes of it. */
static bool duration_ref(const char *s, double *ref)
{
	static const char units[] = "dhms";
	static const double secs[] = {86400, 3600, 60, 1};
	const char *next = units;
	size_t n = number_len(s);

	*ref = 0;
	if (n && !s[n]) {
		*ref = strtod(s, NULL);
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		const char *u;
		char *num;

		n = number_len(s);
		if (!n || !s[n] || !(u = strchr(next, s[n])))
			return false;
		num = strndup(s, n); /* any length: the parser takes any */
		FUZZ_ASSERT(num);
		*ref += strtod(num, NULL) * secs[u - units];
		free(num);
		next = u + 1;
		s += n + 1;
	}
	return true;
}

static void fuzz_duration(const char *s, unsigned sel)
{
	static const double maxes[] = {0, 1, 60, 3600, GL_TIMEOUT_MAX, 1e300};
	double max = maxes[sel % (sizeof maxes / sizeof maxes[0])];
	double v = -42, ref;
	bool valid = duration_ref(s, &ref);
	int r = gl_parse_duration(s, max, &v);

	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
	if (strcasecmp(s, "forever") == 0) {
		FUZZ_ASSERT(r == 0 && v == GL_DURATION_FOREVER);
		return;
	}
	if (r != 0) {
		FUZZ_ASSERT(v == -42);
		/* Refused but well-formed: it must really be out of range. */
		if (valid)
			FUZZ_ASSERT(r == -ERANGE && (!isfinite(ref) || ref > max * (1 + 1e-12)));
		return;
	}
	FUZZ_ASSERT(valid);
	FUZZ_ASSERT(isfinite(v) && v >= 0 && v <= max);
	/* Not strtod's exact double: digits past the 18th are dropped. */
	FUZZ_ASSERT(fabs(v - ref) <= 1e-12 * ref);
}

static void fuzz_bool(const char *s)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	int want = -1;
	bool v = true;
	int r;

	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			want = 1;
		if (strcasecmp(s, no[i]) == 0)
			want = 0;
	}
	r = gl_parse_bool(s, &v);
	FUZZ_ASSERT(want < 0 ? r == -EINVAL && v : r == 0 && v == (want == 1));
}

static void fuzz_word(const char *s)
{
	static const char *const words[] = {"fail", "run", "", "FAIL", NULL};
	int want = -EINVAL;

	for (int i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0) {
			want = i;
			break;
		}
	FUZZ_ASSERT(gl_parse_word(s, words) == want);
}

/* An optional '-', then one digit or more. */
static bool long_syntax(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void fuzz_long(const char *s, unsigned sel)
{
	static const long bounds[][2] = {{1, 1000}, {0, LONG_MAX}, {LONG_MIN, LONG_MAX}, {-5, 5}};
	const long *b = bounds[sel % (sizeof bounds / sizeof bounds[0])];
	long v = 42, ref;
	int r = gl_parse_long(s, b[0], b[1], &v);

	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE);
	if (!long_syntax(s)) {
		FUZZ_ASSERT(r == -EINVAL && v == 42);
		return;
	}
	errno = 0;
	ref = strtol(s, NULL, 10);
	if (errno == ERANGE || ref < b[0] || ref > b[1]) {
		FUZZ_ASSERT(r == -ERANGE && v == 42);
		return;
	}
	FUZZ_ASSERT(r == 0 && v == ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;
	char *s;

	if (size < 1)
		return 0;
	sel = data[0];
	s = fuzz_cstring(data + 1, size - 1);
	switch (sel % 4) {
	case 0:
		fuzz_duration(s, sel / 4);
		break;
	case 1:
		fuzz_bool(s);
		break;
	case 2:
		fuzz_word(s);
		break;
	default:
		fuzz_long(s, sel / 4);
		break;
	}
	free(s);
	return 0;
}
