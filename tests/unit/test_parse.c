#include "gl_lock_settings.h"
#include "gl_lock.h"
#include "gl_log.h"
#include "gl_parse.h"

#include "comma_locale.h"
#include "procs.h"

#include <check.h>
#include <locale.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(duration_accepts_plain_and_fractional_seconds)
{
	double v = -1;

	ck_assert_int_eq(gl_parse_duration("30", 100, &v), 0);
	ck_assert_double_eq(v, 30);
	ck_assert_int_eq(gl_parse_duration("0.5", 100, &v), 0);
	ck_assert_double_eq(v, 0.5);
	ck_assert_int_eq(gl_parse_duration("0", 100, &v), 0);
	ck_assert_double_eq(v, 0);
	ck_assert_int_eq(gl_parse_duration("100", 100, &v), 0);
	ck_assert_int_eq(gl_parse_duration(".25", 100, &v), 0);
	ck_assert_double_eq(v, 0.25);
	ck_assert_int_eq(gl_parse_duration("2.", 100, &v), 0);
	ck_assert_double_eq(v, 2);
	ck_assert_int_eq(gl_parse_duration("0.1", 100, &v), 0);
	ck_assert_double_eq(v, 0.1); /* the same double strtod gives */
}
END_TEST

/* Many fraction digits (found by fuzz_parse): a tiny number, not a 0 made
 * by dividing by an infinite power of ten. */
START_TEST(decimal_with_hundreds_of_fraction_digits)
{
	char s[320]; /* "0." then 316 zeros and a 5: 5e-317, a (denormal) double */
	double v = -1;

	memset(s, '0', sizeof s);
	s[1] = '.';
	s[sizeof s - 2] = '5';
	s[sizeof s - 1] = '\0';
	ck_assert_uint_eq(gl_parse_decimal(s, &v), sizeof s - 1);
	ck_assert_msg(v > 4e-317 && v < 6e-317, "%g", v);
}
END_TEST

/* A tiny value with many significant digits (found by fuzz_parse): it is
 * rounded to a denormal once, as strtod rounds it, not at every step of the
 * scaling, whose roundings added up past 1e-12. */
START_TEST(tiny_decimal_is_rounded_once)
{
	char s[400];
	double v = -1, ref;
	size_t n = 0;

	n += (size_t)snprintf(s, sizeof s, "0.");
	memset(s + n, '0', 313);
	n += 313;
	memset(s + n, '4', 37);
	n += 37;
	memset(s + n, '0', 9);
	n += 9;
	s[n] = '\0';
	ref = strtod(s, NULL); /* the locale is C here */
	ck_assert_uint_eq(gl_parse_decimal(s, &v), n);
	ck_assert_msg(fabs(v - ref) <= 1e-12 * ref, "%a against %a", v, ref);
}
END_TEST

START_TEST(duration_accepts_units_and_forever)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {{"5s", 5},       {"1m30s", 90},   {"2h", 7200},   {"1h30m", 5400},
	            {"1.5h", 5400},  {"1d", 86400},   {"1d2h3m4s", 93784},
	            {"90m", 5400},   {"0.5s", 0.5},   {"1h0.5s", 3600.5}};
	double v = 42;

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_msg(gl_parse_duration(good[i].s, GL_TIMEOUT_MAX, &v) == 0, "refused '%s'",
		              good[i].s);
		ck_assert_msg(v == good[i].v, "'%s' read as %g", good[i].s, v);
	}
	ck_assert_int_eq(gl_parse_duration("forever", 100, &v), 0);
	ck_assert_double_eq(v, GL_DURATION_FOREVER);
	ck_assert_int_eq(gl_parse_duration("Forever", 100, &v), 0);
	ck_assert_double_eq(v, GL_DURATION_FOREVER);
}
END_TEST

START_TEST(duration_rejects_junk)
{
	static const char *const bad[] = {"", "5x", "x5", "nan", "inf", "1e3", "0x10", " 5", "5 ",
	                                  "1.2.3", ".", "+5", "1m30", "30s1m", "1h1h", "1 h",
	                                  "h", "1hm", "1H", "5sec", "forevermore", "1.2.3s", NULL};
	double v = 42;

	for (int i = 0; bad[i]; i++) {
		ck_assert_msg(gl_parse_duration(bad[i], 100, &v) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_double_eq(v, 42); /* untouched on error */
	}
	ck_assert_int_eq(gl_parse_duration(NULL, 100, &v), -EINVAL);
}
END_TEST

START_TEST(duration_rejects_out_of_range)
{
	char huge[400];
	double v = 42;

	memset(huge, '9', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	ck_assert_int_eq(gl_parse_duration("-1", 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration("-1m", 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration("100.5", 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration("2m", 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration("99999999999", GL_TIMEOUT_MAX, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration("366d", GL_TIMEOUT_MAX, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_duration(huge, GL_TIMEOUT_MAX, &v), -ERANGE);
	ck_assert_double_eq(v, 42);
}
END_TEST

/* A host program may switch LC_NUMERIC to a locale whose decimal separator
 * is a comma; the settings are still read with a dot. */
START_TEST(duration_ignores_the_locale)
{
	char dir[4096];
	const char *name;
	double v = 42;

	tp_make_dir(dir, sizeof dir);
	name = tl_comma_locale(dir);
	ck_assert_ptr_nonnull(setlocale(LC_NUMERIC, name));
	ck_assert_double_eq(strtod("0.5", NULL), 0); /* the trap: strtod stops at the dot */
	ck_assert_int_eq(gl_parse_duration("0.5", 100, &v), 0);
	ck_assert_double_eq(v, 0.5);
	ck_assert_int_eq(gl_parse_duration("1.5m", 100, &v), 0);
	ck_assert_double_eq(v, 90);
	setlocale(LC_NUMERIC, "C");
}
END_TEST

/* Numbers in messages, written by hand (no locale's decimal comma). */
START_TEST(seconds_and_durations_in_messages)
{
	static const struct {
		double s;
		const char *plain, *human;
	} cases[] = {{0, "0", "0.0s"},        {0.5, "0.5", "0.5s"},     {0.25, "0.25", "0.3s"},
	             {1.125, "1.125", "1.1s"}, {5, "5", "5.0s"},        {90, "90", "1m30s"},
	             {0.0004, "0", "0.0s"},   {-1, "0", "0.0s"},       {7260, "7260", "2h01m"}};
	char buf[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gl_log_seconds(cases[i].s, buf, sizeof buf);
		ck_assert_str_eq(buf, cases[i].plain);
		gl_log_duration(cases[i].s, buf, sizeof buf);
		ck_assert_str_eq(buf, cases[i].human);
	}
}
END_TEST

START_TEST(bool_words)
{
	bool b = false;

	ck_assert_int_eq(gl_parse_bool("1", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(gl_parse_bool("off", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(gl_parse_bool("YES", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(gl_parse_bool("", &b), -EINVAL);
	ck_assert_int_eq(gl_parse_bool("2", &b), -EINVAL);
	ck_assert_int_eq(gl_parse_bool("maybe", &b), -EINVAL);
	ck_assert(b);
}
END_TEST

/* A fake environment and a warning recorder for gl_lock_settings_load. */
static const char *const *fake_env;
static char warnings[4096];
static int warning_count;

static const char *fake_getenv(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; fake_env[i]; i++)
		if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

static void record_warning(const char *var, const char *value, const char *expected,
                           const char *fallback)
{
	size_t len = strlen(warnings);

	snprintf(warnings + len, sizeof warnings - len, "%s='%s': expected %s; using %s\n", var,
	         value, expected, fallback);
	warning_count++;
}

static void load(const char *const *env, struct gl_lock_settings *cfg)
{
	fake_env = env;
	warnings[0] = '\0';
	warning_count = 0;
	gl_lock_settings_load(cfg, fake_getenv, record_warning);
}

START_TEST(config_defaults)
{
	static const char *const env[] = {NULL};
	struct gl_lock_settings cfg;

	load(env, &cfg);
	ck_assert_str_eq(cfg.lock_path, "/tmp/gpu.lock");
	ck_assert(cfg.timeout < 0);
	ck_assert(!cfg.run_on_timeout && !cfg.run_on_error && !cfg.quiet && !cfg.debug);
	ck_assert_ptr_null(cfg.skip_var);
	ck_assert_ptr_null(cfg.held);
	ck_assert_int_eq(warning_count, 0);
}
END_TEST

START_TEST(config_reads_every_setting)
{
	static const char *const env[] = {
		"GPU_LOCK_PATH=/var/lock/g.lock", "GPU_LOCK_TIMEOUT=2.5", "GPU_LOCK_ON_TIMEOUT=run",
		"GPU_LOCK_ON_ERROR=RUN", "GPU_LOCK_QUIET=1", "GPU_LOCK_DEBUG=yes",
		"GPU_SKIP_LOCK=1", "GPU_LOCK_HELD=1", NULL};
	struct gl_lock_settings cfg;

	load(env, &cfg);
	ck_assert_str_eq(cfg.lock_path, "/var/lock/g.lock");
	ck_assert_double_eq(cfg.timeout, 2.5);
	ck_assert(cfg.run_on_timeout && cfg.run_on_error && cfg.quiet && cfg.debug);
	ck_assert_str_eq(cfg.skip_var, "GPU_SKIP_LOCK");
	ck_assert_str_eq(cfg.held, "1");
	ck_assert_int_eq(warning_count, 0);
}
END_TEST

START_TEST(config_bad_values_warn_and_keep_defaults)
{
	static const char *const env[] = {
		"GPU_LOCK_PATH=relative/gpu.lock", "GPU_LOCK_TIMEOUT=5x", "GPU_LOCK_ON_TIMEOUT=maybe",
		"GPU_LOCK_ON_ERROR=sometimes", "GPU_LOCK_QUIET=2", "GPU_LOCK_DEBUG=nan",
		"PSRUN_SKIP_GPU_LOCK=please", NULL};
	struct gl_lock_settings cfg;

	load(env, &cfg);
	ck_assert_int_eq(warning_count, 7);
	ck_assert_str_eq(cfg.lock_path, "/tmp/gpu.lock");
	ck_assert(cfg.timeout < 0);
	ck_assert(!cfg.run_on_timeout && !cfg.run_on_error && !cfg.quiet && !cfg.debug);
	ck_assert_ptr_null(cfg.skip_var); /* a bad skip value locks: fail closed */
	ck_assert_ptr_nonnull(strstr(warnings, "GPU_LOCK_TIMEOUT='5x': expected a duration (e.g. 30, 0.5, 1m30s, 2h, or forever), at most a year"));
	ck_assert_ptr_nonnull(strstr(warnings, "GPU_LOCK_PATH='relative/gpu.lock': expected an absolute path"));
	ck_assert_ptr_nonnull(strstr(warnings, "GPU_LOCK_ON_TIMEOUT='maybe': expected 'fail' or 'run'"));
	ck_assert_ptr_nonnull(strstr(warnings, "GPU_LOCK_ON_ERROR='sometimes': expected"));
	ck_assert_ptr_nonnull(strstr(warnings, "PSRUN_SKIP_GPU_LOCK='please'"));
}
END_TEST

START_TEST(config_timeout_edge_values)
{
	static const char *const neg[] = {"GPU_LOCK_TIMEOUT=-1", NULL};
	static const char *const empty[] = {"GPU_LOCK_TIMEOUT=", NULL};
	static const char *const huge[] = {"GPU_LOCK_TIMEOUT=1000000000000", NULL};
	static const char *const zero[] = {"GPU_LOCK_TIMEOUT=0", NULL};
	struct gl_lock_settings cfg;

	load(neg, &cfg);
	ck_assert_int_eq(warning_count, 1);
	ck_assert(cfg.timeout < 0);
	load(empty, &cfg);
	ck_assert_int_eq(warning_count, 0); /* empty means the default */
	ck_assert(cfg.timeout < 0);
	load(huge, &cfg);
	ck_assert_int_eq(warning_count, 1);
	ck_assert(cfg.timeout < 0);
	load(zero, &cfg);
	ck_assert_int_eq(warning_count, 0);
	ck_assert_double_eq(cfg.timeout, 0);
}
END_TEST

/* An empty variable means its default, as ${VAR:-default} in the original
 * tools: no warning, whatever the setting. */
START_TEST(config_empty_values_mean_the_defaults)
{
	static const char *const env[] = {"GPU_LOCK_PATH=", "GPU_LOCK_TIMEOUT=",
	                                  "GPU_LOCK_ON_TIMEOUT=", "GPU_LOCK_ON_ERROR=",
	                                  "GPU_LOCK_QUIET=", "GPU_LOCK_DEBUG=",
	                                  "PSRUN_SKIP_GPU_LOCK=", "GPU_SKIP_LOCK=",
	                                  "GPU_LOCK_HELD=", NULL};
	struct gl_lock_settings cfg;

	load(env, &cfg);
	ck_assert_msg(warning_count == 0, "warned: %s", warnings);
	ck_assert_str_eq(cfg.lock_path, "/tmp/gpu.lock");
	ck_assert(cfg.timeout < 0);
	ck_assert(!cfg.run_on_timeout && !cfg.run_on_error && !cfg.quiet && !cfg.debug);
	ck_assert_ptr_null(cfg.skip_var);
	ck_assert_ptr_null(cfg.held);
}
END_TEST

START_TEST(config_timeout_with_units)
{
	static const char *const units[] = {"GPU_LOCK_TIMEOUT=1m30s", NULL};
	static const char *const forever[] = {"GPU_LOCK_TIMEOUT=forever", NULL};
	struct gl_lock_settings cfg;

	load(units, &cfg);
	ck_assert_int_eq(warning_count, 0);
	ck_assert_double_eq(cfg.timeout, 90);
	load(forever, &cfg);
	ck_assert_int_eq(warning_count, 0);
	ck_assert_double_eq(cfg.timeout, GL_WAIT_FOREVER);
}
END_TEST

START_TEST(config_skip_and_held_semantics)
{
	/* Empty means unset, as in the original tools. */
	static const char *const empty[] = {"GPU_SKIP_LOCK=", "GPU_LOCK_HELD=", NULL};
	static const char *const psrun[] = {"PSRUN_SKIP_GPU_LOCK=1", "GPU_SKIP_LOCK=0", NULL};
	static const char *const foreign[] = {"GPU_LOCK_HELD=anything", NULL};
	struct gl_lock_settings cfg;

	load(empty, &cfg);
	ck_assert_ptr_null(cfg.skip_var);
	ck_assert_ptr_null(cfg.held);
	ck_assert_int_eq(warning_count, 0);
	load(psrun, &cfg);
	ck_assert_str_eq(cfg.skip_var, "PSRUN_SKIP_GPU_LOCK");
	load(foreign, &cfg);
	ck_assert_str_eq(cfg.held, "anything");
}
END_TEST

Suite *parse_suite(void);
Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, duration_accepts_plain_and_fractional_seconds);
	tcase_add_test(tc, decimal_with_hundreds_of_fraction_digits);
	tcase_add_test(tc, tiny_decimal_is_rounded_once);
	tcase_add_test(tc, duration_accepts_units_and_forever);
	tcase_add_test(tc, duration_rejects_junk);
	tcase_add_test(tc, duration_rejects_out_of_range);
	tcase_add_test(tc, duration_ignores_the_locale);
	tcase_add_test(tc, seconds_and_durations_in_messages);
	tcase_add_test(tc, bool_words);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_reads_every_setting);
	tcase_add_test(tc, config_bad_values_warn_and_keep_defaults);
	tcase_add_test(tc, config_timeout_edge_values);
	tcase_add_test(tc, config_empty_values_mean_the_defaults);
	tcase_add_test(tc, config_timeout_with_units);
	tcase_add_test(tc, config_skip_and_held_semantics);
	suite_add_tcase(s, tc);
	return s;
}
