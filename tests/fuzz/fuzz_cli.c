/* The gpulock command line: subcommands, options and the settings it reads
 * from the environment, run in-process. cli/gpulock.c is compiled into this
 * target with its side effects replaced: nothing is exec'd, no lock is taken
 * or waited for, status and doctor only check what they were given, setup
 * does nothing. What it
 * reads stays real (getenv, lstat of the lock path, the preload's path).
 * The other files of the command but status and doctor come along.
 *
 * Input: NUL-separated tokens. "+NAME=VALUE" sets an environment variable
 * (only the ones gpulock reads); any other token is the next argument after
 * "gpulock". Checks: the exit status is one of the documented ones, and
 * whatever reaches the lock core or an exec is a usable setting. */
#include "fuzz.h"
#include "gl_gpu.h"
#include "gl_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

static void check_cfg(const struct gl_lock_settings *cfg);
static int fuzz_execvp(const char *file, char *const argv[]);
static enum gl_gpu_result fuzz_gpu_lock_take(const struct gl_lock_settings *cfg, const char *point,
                                             struct gl_gpu_hold *h);
static int fuzz_lockfile_open(const char *path, int *fd);
static int fuzz_lock_wait_until_free(int fd, struct gl_wait *w);
static void fuzz_describe_holder(int fd, char *buf, size_t len);
static FILE *fuzz_stderr;

#undef stderr
#define stderr fuzz_stderr
#define main gpulock_main
#define execvp fuzz_execvp
#define gl_gpu_lock_take fuzz_gpu_lock_take
#define gl_lockfile_open fuzz_lockfile_open
#define gl_lock_wait_until_free fuzz_lock_wait_until_free
#define gl_gpu_describe_holder fuzz_describe_holder
#include "../../cli/gpulock.c"
#include "../../cli/gpulock_help.c"
#include "../../cli/gpulock_options.c"
#include "../../cli/gpulock_preload.c"
#include "../../cli/gpulock_run.c"
#include "../../cli/gpulock_shell.c"
#include "../../cli/gpulock_usage.c"
#include "../../cli/gpulock_wait.c"
#undef main
#undef execvp
#undef gl_gpu_lock_take
#undef gl_lockfile_open
#undef gl_lock_wait_until_free
#undef gl_gpu_describe_holder

static const char *const vars[] = {"GPU_LOCK_PATH",    "GPU_LOCK_TIMEOUT",
                                   "GPU_LOCK_ON_TIMEOUT", "GPU_LOCK_ON_ERROR",
                                   "GPU_LOCK_QUIET",   "GPU_LOCK_DEBUG",
                                   "PSRUN_SKIP_GPU_LOCK", "GPU_SKIP_LOCK",
                                   "GPU_LOCK_HELD",    "GPULOCK_PRELOAD",
                                   "CPU_RUN_SLOT_DIR", "SHELL",
                                   NULL};
static char *saved_ld_preload;
static char preload_stand_in[PATH_MAX]; /* an empty file named like the preload */
static unsigned sequence;

static void check_cfg(const struct gl_lock_settings *cfg)
{
	FUZZ_ASSERT(memchr(cfg->lock_path, '\0', sizeof cfg->lock_path) != NULL);
	FUZZ_ASSERT(cfg->lock_path[0] == '/');
	FUZZ_ASSERT(cfg->timeout == GL_WAIT_FOREVER ||
	            (cfg->timeout >= 0 && cfg->timeout <= GL_TIMEOUT_MAX));
}

static int fuzz_execvp(const char *file, char *const argv[])
{
	const char *preload = getenv("LD_PRELOAD");
	const char *timeout = getenv("GPU_LOCK_TIMEOUT");
	const char *path = getenv("GPU_LOCK_PATH");
	double t;

	FUZZ_ASSERT(!env_bad && file && argv && argv[0] == file);
	/* What the command's preload will read must be valid for it too (an
	 * empty variable means its default). */
	if (preload && strstr(preload, PRELOAD_NAME)) {
		FUZZ_ASSERT(!timeout || !*timeout ||
		            gl_parse_duration(timeout, GL_TIMEOUT_MAX, &t) == 0);
		FUZZ_ASSERT(!path || !*path || (path[0] == '/' && strlen(path) < PATH_MAX));
	}
	errno = ENOENT;
	return -1;
}

static enum gl_gpu_result fuzz_gpu_lock_take(const struct gl_lock_settings *cfg, const char *point,
                                             struct gl_gpu_hold *h)
{
	FUZZ_ASSERT(!env_bad && point && h->fd == -1 && h->n == 0);
	check_cfg(cfg);
	/* Every outcome but LOCKED (which would need a real fd). */
	return (enum gl_gpu_result)(GL_GPU_SKIPPED + sequence++ % 6);
}

static int fuzz_lockfile_open(const char *path, int *fd)
{
	FUZZ_ASSERT(path[0] == '/');
	*fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static int fuzz_lock_wait_until_free(int fd, struct gl_wait *w)
{
	static const int results[] = {0, -ETIMEDOUT, -ENOLCK};

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(!w || w->deadline < 0 || (w->deadline >= w->start &&
	                                      w->deadline - w->start <= GL_TIMEOUT_MAX));
	return results[sequence++ % 3];
}

static void fuzz_describe_holder(int fd, char *buf, size_t len)
{
	FUZZ_ASSERT(fd >= 0 && len > 0);
	snprintf(buf, len, "by pid 1 (init) for 1.0s");
}

int cli_status(const struct gl_lock_settings *cfg, bool json, const char *slot_dir)
{
	(void)json;
	FUZZ_ASSERT(!env_bad && slot_dir && *slot_dir);
	check_cfg(cfg);
	return 0;
}

int cli_doctor(const struct gl_lock_settings *cfg, char **cmd)
{
	FUZZ_ASSERT(!env_bad && (!cmd || cmd[0]));
	check_cfg(cfg);
	return 0;
}

/* run --gpus waits for GPUs and execs: the options that lead there are
 * checked, and nothing more. */
int cli_run_gpus(const struct cli_settings *s, const char *arg, char **cmd)
{
	FUZZ_ASSERT(!env_bad && arg && cmd && cmd[0]);
	check_cfg(&s->cfg);
	return 0;
}

/* setup makes root's files: never run here. */
int cli_setup(int argc, char **argv)
{
	FUZZ_ASSERT(argc >= 1 && argv[0]);
	return 0;
}

/* glibc's getopt keeps a pointer into the previous argv between calls;
 * optind = 0 makes the next call start afresh. */
static void reset_getopt(void)
{
	char arg0[] = "gpulock", *argv[] = {arg0, NULL};

	optind = 0;
	(void)getopt(1, argv, "");
	optind = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_cstring(data, size), *p = buf;
	char arg0[] = "gpulock", *argv[66];
	int argc = 0, r;

	if (!fuzz_stderr) {
		const char *ld = getenv("LD_PRELOAD"), *tmp = getenv("TMPDIR");
		fuzz_stderr = fopen("/dev/null", "we");
		FUZZ_ASSERT(fuzz_stderr && freopen("/dev/null", "w", stdout));
		saved_ld_preload = ld ? strdup(ld) : NULL;
		/* gpulock run needs a preload to find before it execs: a stand-in
		 * in TMPDIR (scripts/fuzz makes one for the run, and removes it). */
		snprintf(preload_stand_in, sizeof preload_stand_in - sizeof PRELOAD_NAME - 1,
		         "%s/gl-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		FUZZ_ASSERT(mkdtemp(preload_stand_in));
		strcat(preload_stand_in, "/" PRELOAD_NAME);
		FUZZ_ASSERT(close(open(preload_stand_in, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0);
	}
	for (int i = 0; vars[i]; i++)
		unsetenv(vars[i]);
	argv[argc++] = arg0;
	while (p < buf + size) {
		char *eq = p[0] == '+' ? strchr(p, '=') : NULL;
		size_t len = strlen(p);

		if (eq) {
			*eq = '\0';
			for (int i = 0; vars[i]; i++)
				if (strcmp(p + 1, vars[i]) == 0)
					setenv(vars[i], eq + 1, 0); /* the first one wins */
		} else if (argc < 65) {
			argv[argc++] = p;
		}
		p += len + 1;
	}
	argv[argc] = NULL;
	setenv("GPULOCK_PRELOAD", preload_stand_in, 0);

	env_bad = false;
	reset_getopt();
	r = gpulock_main(argc, argv);
	FUZZ_ASSERT(r == 0 || r == 1 || r == EXIT_TIMED_OUT || r == EXIT_SETUP ||
	            r == EXIT_CANNOT_EXEC || r == EXIT_NOT_FOUND);
	/* A bad setting is refused, but --help still helps (0); nothing runs:
	 * the stand-ins for exec, the lock and status assert !env_bad. */
	if (env_bad)
		FUZZ_ASSERT(r == EXIT_SETUP || r == 0);

	/* What gpulock run exported for its command. */
	if (saved_ld_preload)
		setenv("LD_PRELOAD", saved_ld_preload, 1);
	else
		unsetenv("LD_PRELOAD");
	reset_getopt();
	free(buf);
	return 0;
}
