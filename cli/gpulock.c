/* gpulock: the user's handle on the GPU lock.
 *
 *   gpulock run [--eager] [options] -- CMD...   run CMD under the lock
 *   gpulock status [--json]                     who holds, who waits
 *   gpulock wait [--timeout DUR]                until the lock is free
 *   gpulock shell-init [bash|zsh|sh|fish]       profile lines for the preload
 *   gpulock doctor [-- CMD...]                  check the set-up
 *   gpulock help [COMMAND]                      the overview, or a command's help
 *
 * Parse, check everything, then act: bad input never runs anything. The lock
 * itself is the lock core's (common/gl_gpu.c), as in the preload. */
#include "gpulock.h"
#include "gl_gpu.h"
#include "gl_gpu_messages.h"
#include "gl_lock.h"
#include "gl_command.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_parse.h"
#include "gl_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMANDS "run, status, wait, shell-init, doctor, help"

/* Settings of the GPU side, from the environment and then the flags. */
struct cli_settings {
	struct gl_lock_settings cfg;
	bool lock_given, timeout_given, quiet_given;
};

/* getopt_long, and the argument it was reading (a cluster such as -qx
 * included) in *word, for messages: getopt's own (opterr = 0) would name
 * "run", not us. */
static int next_option(int argc, char **argv, const char *opts, const struct option *longopts,
                       const char **word)
{
	int at = optind;

	*word = at < argc ? argv[at] : "";
	return getopt_long(argc, argv, opts, longopts, NULL);
}

static int option_error(int c, const char *word)
{
	if (strncmp(word, "--", 2) != 0) /* optopt is the short option's letter */
		return cli_usage_error(c == ':' ? "missing value for option '-%c'"
		                                : "unknown option '-%c'",
		                       optopt);
	if (c == ':')
		return cli_usage_error("missing value for option '%s'", word);
	if (optopt) /* a known long option, given a value it does not take */
		return cli_usage_error("option '%.*s' takes no value", (int)strcspn(word, "="), word);
	return cli_usage_error("unknown option '%.*s'", (int)strcspn(word, "="), word);
}

/* Settings from the environment must be right too: a CLI refuses them. */
static bool env_bad;

static void env_error(const char *var, const char *value, const char *expected,
                      const char *fallback)
{
	(void)fallback;
	fprintf(stderr, "gpulock: %s='%s': expected %s\n", var, value, expected);
	env_bad = true;
}

static const char *env(const char *name)
{
	return getenv(name);
}

static int load_settings(struct cli_settings *s)
{
	memset(s, 0, sizeof *s);
	gl_lock_settings_load(&s->cfg, env, env_error);
	return env_bad ? EXIT_SETUP : 0;
}

/* Refuses a lock path that cannot work, before anything runs: a symlink, a
 * directory, anything but a regular file, or a missing directory. */
static int check_lock_path(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	int err;

	if (lstat(path, &st) == 0) {
		err = S_ISLNK(st.st_mode)   ? -ELOOP
		      : S_ISDIR(st.st_mode) ? -EISDIR
		      : !S_ISREG(st.st_mode) ? -EBADFD
		                             : 0;
	} else {
		err = -errno;
		if (err == -ENOENT) { /* fine, if it can be created */
			snprintf(dir, sizeof dir, "%s", path);
			err = stat(dirname(dir), &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -ENOENT;
		}
	}
	if (err)
		fprintf(stderr, "gpulock: cannot use the lock file '%s': %s\n", path,
		        gl_lockfile_strerror(err));
	return err ? EXIT_SETUP : 0;
}

/* Options shared by the subcommands that name a lock. */
static int set_lock(struct cli_settings *s, const char *arg)
{
	char cwd[PATH_MAX];

	if (!*arg)
		return cli_usage_error("--lock '': expected a path to the lock file");
	if (arg[0] == '/')
		snprintf(s->cfg.lock_path, sizeof s->cfg.lock_path, "%s", arg);
	else if (getcwd(cwd, sizeof cwd) &&
	         (size_t)snprintf(s->cfg.lock_path, sizeof s->cfg.lock_path, "%s/%s", cwd, arg) <
	                 sizeof s->cfg.lock_path)
		; /* the preload wants it absolute, so that every directory agrees */
	else
		return cli_usage_error("--lock '%s': path too long", arg);
	s->lock_given = true;
	return 0;
}

static int set_timeout(struct cli_settings *s, const char *arg)
{
	if (gl_parse_duration(arg, GL_TIMEOUT_MAX, &s->cfg.timeout) < 0)
		return cli_usage_error("--timeout '%s': expected %s", arg, GL_DURATION_EXPECTED);
	s->timeout_given = true;
	s->cfg.timeout_source = "--timeout"; /* for --eager's message */
	return 0;
}

/* exec, so that the exit status, signals and pid are the command's own. */
static int exec_command(char **cmd)
{
	execvp(cmd[0], cmd);
	fprintf(stderr, "gpulock: %s: %s\n", cmd[0],
	        errno == ENOENT ? "command not found" : strerror(errno));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* Every flag that names a setting reaches the command as that setting, eager
 * or not: its own CUDA calls and the gpulock runs inside it read them. */
static void export_settings(const struct cli_settings *s)
{
	char buf[64];

	if (s->lock_given)
		setenv("GPU_LOCK_PATH", s->cfg.lock_path, 1);
	if (s->timeout_given) {
		/* Not %g: the preload refuses its 1e+06 and waits forever. */
		if (s->cfg.timeout < 0)
			snprintf(buf, sizeof buf, "forever");
		else
			snprintf(buf, sizeof buf, "%.9f", s->cfg.timeout);
		setenv("GPU_LOCK_TIMEOUT", buf, 1);
	}
	if (s->quiet_given)
		setenv("GPU_LOCK_QUIET", "1", 1);
}

static int run_lazy(char **cmd)
{
	const char *why, *lib = cli_preload_path(&why);

	if (!lib) {
		fprintf(stderr, "gpulock: %s\n", why);
		return EXIT_SETUP;
	}
	if (cli_preload_add(lib) < 0)
		return EXIT_SETUP;
	return exec_command(cmd);
}

static int run_eager(const struct cli_settings *s, char **cmd)
{
	struct gl_lock_settings cfg = s->cfg;
	char path[PATH_MAX];
	int fd = -1, e = gl_command_find(cmd[0], path, sizeof path);

	/* Before the wait, which may be long: not after it. */
	if (e) {
		fprintf(stderr, "gpulock: %s: %s\n", cmd[0],
		        e == -ENOENT ? "command not found" : "cannot be executed");
		return e == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}

	/* A timed-out wait here never runs the command: its whole tree would go
	 * without the lock it asked for, and with exit status 0. The user's
	 * GPU_LOCK_ON_TIMEOUT stays in the environment, for the command's own
	 * CUDA calls. */
	cfg.run_on_timeout = false;
	switch (gl_gpu_lock_take(&cfg, "gpulock run --eager", &fd)) {
	case GL_GPU_LOCKED:
		/* The command holds the lock itself: it must inherit the fd. */
		if (fcntl(fd, F_SETFD, 0) < 0) {
			perror("gpulock: lock fd");
			return EXIT_SETUP;
		}
		break;
	case GL_GPU_SKIPPED:
	case GL_GPU_NESTED:
	case GL_GPU_UNLOCKED:
		break;
	case GL_GPU_TIMED_OUT:
		return EXIT_TIMED_OUT;
	case GL_GPU_FAILED:
	case GL_GPU_INTERRUPTED: /* not asked for: a signal ends gpulock itself */
		return EXIT_SETUP;
	}
	return exec_command(cmd);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"eager", no_argument, NULL, 'e'},     {"timeout", required_argument, NULL, 't'},
		{"no-wait", no_argument, NULL, 'n'},   {"quiet", no_argument, NULL, 'q'},
		{"lock", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word;
	bool eager = false;
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, r, bad = load_settings(&s);

	while ((c = next_option(argc, argv, "+:et:nql:h", longopts, &word)) != -1) {
		switch (c) {
		case 'e':
			eager = true;
			break;
		case 't':
			if ((r = set_timeout(&s, optarg)) != 0)
				return r;
			break;
		case 'n':
			s.cfg.timeout = 0;
			s.timeout_given = true;
			s.cfg.timeout_source = "--no-wait";
			break;
		case 'q':
			s.cfg.quiet = s.quiet_given = true;
			break;
		case 'l':
			if ((r = set_lock(&s, optarg)) != 0)
				return r;
			break;
		case 'h':
			cli_help(stdout, "run");
			return 0;
		default:
			return option_error(c, word);
		}
	}
	if (bad)
		return bad;
	if (optind >= argc)
		return cli_usage_error("missing command to run (gpulock run [OPTIONS] -- CMD...)");
	if ((r = check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	export_settings(&s);
	return eager ? run_eager(&s, argv + optind) : run_lazy(argv + optind);
}

static void announce_wait(const struct cli_settings *s, int fd)
{
	char who[256];

	gl_gpu_describe_holder(fd, who, sizeof who);
	fprintf(stderr, "gpulock: waiting for the GPU lock %s, held %s\n", s->cfg.lock_path, who);
}

struct wait_reminder {
	const char *lock_path;
	int fd;
};

/* A long wait is not silent: at 1, 5, 15 and 60 minutes, then hourly. */
static void remind_wait(double waited, void *arg)
{
	const struct wait_reminder *rem = arg;

	gl_gpu_remind(rem->lock_path, rem->fd, waited);
}

static int cmd_wait(int argc, char **argv)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
	                                         {"quiet", no_argument, NULL, 'q'},
	                                         {"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word;
	char who[256];
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, fd, r, bad = load_settings(&s);

	while ((c = next_option(argc, argv, "+:t:ql:h", longopts, &word)) != -1) {
		if (c == 't' && (r = set_timeout(&s, optarg)) != 0)
			return r;
		if (c == 'q')
			s.cfg.quiet = true;
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			cli_help(stdout, "wait");
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error(c, word);
	}
	if (bad)
		return bad;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if ((r = check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	r = gl_lockfile_open(s.cfg.lock_path, &fd);
	if (r < 0) {
		fprintf(stderr, "gpulock: cannot use the lock file '%s': %s\n", s.cfg.lock_path,
		        gl_lockfile_strerror(r));
		return EXIT_SETUP;
	}
	r = gl_lock_wait_until_free(fd, NULL);
	if (r == -ETIMEDOUT && s.cfg.timeout != 0) {
		struct wait_reminder rem = {s.cfg.lock_path, fd};
		struct gl_wait w = {.start = gl_wait_now(), .deadline = -1, .arg = &rem};

		if (s.cfg.timeout > 0)
			w.deadline = w.start + s.cfg.timeout;
		if (!s.cfg.quiet) {
			announce_wait(&s, fd);
			w.remind = remind_wait;
		}
		r = gl_lock_wait_until_free(fd, &w);
	}
	if (r == -ETIMEDOUT) {
		char secs[32];

		gl_gpu_describe_holder(fd, who, sizeof who);
		gl_log_seconds(s.cfg.timeout, secs, sizeof secs);
		if (s.cfg.timeout == 0)
			fprintf(stderr, "gpulock: the GPU lock %s is held %s\n", s.cfg.lock_path, who);
		else
			fprintf(stderr, "gpulock: the GPU lock %s is still held after %ss, %s\n",
			        s.cfg.lock_path, secs, who);
	}
	close(fd);
	if (r == -ETIMEDOUT)
		return EXIT_TIMED_OUT;
	if (r < 0) {
		fprintf(stderr, "gpulock: %s: %s\n", s.cfg.lock_path, gl_lockfile_strerror(r));
		return EXIT_SETUP;
	}
	return 0;
}

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
	int c, r, bad = load_settings(&s);

	while ((c = next_option(argc, argv, "+:jl:d:h", longopts, &word)) != -1) {
		if (c == 'j')
			json = true;
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'd')
			slot_dir = optarg;
		if (c == 'h') {
			cli_help(stdout, "status");
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error(c, word);
	}
	if (bad)
		return bad;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return cli_status(&s.cfg, json, slot_dir && *slot_dir ? slot_dir : GL_SLOTS_DEFAULT_DIR);
}

static int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {{"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word;
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, r, bad = load_settings(&s);

	while ((c = next_option(argc, argv, "+:l:h", longopts, &word)) != -1) {
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			cli_help(stdout, "doctor");
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error(c, word);
	}
	if (bad)
		return bad;
	return cli_doctor(&s.cfg, optind < argc ? argv + optind : NULL);
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
	} commands[] = {{"run", cmd_run},
	                {"status", cmd_status},
	                {"wait", cmd_wait},
	                {"shell-init", cli_shell_init},
	                {"doctor", cmd_doctor},
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
