/* gpulock run: the command under the lock, taken at its first GPU call
 * (the preload added to LD_PRELOAD) or, with --eager, before it starts. */
#include "gpulock.h"
#include "gl_command.h"
#include "gl_gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_exec(char **cmd)
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
	return cli_exec(cmd);
}

int cli_check_command(char **cmd)
{
	char path[PATH_MAX];
	int e = gl_command_find(cmd[0], path, sizeof path);

	if (e)
		fprintf(stderr, "gpulock: %s: %s\n", cmd[0],
		        e == -ENOENT ? "command not found" : "cannot be executed");
	return !e ? 0 : e == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

static int run_eager(const struct cli_settings *s, char **cmd)
{
	struct gl_lock_settings cfg = s->cfg;
	struct gl_gpu_hold hold = GL_GPU_HOLD_INIT;
	/* Before the wait, which may be long: not after it. */
	int e = cli_check_command(cmd);

	if (e)
		return e;

	/* A timed-out wait here never runs the command: its whole tree would go
	 * without the lock it asked for, and with exit status 0. The user's
	 * GPU_LOCK_ON_TIMEOUT stays in the environment, for the command's own
	 * CUDA calls. */
	cfg.run_on_timeout = false;
	switch (gl_gpu_lock_take(&cfg, "gpulock run --eager", &hold)) {
	case GL_GPU_LOCKED:
		/* The command holds the locks itself: it must inherit the fds. */
		if ((e = gl_gpu_hold_inherit(&hold, true)) < 0) {
			fprintf(stderr, "gpulock: lock fd: %s\n", strerror(-e));
			return EXIT_SETUP;
		}
		break;
	case GL_GPU_NO_GPU:
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
	return cli_exec(cmd);
}

int cli_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"eager", no_argument, NULL, 'e'},     {"timeout", required_argument, NULL, 't'},
		{"no-wait", no_argument, NULL, 'n'},   {"quiet", no_argument, NULL, 'q'},
		{"lock", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
		{"gpus", required_argument, NULL, 'g'}, {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word, *gpus = NULL;
	bool eager = false;
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, r, bad = cli_load_settings(&s);

	while ((c = cli_next_option(argc, argv, "+:et:nql:hg:", longopts, &word)) != -1) {
		switch (c) {
		case 'e':
			eager = true;
			break;
		case 'g':
			gpus = optarg;
			break;
		case 't':
			if ((r = cli_set_timeout(&s, optarg)) != 0)
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
			if ((r = cli_set_lock(&s, optarg)) != 0)
				return r;
			break;
		case 'h':
			cli_help(stdout, "run");
			return 0;
		default:
			return cli_option_error(c, word);
		}
	}
	if (bad)
		return bad;
	if (optind >= argc)
		return cli_usage_error("missing command to run (gpulock run [OPTIONS] -- CMD...)");
	if ((r = cli_check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	if (gpus && eager)
		return cli_usage_error("--gpus and --eager cannot go together (--gpus takes its GPUs "
		                       "before the command starts, as --eager does)");
	export_settings(&s);
	if (gpus)
		return cli_run_gpus(&s, gpus, argv + optind);
	return eager ? run_eager(&s, argv + optind) : run_lazy(argv + optind);
}
