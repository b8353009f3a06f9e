#include "gl_log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

void gl_log_as_v(const char *prefix, const char *fmt, va_list ap)
{
	char buf[2048];
	int saved = errno;
	int n = snprintf(buf, sizeof buf, "%s: ", prefix);
	int m;

	if (n < 0 || n >= (int)sizeof buf - 2)
		n = 0;
	m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m > sizeof buf - n - 2)
		m = (int)(sizeof buf - n - 2); /* truncated: keep the newline */
	n += m;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(STDERR_FILENO, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (int)w; /* at most sizeof buf */
	}
	errno = saved;
}

void gl_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gl_log_as_v("gpulock", fmt, ap);
	va_end(ap);
}

void gl_log_duration(double s, char *buf, size_t len)
{
	long t;

	if (!(s >= 0)) /* and NaN */
		s = 0;
	if (s > 1e12) /* beyond any wait; keeps the conversion defined */
		s = 1e12;
	t = (long)s;
	if (s < 60) /* tenths by hand: "%.1f" would write a host's decimal comma */
		snprintf(buf, len, "%ld.%lds", (long)(s * 10 + 0.5) / 10, (long)(s * 10 + 0.5) % 10);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

void gl_log_seconds(double s, char *buf, size_t len)
{
	long ms;
	int digits = 3;

	if (!(s >= 0))
		s = 0;
	if (s > 1e12)
		s = 1e12;
	ms = (long)(s * 1000 + 0.5);
	/* "5", "0.5", "0.25", "1.125": as few decimals as it takes. */
	while (digits > 0 && ms % 10 == 0) {
		ms /= 10;
		digits--;
	}
	if (digits == 0) {
		snprintf(buf, len, "%ld", ms);
		return;
	}
	{
		long scale = digits == 1 ? 10 : digits == 2 ? 100 : 1000;
		snprintf(buf, len, "%ld.%0*ld", ms / scale, digits, ms % scale);
	}
}
