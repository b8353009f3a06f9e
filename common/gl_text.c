#include "gl_text.h"

size_t gl_text_char(const char *s, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned c = u[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, *cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, *cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, *cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80) /* the string's end (NUL) included */
			return 0;
		*cp = (*cp << 6) | (u[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

bool gl_text_is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

size_t gl_text_make_safe(char *s)
{
	size_t in = 0, out = 0;

	while (s[in]) {
		unsigned cp;
		size_t n = gl_text_char(s + in, &cp);

		if (n == 0 || gl_text_is_control(cp)) {
			s[out++] = '?';
			in += n ? n : 1;
			continue;
		}
		while (n--)
			s[out++] = s[in++];
	}
	s[out] = '\0';
	return out;
}
