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
	long t = (long)s;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
}
