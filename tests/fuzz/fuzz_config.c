/* gl_lock_settings_load with a fuzzed environment, through its getenv
 * callback. The input is NAME=VALUE entries separated by NUL bytes (the
 * first entry of a name wins, as getenv's does). Checks that every result is
 * one the preload can use, that each bad value is warned about once, and
 * that only documented variables are read. The standard warning
 * (gl_settings_warn_stderr, with its truncation of long values) runs too, with
 * stderr sent to /dev/null. */
#include "fuzz.h"
#include "gl_lock_settings.h"
#include "gl_lock.h"
#include "gl_job.h"
#include "gl_hardened.h"

#include <fcntl.h>
#include <unistd.h>

static const char *const known[] = {
	"GPU_LOCK_PATH",  "GPU_LOCK_TIMEOUT",    "GPU_LOCK_ON_TIMEOUT", "GPU_LOCK_ON_ERROR",
	"GPU_LOCK_QUIET", "GPU_LOCK_DEBUG",      "PSRUN_SKIP_GPU_LOCK", "GPU_SKIP_LOCK",
	"GPU_LOCK_HELD",  "GPU_LOCK_DIR",        "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER",
	"GPU_LOCK_GROUP", "RANK",                "LOCAL_RANK",          "OMPI_COMM_WORLD_RANK",
	"PMIX_RANK",      "PMI_RANK",            "SLURM_STEP_ID",       "SLURM_PROCID",
	NULL};
#define NKNOWN (sizeof known / sizeof known[0] - 1)

static char *entries[256];
static size_t nentries;
static int warned[NKNOWN];
static int null_fd = -1;

static int known_index(const char *name)
{
	for (size_t i = 0; known[i]; i++)
		if (strcmp(name, known[i]) == 0)
			return (int)i;
	return -1;
}

static const char *fake_getenv(const char *name)
{
	size_t len = strlen(name);

	FUZZ_ASSERT(known_index(name) >= 0); /* an undocumented variable */
	for (size_t i = 0; i < nentries; i++)
		if (strncmp(entries[i], name, len) == 0 && entries[i][len] == '=')
			return entries[i] + len + 1;
	return NULL;
}

static void warn(const char *var, const char *value, const char *expected, const char *fallback)
{
	int i = known_index(var);
	int saved;

	FUZZ_ASSERT(i >= 0 && value && expected && *expected && fallback && *fallback);
	FUZZ_ASSERT(fake_getenv(var) == value); /* names the value it read */
	warned[i]++;
	saved = dup(STDERR_FILENO);
	if (saved >= 0 && null_fd >= 0 && dup2(null_fd, STDERR_FILENO) >= 0) {
		gl_settings_warn_stderr(var, value, expected, fallback);
		dup2(saved, STDERR_FILENO);
	}
	if (saved >= 0)
		close(saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gl_lock_settings cfg;
	char *buf = fuzz_cstring(data, size), *p = buf;
	const char *v;

	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	nentries = 0;
	memset(warned, 0, sizeof warned);
	/* NUL-separated entries; fuzz_cstring added the final NUL. */
	while (p < buf + size && nentries < sizeof entries / sizeof entries[0]) {
		entries[nentries++] = p;
		p += strlen(p) + 1;
	}

	gl_lock_settings_load(&cfg, fake_getenv, warn);

	FUZZ_ASSERT(memchr(cfg.lock_path, '\0', sizeof cfg.lock_path) != NULL);
	FUZZ_ASSERT(cfg.lock_path[0] == '/');
	v = fake_getenv("GPU_LOCK_PATH");
	if (v && v[0] == '/' && strlen(v) < sizeof cfg.lock_path)
		FUZZ_ASSERT(strcmp(cfg.lock_path, v) == 0 && !warned[0]);
	else /* empty means the default, without a warning */
		FUZZ_ASSERT(strcmp(cfg.lock_path, gl_default_lock_path()) == 0 &&
		            warned[0] == (v && *v));
	FUZZ_ASSERT(cfg.timeout == GL_WAIT_FOREVER ||
	            (cfg.timeout >= 0 && cfg.timeout <= GL_TIMEOUT_MAX));
	if (!fake_getenv("GPU_LOCK_TIMEOUT"))
		FUZZ_ASSERT(cfg.timeout == GL_WAIT_FOREVER);
	if (warned[1])
		FUZZ_ASSERT(cfg.timeout == GL_WAIT_FOREVER);
	FUZZ_ASSERT(cfg.skip_var == NULL || strcmp(cfg.skip_var, "PSRUN_SKIP_GPU_LOCK") == 0 ||
	            strcmp(cfg.skip_var, "GPU_SKIP_LOCK") == 0);
	v = fake_getenv("GPU_LOCK_HELD");
	FUZZ_ASSERT(cfg.held == (v && *v ? v : NULL));
	/* A bad value falls back to the default: fail, not run. */
	if (warned[2])
		FUZZ_ASSERT(!cfg.run_on_timeout);
	if (warned[3])
		FUZZ_ASSERT(!cfg.run_on_error);
	/* A bad skip value takes the lock (it fails closed). */
	if (warned[6] && warned[7])
		FUZZ_ASSERT(cfg.skip_var == NULL);
	/* The per-GPU lock directory: absolute, or (too long) none. */
	v = fake_getenv("GPU_LOCK_DIR");
	if (v && v[0] == '/' && strlen(v) < sizeof cfg.gpu_dir) {
		FUZZ_ASSERT(strcmp(cfg.gpu_dir, v) == 0 && !warned[9]);
	} else {
		size_t n = strlen(cfg.lock_path);

		FUZZ_ASSERT(warned[9] == (v && *v));
		FUZZ_ASSERT(cfg.gpu_dir[0] == '\0' ||
		            (strncmp(cfg.gpu_dir, cfg.lock_path, n) == 0 &&
		             strcmp(cfg.gpu_dir + n, GL_GPU_DIR_SUFFIX) == 0));
	}
	/* CUDA's own variables, as they are: an empty list means no GPU. */
	FUZZ_ASSERT(cfg.visible == fake_getenv("CUDA_VISIBLE_DEVICES"));
	v = fake_getenv("CUDA_DEVICE_ORDER");
	FUZZ_ASSERT(cfg.pci_order == (v && strcmp(v, "PCI_BUS_ID") == 0));
	/* A group's name is one a file can carry; a bad one is said and not used. */
	v = fake_getenv("GPU_LOCK_GROUP");
	if (cfg.group)
		FUZZ_ASSERT(cfg.group == v && gl_job_group_name_ok(v) && !warned[12]);
	else
		FUZZ_ASSERT(warned[12] == (v && *v));
	FUZZ_ASSERT(cfg.rank_var == NULL || (fake_getenv(cfg.rank_var) && *fake_getenv(cfg.rank_var)));
	for (size_t i = 0; i < NKNOWN; i++)
		FUZZ_ASSERT(warned[i] <= 1); /* each bad value is reported once */
	free(buf);
	return 0;
}
