/* gpulock: the user's handle on the GPU lock.
 *
 *   gpulock run [--eager] [options] -- CMD...   run CMD under the lock
 *   gpulock status [--json]                     who holds, who waits
 *   gpulock wait [--timeout S]                  until the lock is free
 *   gpulock shell-init [bash|zsh|fish]          profile lines for the preload
 *   gpulock doctor [-- CMD...]                  check the set-up
 *
 * Parse, check everything, then act: bad input never runs anything. The lock
 * itself is the lock core's (common/gl_gpu.c), as in the preload. */
#include "gpulock.h"
#include "gl_gpu.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"
#include "gl_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRELOAD_NAME "libgpulock_preload.so"

static void usage(FILE *out)
{
	fputs("Usage: gpulock COMMAND [OPTIONS]\n"
	      "\n"
	      "  run [OPTIONS] -- CMD...   run CMD with the GPU lock preload: it takes the lock\n"
	      "                            at its first CUDA call and holds it until it exits\n"
	      "      -e, --eager           take the lock before CMD starts, for its whole tree\n"
	      "      -t, --timeout S       wait at most S seconds for the lock\n"
	      "      -n, --no-wait         do not wait: fail if the lock is busy (--timeout 0)\n"
	      "      -q, --quiet           do not announce waits\n"
	      "      -l, --lock PATH       the lock file (default $GPU_LOCK_PATH or /tmp/gpu.lock)\n"
	      "  status [--json] [-l PATH] [--slot-dir DIR]\n"
	      "                            who holds the GPU lock and who waits; cpu_run slots\n"
	      "                            exit status 0 when the GPU is free, 1 when held\n"
	      "  wait [-t S] [-l PATH]     block until the lock is free, without taking it\n"
	      "  shell-init [bash|zsh|fish]\n"
	      "                            print profile lines that preload gpulock everywhere\n"
	      "  doctor [-l PATH] [-- CMD...]\n"
	      "                            check the set-up; with CMD, how CMD reaches the GPU\n"
	      "\n"
	      "  -h, --help     this text      -V, --version  the version\n"
	      "\n"
	      "Exit status: CMD's own for run; 75 when a wait for the lock timed out; 125 for\n"
	      "gpulock's own errors; 126 CMD cannot be executed; 127 CMD not found.\n",
	      out);
}

/* getopt's own messages name "run", not us: it runs with opterr = 0. */
static int option_error(const char *sub, int c, char **argv)
{
	fprintf(stderr, "gpulock %s: %s '%s'\nTry 'gpulock --help'.\n", sub,
	        c == ':' ? "missing value for option" : "unknown option", argv[optind - 1]);
	return EXIT_SETUP;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gpulock: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'gpulock --help'.\n");
	return EXIT_SETUP;
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
	gl_gpu_config_load(&s->cfg, env, env_error);
	return env_bad ? EXIT_SETUP : 0;
}

int cli_check_lock_path(const char *path)
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
		return usage_error("--lock '%s': expected a path to the lock file", arg);
	if (arg[0] == '/')
		snprintf(s->cfg.lock_path, sizeof s->cfg.lock_path, "%s", arg);
	else if (getcwd(cwd, sizeof cwd) &&
	         (size_t)snprintf(s->cfg.lock_path, sizeof s->cfg.lock_path, "%s/%s", cwd, arg) <
	                 sizeof s->cfg.lock_path)
		; /* the preload wants it absolute, so that every directory agrees */
	else
		return usage_error("--lock '%s': path too long", arg);
	s->lock_given = true;
	return 0;
}

static int set_timeout(struct cli_settings *s, const char *flag, const char *arg)
{
	if (gl_parse_duration(arg, GL_TIMEOUT_MAX, &s->cfg.timeout) < 0) {
		fprintf(stderr, "gpulock: %s '%s': expected %s\n", flag, arg, GL_DURATION_EXPECTED);
		return EXIT_SETUP;
	}
	s->timeout_given = true;
	return 0;
}

const char *cli_preload_path(void)
{
	static char found[PATH_MAX];
	char exe[PATH_MAX], *dir;
	const char *candidates[4];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *override = getenv("GPULOCK_PRELOAD");
	struct stat st;

	if (override && *override)
		return stat(override, &st) == 0 && S_ISREG(st.st_mode) ? override : NULL;
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	dir = dirname(exe);
	/* In the build tree, then installed beside us, then where meson put it. */
	candidates[0] = "%s/../preload/" PRELOAD_NAME;
	candidates[1] = "%s/../" GL_LIBDIR_NAME "/" PRELOAD_NAME;
	candidates[2] = "%s/../lib/" PRELOAD_NAME;
	candidates[3] = NULL;
	for (int i = 0; candidates[i]; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, candidates[i], dir);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && realpath(path, found))
			return found;
	}
	if (stat(GL_LIBDIR "/" PRELOAD_NAME, &st) == 0)
		return GL_LIBDIR "/" PRELOAD_NAME;
	return NULL;
}

/* exec, so that the exit status, signals and pid are the command's own. */
static int exec_command(char **cmd)
{
	execvp(cmd[0], cmd);
	fprintf(stderr, "gpulock: %s: %s\n", cmd[0],
	        errno == ENOENT ? "command not found" : strerror(errno));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* LD_PRELOAD keeps what it has (sanitizer runtimes must stay first) and gets
 * our library at the end, once. */
static int add_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int r;

	if (old && strstr(old, PRELOAD_NAME))
		return 0;
	if (old && *old)
		r = asprintf(&value, "%s:%s", old, lib);
	else
		r = asprintf(&value, "%s", lib);
	if (r < 0 || setenv("LD_PRELOAD", value, 1) < 0)
		return -ENOMEM;
	free(value);
	return 0;
}

static int run_lazy(struct cli_settings *s, char **cmd)
{
	const char *lib = cli_preload_path();
	char buf[64];

	if (!lib) {
		fprintf(stderr, "gpulock: cannot find %s next to this program (or set GPULOCK_PRELOAD)\n",
		        PRELOAD_NAME);
		return EXIT_SETUP;
	}
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
	if (add_preload(lib) < 0)
		return EXIT_SETUP;
	return exec_command(cmd);
}

static int run_eager(struct cli_settings *s, char **cmd)
{
	int fd = -1;

	switch (gl_gpu_lock_take(&s->cfg, "gpulock run --eager", &fd)) {
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
		return EXIT_LOCK_FAILED;
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
	bool eager = false, no_wait = false;
	int c, r = load_settings(&s);

	if (r)
		return r;
	while ((c = getopt_long(argc, argv, "+:et:nql:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			eager = true;
			break;
		case 't':
			if ((r = set_timeout(&s, "--timeout", optarg)) != 0)
				return r;
			break;
		case 'n':
			no_wait = true;
			break;
		case 'q':
			s.cfg.quiet = s.quiet_given = true;
			break;
		case 'l':
			if ((r = set_lock(&s, optarg)) != 0)
				return r;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return option_error("run", c, argv);
		}
	}
	if (no_wait) {
		s.cfg.timeout = 0;
		s.timeout_given = true;
	}
	if (optind >= argc)
		return usage_error("%s", "run: missing command (gpulock run [OPTIONS] -- CMD...)");
	if ((r = cli_check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	return eager ? run_eager(&s, argv + optind) : run_lazy(&s, argv + optind);
}

static int cmd_wait(int argc, char **argv)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
	                                         {"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	int c, fd, r = load_settings(&s);

	if (r)
		return r;
	while ((c = getopt_long(argc, argv, "+:t:l:h", longopts, NULL)) != -1) {
		if (c == 't' && (r = set_timeout(&s, "--timeout", optarg)) != 0)
			return r;
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error("wait", c, argv);
	}
	if (optind < argc)
		return usage_error("wait: unexpected argument '%s'", argv[optind]);
	if ((r = cli_check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	r = gl_lockfile_open(s.cfg.lock_path, &fd);
	if (r < 0) {
		fprintf(stderr, "gpulock: cannot use the lock file '%s': %s\n", s.cfg.lock_path,
		        gl_lockfile_strerror(r));
		return EXIT_SETUP;
	}
	r = gl_lock_wait_free(fd, s.cfg.timeout);
	close(fd);
	if (r == -ETIMEDOUT) {
		fprintf(stderr, "gpulock: the GPU lock %s is still held after %gs\n", s.cfg.lock_path,
		        s.cfg.timeout);
		return EXIT_LOCK_FAILED;
	}
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
	const char *slot_dir = getenv("CPU_RUN_SLOT_DIR");
	bool json = false;
	int c, r = load_settings(&s);

	if (r)
		return r;
	while ((c = getopt_long(argc, argv, "+:jl:d:h", longopts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'd')
			slot_dir = optarg;
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error("status", c, argv);
	}
	if (optind < argc)
		return usage_error("status: unexpected argument '%s'", argv[optind]);
	return cli_status(&s, json, slot_dir && *slot_dir ? slot_dir : "/tmp/cpu_run_slots");
}

/* Profile lines. The loader expands $LIB per process (lib/x86_64-linux-gnu,
 * lib/i386-linux-gnu, ...), so where the library is installed in the
 * multiarch directory, each process looks in the one of its own kind. */
static int cmd_shell_init(int argc, char **argv)
{
	const char *shell = argc > 1 ? argv[1] : NULL;
	const char *lib = cli_preload_path();
	char value[PATH_MAX + 16], *base;
	const char *libdir_suffix = "/" GL_LIBDIR_NAME "/" PRELOAD_NAME;
	size_t n, m = strlen(libdir_suffix);

	if (argc > 2)
		return usage_error("shell-init: unexpected argument '%s'", argv[2]);
	if (!shell) {
		const char *sh = getenv("SHELL");
		shell = sh && (base = strrchr(sh, '/')) ? base + 1 : "bash";
	}
	if (strcmp(shell, "bash") != 0 && strcmp(shell, "zsh") != 0 && strcmp(shell, "sh") != 0 &&
	    strcmp(shell, "fish") != 0)
		return usage_error("shell-init: unknown shell '%s': expected bash, zsh, sh or fish",
		                   shell);
	if (!lib) {
		fprintf(stderr, "gpulock: cannot find %s next to this program\n", PRELOAD_NAME);
		return EXIT_SETUP;
	}
	n = strlen(lib);
	if (strncmp(GL_LIBDIR_NAME, "lib/", 4) == 0 && n > m &&
	    strcmp(lib + n - m, libdir_suffix) == 0)
		snprintf(value, sizeof value, "%.*s/$LIB/%s", (int)(n - m), lib, PRELOAD_NAME);
	else
		snprintf(value, sizeof value, "%s", lib);

	printf("# gpulock: take the GPU lock automatically in every CUDA program (added once).\n");
	if (!strstr(value, "$LIB"))
		printf("# %s is not in a multiarch directory: 32-bit programs will print a loader\n"
		       "# warning and run normally. Install it (meson install) to avoid that.\n",
		       lib);
	if (strcmp(shell, "fish") == 0) {
		printf("if not string match -q '*%s*' -- \"$LD_PRELOAD\"\n"
		       "    set -gx LD_PRELOAD (string join : -- $LD_PRELOAD '%s' | string trim -c :)\n"
		       "end\n",
		       PRELOAD_NAME, value);
	} else {
		printf("case \":${LD_PRELOAD:-}:\" in\n"
		       "*%s*) ;;\n"
		       "*) export LD_PRELOAD=\"${LD_PRELOAD:+$LD_PRELOAD:}\"'%s' ;;\n"
		       "esac\n",
		       PRELOAD_NAME, value);
	}
	return 0;
}

static int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {{"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	int c, r = load_settings(&s);

	if (r)
		return r;
	while ((c = getopt_long(argc, argv, "+:l:h", longopts, NULL)) != -1) {
		if (c == 'l' && (r = set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			return option_error("doctor", c, argv);
	}
	return cli_doctor(&s, optind < argc ? argv + optind : NULL);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {{"run", cmd_run},
	                {"status", cmd_status},
	                {"wait", cmd_wait},
	                {"shell-init", cmd_shell_init},
	                {"doctor", cmd_doctor}};

	opterr = 0;
	if (argc < 2)
		return usage_error("%s", "missing command (run, status, wait, shell-init, doctor)");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("gpulock %s\n", GL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			optind = 1; /* getopt sees the subcommand as argv[0] */
			return commands[i].fn(argc - 1, argv + 1);
		}
	return usage_error("unknown command '%s' (run, status, wait, shell-init, doctor)", argv[1]);
}
