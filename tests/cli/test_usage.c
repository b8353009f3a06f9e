/* gpulock's help and usage errors: every command has its own help, reached
 * both ways, and every usage error reads "gpulock: what is wrong" and then
 * "Try 'gpulock [CMD] --help'.", exactly. */
#include "cli_harness.h"
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const commands[] = {"run",          "status", "wait", "shell-init",
                                       "preload-path", "doctor", "help", NULL};

static char *run_ok(const char *const argv[])
{
	char *out, *err;

	ck_assert_int_eq(h_run(argv, NULL, false, &out, &err), 0);
	ck_assert_str_eq(err, "");
	free(err);
	return out;
}

/* No line of a help text is wider than a terminal's 80 columns. */
static void assert_fits(const char *text)
{
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		ck_assert_msg(len <= 80, "%.*s: %zu columns", (int)len, line, len);
		line += len + (line[len] == '\n');
	}
}

/* Does text start with the usage line of cmd ("Usage: gpulock cmd", then its
 * arguments or the end of the line)? */
static bool is_usage_of(const char *text, const char *cmd)
{
	char want[64];
	size_t n = (size_t)snprintf(want, sizeof want, "Usage: gpulock %s", cmd);

	return strncmp(text, want, n) == 0 && (text[n] == ' ' || text[n] == '\n');
}

START_TEST(each_command_has_its_help_both_ways)
{
	h_setup();
	for (int i = 0; commands[i]; i++) {
		const char *help[] = {gpulock(), "help", commands[i], NULL};
		const char *flag[] = {gpulock(), commands[i], "--help", NULL};
		const char *letter[] = {gpulock(), commands[i], "-h", NULL};
		char *a = run_ok(help), *b = run_ok(flag), *c = run_ok(letter);

		ck_assert_msg(is_usage_of(a, commands[i]), "%s", a);
		ck_assert_str_eq(a, b);
		ck_assert_str_eq(a, c);
		assert_fits(a);
		free(a);
		free(b);
		free(c);
	}
}
END_TEST

/* A bad setting in the environment is reported, but --help still helps:
 * help is how a user finds out what the setting should be. */
START_TEST(help_comes_whatever_the_settings)
{
	static const char *const bad[] = {"GPU_LOCK_ON_TIMEOUT=maybe", NULL};

	h_setup();
	for (int i = 0; commands[i]; i++) {
		const char *flag[] = {gpulock(), commands[i], "--help", NULL};
		char *out, *err;

		ck_assert_int_eq(h_run(flag, bad, false, &out, &err), 0);
		ck_assert_msg(is_usage_of(out, commands[i]), "%s: %s", commands[i], out);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(the_overview_names_every_command)
{
	const char *help[] = {gpulock(), "help", NULL};
	const char *flag[] = {gpulock(), "--help", NULL};
	const char *letter[] = {gpulock(), "-h", NULL};
	char *a, *b, *c;

	h_setup();
	a = run_ok(help);
	b = run_ok(flag);
	c = run_ok(letter);
	ck_assert_msg(strncmp(a, "Usage: gpulock COMMAND [OPTIONS]\n", 33) == 0, "%s", a);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, c);
	for (int i = 0; commands[i]; i++) {
		char want[64];
		snprintf(want, sizeof want, "\n  %s ", commands[i]);
		ck_assert_msg(strstr(a, want), "the overview lacks %s:\n%s", commands[i], a);
	}
	ck_assert_msg(strstr(a, "  shell-init [bash|zsh|sh|fish|systemd]\n"), "%s", a);
	assert_fits(a);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* The shells are the same wherever they are listed, and shell-init accepts
 * each of them. */
START_TEST(shell_init_lists_the_shells_it_accepts)
{
	static const char *const shells[] = {"bash", "zsh", "sh", "fish", "systemd", NULL};
	const char *help[] = {gpulock(), "shell-init", "--help", NULL};
	char *text;

	h_setup();
	text = run_ok(help);

	ck_assert_msg(strncmp(text, "Usage: gpulock shell-init [bash|zsh|sh|fish|systemd]\n", 53) == 0,
	              "%s", text);
	free(text);
	for (int i = 0; shells[i]; i++) {
		const char *argv[] = {gpulock(), "shell-init", shells[i], NULL};
		free(run_ok(argv));
	}
}
END_TEST

/* Each usage error, exactly: status 125, nothing on stdout, two lines. */
START_TEST(usage_errors_name_the_problem_and_the_help)
{
	static const struct {
		const char *argv[8];
		const char *err;
	} cases[] = {
		{{NULL},
		 "gpulock: missing command (run, status, wait, shell-init, preload-path, doctor, setup, help)\n"
		 "Try 'gpulock --help'.\n"},
		{{"frob"},
		 "gpulock: unknown command 'frob' (run, status, wait, shell-init, preload-path, doctor, setup, help)\n"
		 "Try 'gpulock --help'.\n"},
		{{"--frob"}, "gpulock: unknown option '--frob'\nTry 'gpulock --help'.\n"},
		{{"help", "frob"},
		 "gpulock: unknown command 'frob' (run, status, wait, shell-init, preload-path, doctor, setup, help)\n"
		 "Try 'gpulock --help'.\n"},
		{{"help", "run", "x"}, "gpulock: unexpected argument 'x'\nTry 'gpulock --help'.\n"},
		{{"run", "--frob", "--", "true"},
		 "gpulock: unknown option '--frob'\nTry 'gpulock run --help'.\n"},
		{{"run", "--frob=1", "--", "true"},
		 "gpulock: unknown option '--frob'\nTry 'gpulock run --help'.\n"},
		{{"run", "-x", "--", "true"}, "gpulock: unknown option '-x'\nTry 'gpulock run --help'.\n"},
		{{"run", "-qx", "--", "true"}, "gpulock: unknown option '-x'\nTry 'gpulock run --help'.\n"},
		{{"run", "--eager=1", "--", "true"},
		 "gpulock: option '--eager' takes no value\nTry 'gpulock run --help'.\n"},
		{{"run", "--timeout"},
		 "gpulock: missing value for option '--timeout'\nTry 'gpulock run --help'.\n"},
		{{"run", "-qt"}, "gpulock: missing value for option '-t'\nTry 'gpulock run --help'.\n"},
		{{"run", "-t", "5x", "--", "true"},
		 "gpulock: --timeout '5x': expected a duration (e.g. 30, 0.5, 1m30s, 2h, or forever), at "
		 "most a year\nTry 'gpulock run --help'.\n"},
		{{"run", "-l", "", "--", "true"},
		 "gpulock: --lock '': expected a path to the lock file\nTry 'gpulock run --help'.\n"},
		{{"run", "--"},
		 "gpulock: missing command to run (gpulock run [OPTIONS] -- CMD...)\n"
		 "Try 'gpulock run --help'.\n"},
		{{"run"},
		 "gpulock: missing command to run (gpulock run [OPTIONS] -- CMD...)\n"
		 "Try 'gpulock run --help'.\n"},
		{{"status", "extra"}, "gpulock: unexpected argument 'extra'\nTry 'gpulock status --help'.\n"},
		{{"status", "--frob"}, "gpulock: unknown option '--frob'\nTry 'gpulock status --help'.\n"},
		{{"status", "-l"}, "gpulock: missing value for option '-l'\nTry 'gpulock status --help'.\n"},
		{{"wait", "-t", "-1"},
		 "gpulock: --timeout '-1': expected a duration (e.g. 30, 0.5, 1m30s, 2h, or forever), at "
		 "most a year\nTry 'gpulock wait --help'.\n"},
		{{"wait", "now"}, "gpulock: unexpected argument 'now'\nTry 'gpulock wait --help'.\n"},
		{{"wait", "--no-wait"}, "gpulock: unknown option '--no-wait'\nTry 'gpulock wait --help'.\n"},
		{{"shell-init", "tcsh"},
		 "gpulock: unknown shell 'tcsh': expected bash, zsh, sh, fish or systemd\n"
		 "Try 'gpulock shell-init --help'.\n"},
		{{"shell-init", "bash", "zsh"},
		 "gpulock: unexpected argument 'zsh'\nTry 'gpulock shell-init --help'.\n"},
		{{"shell-init", "--frob"},
		 "gpulock: unknown option '--frob'\nTry 'gpulock shell-init --help'.\n"},
		{{"doctor", "--frob"}, "gpulock: unknown option '--frob'\nTry 'gpulock doctor --help'.\n"},
		{{"preload-path", "x"},
		 "gpulock: unexpected argument 'x'\nTry 'gpulock preload-path --help'.\n"},
		{{"preload-path", "--frob"},
		 "gpulock: unknown option '--frob'\nTry 'gpulock preload-path --help'.\n"},
	};

	h_setup();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *argv[10] = {gpulock()};
		for (int k = 0; cases[i].argv[k]; k++)
			argv[k + 1] = cases[i].argv[k];
		expect_exact(argv, NULL, 125, "", cases[i].err);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpulock usage");
	TCase *tc = tcase_create("usage");

	tcase_add_test(tc, each_command_has_its_help_both_ways);
	tcase_add_test(tc, help_comes_whatever_the_settings);
	tcase_add_test(tc, the_overview_names_every_command);
	tcase_add_test(tc, shell_init_lists_the_shells_it_accepts);
	tcase_add_test(tc, usage_errors_name_the_problem_and_the_help);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tp_run_suite(s);
}
