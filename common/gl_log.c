#include "gl_log.h"

#include <errno.h>
#include <locale.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

/* Numbers in messages are written the same whatever locale the host
 * program chose ("0.5s", not "0,5s"): what they print, our settings read.
 * Made at the first message; (locale_t)0 when it cannot be. */
static locale_t c_locale(void)
{
	static _Atomic(locale_t) c;
	locale_t l = atomic_load(&c), expect = (locale_t)0;

	if (l)
		return l;
	l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (l && !atomic_compare_exchange_strong(&c, &expect, l)) {
		freelocale(l);
		l = expect;
	}
	return l;
}

/* Switches this thread to the C locale; give the result to end_c_locale. */
static locale_t begin_c_locale(void)
{
	locale_t c = c_locale();

	return c ? uselocale(c) : (locale_t)0;
}

static void end_c_locale(locale_t old)
{
	if (old)
		uselocale(old);
}

void gl_log_as_v(const char *prefix, const char *fmt, va_list ap)
{
	char buf[2048];
	int saved = errno;
	locale_t old = begin_c_locale();
	int n = snprintf(buf, sizeof buf, "%s: ", prefix);
	int m;

	if (n < 0 || n >= (int)sizeof buf - 2)
		n = 0;
	m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	end_c_locale(old);
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
	if (s < 60) {
		locale_t old = begin_c_locale();
		snprintf(buf, len, "%.1fs", s);
		end_c_locale(old);
	} else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
}
