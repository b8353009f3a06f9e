/* Text that came from other processes (command lines, user names) made safe
 * to show: a command line is anyone's bytes, and escape sequences in it
 * would act on the terminal of whoever reads a status or a waiting line. */
#ifndef GL_TEXT_H
#define GL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The UTF-8 character at s: its length (1 to 4) and *cp, its code point;
 * 0 where s does not start a valid one (a stray continuation byte, an
 * overlong form, a surrogate, beyond U+10FFFF, or a sequence cut short). */
size_t gl_text_char(const char *s, unsigned *cp);

/* A control character, which a terminal acts on rather than shows: C0
 * (below U+0020), DEL, and C1 (U+0080 to U+009F, CSI among them). */
bool gl_text_is_control(unsigned cp);

/* Makes s safe for a terminal, in place, as ps(1) does: every control
 * character and every byte that is not part of valid UTF-8 becomes '?'.
 * Returns the new length (never longer). */
size_t gl_text_make_safe(char *s);

#endif
