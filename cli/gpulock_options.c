/* What gpulock's subcommands share: the lock settings from the environment,
 * then the options that change them, each checked before anything runs. */
#include "gpulock.h"
#include "gl_lockfile.h"
#include "gl_parse.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* getopt_long, and the argument it was reading (a cluster such as -qx
 * included) in *word, for messages: getopt's own (opterr = 0) would name
 * "run", not us. */
int cli_next_option(int argc, char **argv, const char *opts, const struct option *longopts,
                    const char **word)
{
	int at = optind;

	*word = at < argc ? argv[at] : "";
	return getopt_long(argc, argv, opts, longopts, NULL);
}

int cli_option_error(int c, const char *word)
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

int cli_load_settings(struct cli_settings *s)
{
	memset(s, 0, sizeof *s);
	gl_lock_settings_load(&s->cfg, env, env_error);
	return env_bad ? EXIT_SETUP : 0;
}

void cli_lock_path_error(const char *path, int err)
{
	char why[256];

	gl_lockfile_explain(path, err, why, sizeof why);
	fprintf(stderr, "gpulock: cannot use the GPU lock %s: %s\n", path, why);
}

/* Refuses a lock path that cannot work, before anything runs: a symlink, a
 * directory, anything but a regular file, or a missing directory. */
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
		cli_lock_path_error(path, err);
	return err ? EXIT_SETUP : 0;
}

/* Options shared by the subcommands that name a lock. */
int cli_set_lock(struct cli_settings *s, const char *arg)
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
	/* its per-GPU locks (and jobs' files) beside it, as the preload under
	 * gpulock run --lock finds them, unless GPU_LOCK_DIR names them */
	if (!getenv("GPU_LOCK_DIR") && !gl_lock_settings_default_gpu_dir(&s->cfg))
		s->cfg.gpu_dir[0] = '\0';
	return 0;
}

int cli_set_timeout(struct cli_settings *s, const char *arg)
{
	if (gl_parse_duration(arg, GL_TIMEOUT_MAX, &s->cfg.timeout) < 0)
		return cli_usage_error("--timeout '%s': expected %s", arg, GL_DURATION_EXPECTED);
	s->timeout_given = true;
	s->cfg.timeout_source = "--timeout"; /* for --eager's message */
	return 0;
}
