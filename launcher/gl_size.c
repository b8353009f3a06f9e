#include "gl_size.h"
#include "gl_parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Power of 1024 for a unit, or -1. */
static int unit_shift(const char *u)
{
	static const char letters[] = "BKMGTP";
	const char *p;

	if (*u == '\0')
		return 0;
	p = strchr(letters, u[0] >= 'a' && u[0] <= 'z' ? u[0] - 'a' + 'A' : u[0]);
	if (!p)
		return -1;
	u++;
	if (p != letters) { /* K, KB, KiB; "B" alone takes no suffix */
		if (strcasecmp(u, "iB") == 0 || strcasecmp(u, "B") == 0)
			u += strlen(u);
	}
	return *u == '\0' ? (int)(p - letters) * 10 : -1;
}

int gl_size_parse(const char *s, struct gl_size *out)
{
	size_t numlen;
	double v;
	int shift;

	if (!s)
		return -EINVAL;
	/* Digits and at most one dot, then the unit. */
	numlen = gl_parse_decimal(s, &v);
	if (numlen == 0)
		return s[0] == '-' && gl_parse_decimal(s + 1, &v) ? -ERANGE : -EINVAL;
	if (!isfinite(v))
		return -ERANGE;
	if (strcmp(s + numlen, "%") == 0) {
		if (v > 100)
			return -ERANGE;
		out->percent = true;
		out->pct = v;
		out->bytes = 0;
		return 0;
	}
	shift = unit_shift(s + numlen);
	if (shift < 0)
		return -EINVAL;
	v *= (double)(1ULL << shift);
	if (v > (double)GL_SIZE_MAX)
		return -ERANGE;
	out->percent = false;
	out->pct = 0;
	out->bytes = (unsigned long long)v;
	return 0;
}

unsigned long long gl_size_bytes(const struct gl_size *size, unsigned long long total)
{
	if (!size->percent)
		return size->bytes;
	return (unsigned long long)((double)total * size->pct / 100.0);
}

void gl_size_format(unsigned long long bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", bytes);
	else if (v == (double)(unsigned long long)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}
