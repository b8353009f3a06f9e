#include "gl_lock_settings.h"
#include "gl_job.h"
#include "gl_lock.h"
#include "gl_log.h"
#include "gl_parse.h"

#include <stdio.h>
#include <string.h>

static const char *const policies[] = {"fail", "run", NULL};

/* An empty value means the default, as ${VAR:-default} in the original
 * tools: a profile line such as GPU_LOCK_TIMEOUT= must not be an error. */
static const char *value(gl_getenv_fn get, const char *var)
{
	const char *v = get(var);

	return v && *v ? v : NULL;
}

static void read_bool(gl_getenv_fn get, gl_settings_warn_fn warn, const char *var, bool *out)
{
	const char *v = value(get, var);

	if (v && gl_parse_bool(v, out) < 0)
		warn(var, v, "1 or 0 (also yes/no, true/false, on/off)", *out ? "1" : "0");
}

static void read_policy(gl_getenv_fn get, gl_settings_warn_fn warn, const char *var, bool *run)
{
	const char *v = value(get, var);
	int i;

	if (!v)
		return;
	i = gl_parse_word(v, policies);
	if (i < 0)
		warn(var, v, "'fail' or 'run'", "fail");
	else
		*run = i == 1;
}

/* The original tools skip on any non-empty value; an empty one means unset. */
static bool read_skip(gl_getenv_fn get, gl_settings_warn_fn warn, const char *var)
{
	const char *v = value(get, var);
	bool skip = false;

	if (!v)
		return false;
	if (gl_parse_bool(v, &skip) < 0)
		warn(var, v, "1 to skip the GPU lock, or 0", "take the lock");
	return skip;
}

/* The variables the launchers of multi-process jobs give their ranks (see
 * gl_job.h). SLURM_PROCID counts only in an srun step: the batch script
 * has it too, and everything it starts would be one job. */
static const char *rank_variable(gl_getenv_fn get)
{
	static const char *const vars[] = {"RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_RANK",
	                                   "PMIX_RANK", "PMI_RANK", NULL};
	const char *step;

	for (int i = 0; vars[i]; i++) {
		if (value(get, vars[i]))
			return vars[i];
	}
	step = value(get, "SLURM_STEP_ID");
	if (value(get, "SLURM_PROCID") && step && strspn(step, "0123456789") == strlen(step) &&
	    strlen(step) < 10)
		return "SLURM_PROCID";
	return NULL;
}

void gl_lock_settings_load(struct gl_lock_settings *cfg, gl_getenv_fn get,
                           gl_settings_warn_fn warn)
{
	const char *v, *fallback;

	memset(cfg, 0, sizeof *cfg);
	cfg->timeout = GL_WAIT_FOREVER;

	v = value(get, "GPU_LOCK_PATH");
	if (!v || v[0] != '/' || strlen(v) >= sizeof cfg->lock_path) {
		fallback = gl_default_lock_path(); /* looked for only when needed */
		snprintf(cfg->lock_path, sizeof cfg->lock_path, "%s", fallback);
	}
	if (v) {
		/* A relative path would name a different lock in every directory. */
		if (v[0] != '/' || strlen(v) >= sizeof cfg->lock_path)
			warn("GPU_LOCK_PATH", v, "an absolute path to the lock file", cfg->lock_path);
		else /* fits: checked above */
			snprintf(cfg->lock_path, sizeof cfg->lock_path, "%s", v);
	}
	v = value(get, "GPU_LOCK_DIR");
	if (v && (v[0] != '/' || strlen(v) >= sizeof cfg->gpu_dir))
		warn("GPU_LOCK_DIR", v, "an absolute path to the directory of per-GPU locks",
		     "the lock path with " GL_GPU_DIR_SUFFIX " added");
	else if (v) /* fits: checked above */
		snprintf(cfg->gpu_dir, sizeof cfg->gpu_dir, "%s", v);
	if (!cfg->gpu_dir[0] && !gl_lock_settings_default_gpu_dir(cfg))
		cfg->gpu_dir[0] = '\0'; /* too long: per-GPU locks are off */
	cfg->visible = get("CUDA_VISIBLE_DEVICES");
	v = value(get, "CUDA_DEVICE_ORDER");
	cfg->pci_order = v && strcmp(v, "PCI_BUS_ID") == 0;
	v = value(get, "GPU_LOCK_GROUP");
	if (v && !gl_job_group_name_ok(v))
		warn("GPU_LOCK_GROUP", v, "a name of 1 to 64 letters, digits, '.', '_' or '-'",
		     "no group");
	else
		cfg->group = v;
	cfg->rank_var = rank_variable(get);
	v = value(get, "GPU_LOCK_TIMEOUT");
	if (v && gl_parse_duration(v, GL_TIMEOUT_MAX, &cfg->timeout) < 0)
		warn("GPU_LOCK_TIMEOUT", v, GL_DURATION_EXPECTED, "wait as long as it takes");
	read_policy(get, warn, "GPU_LOCK_ON_TIMEOUT", &cfg->run_on_timeout);
	read_policy(get, warn, "GPU_LOCK_ON_ERROR", &cfg->run_on_error);
	read_bool(get, warn, "GPU_LOCK_QUIET", &cfg->quiet);
	read_bool(get, warn, "GPU_LOCK_DEBUG", &cfg->debug);
	if (read_skip(get, warn, "PSRUN_SKIP_GPU_LOCK"))
		cfg->skip_var = "PSRUN_SKIP_GPU_LOCK";
	else if (read_skip(get, warn, "GPU_SKIP_LOCK"))
		cfg->skip_var = "GPU_SKIP_LOCK";
	cfg->held = value(get, "GPU_LOCK_HELD");
}

bool gl_lock_settings_default_gpu_dir(struct gl_lock_settings *cfg)
{
	size_t n = strlen(cfg->lock_path);

	if (n + sizeof GL_GPU_DIR_SUFFIX > sizeof cfg->gpu_dir)
		return false;
	memmove(cfg->gpu_dir, cfg->lock_path, n);
	memmove(cfg->gpu_dir + n, GL_GPU_DIR_SUFFIX, sizeof GL_GPU_DIR_SUFFIX);
	return true;
}

void gl_settings_warn_stderr(const char *var, const char *value, const char *expected,
                             const char *fallback)
{
	gl_log("%s='%s': expected %s; using the default (%s)", var, value, expected, fallback);
}
