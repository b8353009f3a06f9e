/* gpulock: the user's handle on the GPU lock.
 *
 *   gpulock run [--eager] [options] -- CMD...   run CMD under the lock
 *   gpulock status [--json]                     who holds, who waits
 *   gpulock wait [--timeout DUR]                until the lock is free
 *   gpulock shell-init [bash|zsh|sh|fish|systemd]
 *                                               profile lines (a drop-in) for the preload
 *   gpulock preload-path                        the preload library's path
 *   gpulock doctor [-- CMD...]                  check the set-up
 *   gpulock setup [--dir DIR] [--slots N]       (root) the hardened layout in /run/gpulock
 *   gpulock help [COMMAND]                      the overview, or a command's help
 *
 * Parse, check everything, then act: bad input never runs anything. The lock
 * itself is the lock core's (common/gl_gpu.c), as in the preload. This file
 * is the command line; each subcommand is a file of its own (gpulock.h). */
#include "gpulock.h"
#include "gl_slots.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define COMMANDS "run, status, wait, shell-init, preload-path, doctor, setup, help"

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
	                                         {"lock", required_argument, NULL, 'l'},
	                                         {"slot-dir", required_argument, NULL, 'd'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *slot_dir = getenv("CPU_RUN_SLOT_DIR"), *word;
	bool json = false;
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, r, bad = cli_load_settings(&s);

	while ((c = cli_next_option(argc, argv, "+:jl:d:h", longopts, &word)) != -1) {
		if (c == 'j')
			json = true;
		if (c == 'l' && (r = cli_set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'd')
			slot_dir = optarg;
		if (c == 'h') {
			cli_help(stdout, "status");
			return 0;
		}
		if (c == '?' || c == ':')
			return cli_option_error(c, word);
	}
	if (bad)
		return bad;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return cli_status(&s.cfg, json, slot_dir && *slot_dir ? slot_dir : gl_default_slot_dir());
}

static int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {{"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word;
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, r, bad = cli_load_settings(&s);

	while ((c = cli_next_option(argc, argv, "+:l:h", longopts, &word)) != -1) {
		if (c == 'l' && (r = cli_set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			cli_help(stdout, "doctor");
			return 0;
		}
		if (c == '?' || c == ':')
			return cli_option_error(c, word);
	}
	if (bad)
		return bad;
	return cli_doctor(&s.cfg, optind < argc ? argv + optind : NULL);
}

/* The library run would add, for scripts and container recipes; when it is
 * not found, run's message and status. */
static int cmd_preload_path(int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	const char *word, *lib, *why;
	int c;

	while ((c = cli_next_option(argc, argv, "+:h", longopts, &word)) != -1) {
		if (c == 'h') {
			cli_help(stdout, "preload-path");
			return 0;
		}
		return cli_option_error(c, word);
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	lib = cli_preload_path(&why);
	if (!lib) {
		fprintf(stderr, "gpulock: %s\n", why);
		return EXIT_SETUP;
	}
	printf("%s\n", lib);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	cli_usage_subcommand(NULL); /* its errors are about the overview's commands */
	if (cmd && (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0))
		cmd = "help";
	if (argc > 2)
		return cli_usage_error("unexpected argument '%s'", argv[2]);
	if (!cli_help(stdout, cmd))
		return cli_usage_error("unknown command '%s' (" COMMANDS ")", cmd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {{"run", cli_run},
	                {"status", cmd_status},
	                {"wait", cli_wait},
	                {"shell-init", cli_shell_init},
	                {"preload-path", cmd_preload_path},
	                {"doctor", cmd_doctor},
	                {"setup", cli_setup},
	                {"help", cmd_help}};

	opterr = 0;
	cli_usage_subcommand(NULL);
	if (argc < 2)
		return cli_usage_error("missing command (" COMMANDS ")");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cli_help(stdout, NULL);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("gpulock %s\n", GL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			cli_usage_subcommand(commands[i].name);
			optind = 1; /* getopt sees the subcommand as argv[0] */
			return commands[i].fn(argc - 1, argv + 1);
		}
	if (argv[1][0] == '-')
		return cli_usage_error("unknown option '%s'", argv[1]);
	return cli_usage_error("unknown command '%s' (" COMMANDS ")", argv[1]);
}
