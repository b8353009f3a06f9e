/* A locale whose decimal separator is a comma, for the tests that check that
 * settings are read the same whatever LC_NUMERIC a host program chose. */
#ifndef GL_TEST_COMMA_LOCALE_H
#define GL_TEST_COMMA_LOCALE_H

/* Compiles de_DE.UTF-8 with localedef(1) into dir (which must exist), so the
 * test needs no installed locale, and points LOCPATH there for this process
 * and the ones it starts. Returns the locale's name. Fails the test, saying
 * why, when localedef or the locale sources (Debian: locales) are missing. */
const char *tl_comma_locale(const char *dir);

#endif
