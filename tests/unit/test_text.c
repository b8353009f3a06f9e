/* Text from other processes made safe to show: control characters and
 * bytes that are not UTF-8 become '?', the rest stays as it was. */
#include "gl_text.h"

#include <check.h>
#include <string.h>

static const char *safe(const char *in)
{
	static char buf[256];

	strcpy(buf, in);
	gl_text_make_safe(buf);
	return buf;
}

START_TEST(printable_text_stays_as_it_is)
{
	ck_assert_str_eq(safe("python3 train.py --lr 0.1"), "python3 train.py --lr 0.1");
	ck_assert_str_eq(safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"),
	                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"); /* é, €, an emoji */
	ck_assert_str_eq(safe(""), "");
}
END_TEST

START_TEST(escape_sequences_cannot_reach_a_terminal)
{
	/* Clear the screen and retitle the window, in C0 and in C1 (CSI is
	 * U+009B, UTF-8 C2 9B); BEL, DEL, tab and carriage return too. */
	ck_assert_str_eq(safe("job \x1b[2J\x1b]0;pwned\x07"), "job ?[2J?]0;pwned?");
	ck_assert_str_eq(safe("a\xc2\x9b" "2Jb"), "a?2Jb");
	ck_assert_str_eq(safe("\x7f\t\r"), "???");
}
END_TEST

START_TEST(invalid_utf8_is_shown_byte_by_byte)
{
	ck_assert_str_eq(safe("\xff\xfe"), "??");                /* never in UTF-8 */
	ck_assert_str_eq(safe("\x80x"), "?x");                   /* a stray continuation */
	ck_assert_str_eq(safe("\xc0\xaf"), "??");                /* overlong '/' */
	ck_assert_str_eq(safe("\xed\xa0\x80"), "???");           /* a surrogate */
	ck_assert_str_eq(safe("\xf4\x90\x80\x80"), "????");      /* beyond U+10FFFF */
	ck_assert_str_eq(safe("\xe2\x82"), "??");                /* cut short at the end */
	ck_assert_str_eq(safe("\xe2\x82x"), "??x");              /* cut short inside */
}
END_TEST

START_TEST(characters_are_decoded)
{
	unsigned cp = 0;

	ck_assert_uint_eq(gl_text_char("\xe2\x82\xac", &cp), 3);
	ck_assert_uint_eq(cp, 0x20ac);
	ck_assert_uint_eq(gl_text_char("\xf0\x9f\x9a\x80", &cp), 4);
	ck_assert_uint_eq(cp, 0x1f680);
	ck_assert_uint_eq(gl_text_char("\xc2\x9b", &cp), 2);
	ck_assert(gl_text_is_control(cp));
	ck_assert(!gl_text_is_control(0xa0));
	ck_assert(!gl_text_is_control(' '));
}
END_TEST

Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, printable_text_stays_as_it_is);
	tcase_add_test(tc, escape_sequences_cannot_reach_a_terminal);
	tcase_add_test(tc, invalid_utf8_is_shown_byte_by_byte);
	tcase_add_test(tc, characters_are_decoded);
	suite_add_tcase(s, tc);
	return s;
}
