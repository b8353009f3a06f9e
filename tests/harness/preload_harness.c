#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char h_dir[200];
char h_lock[220];
char h_trace[220];

void h_setup(void)
{
	tp_make_dir(h_dir, sizeof h_dir);
	snprintf(h_lock, sizeof h_lock, "%s/gpu.lock", h_dir);
	snprintf(h_trace, sizeof h_trace, "%s/trace", h_dir);
}

#define NOBODY 65534

bool h_need_nobody(const char *test)
{
	if (geteuid() != 0) {
		tp_skip(test, "needs root, to run programs as user nobody");
		return false;
	}
	if (!tp_reachable_by(NOBODY, h_dir)) {
		tp_skip(test, "user nobody cannot reach the temporary directory: "
		              "set TMPDIR to a directory that every user can reach");
		return false;
	}
	return true;
}

void h_become_nobody(void)
{
	char dir[300], lib[320], tmp[320], copy[PATH_MAX];
	const char *fixtures = h_artifact("GL_FIXTURES_DIR");
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/shared", h_dir);
	tp_share_files(dir, "GL_", "GL_TEST_"); /* GL_TEST_*: settings, not the build's */
	/* The fake driver and the other libraries the clients load. */
	snprintf(lib, sizeof lib, "%s/lib", dir);
	ck_assert_int_eq(mkdir(lib, 0755), 0);
	ck_assert_int_eq(chmod(lib, 0755), 0);
	d = opendir(fixtures);
	ck_assert_msg(d, "%s: %s", fixtures, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char file[PATH_MAX];
		struct stat st;

		snprintf(file, sizeof file, "%s/%s", fixtures, e->d_name);
		if (strncmp(e->d_name, "lib", 3) != 0 || !strstr(e->d_name, ".so") ||
		    stat(file, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		snprintf(copy, sizeof copy, "%s/%s", lib, e->d_name);
		tp_copy_file(file, copy);
	}
	closedir(d);
	ck_assert_int_eq(setenv("GL_FIXTURES_DIR", lib, 1), 0);
	ck_assert_msg(tp_reachable_by(NOBODY, lib), "user nobody cannot reach %s: set TMPDIR to a "
	              "directory that every user can reach", lib);
	/* Temporary files of what runs as nobody (valgrind's, for one): in
	 * h_dir, where nobody can write, as the caller's TMPDIR may not be. */
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	ck_assert_int_eq(mkdir(tmp, 0755), 0);
	ck_assert_int_eq(chown(tmp, NOBODY, NOBODY), 0);
	ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
	ck_assert_int_eq(chdir(h_dir), 0); /* not the build tree */
	tp_become(NOBODY);
}

const char *h_artifact(const char *var)
{
	const char *v = getenv(var);

	ck_assert_msg(v && *v, "%s is not set: run the tests through meson test", var);
	return v;
}

/* Settings the user running the tests may have exported must not leak in. */
static bool inherited_setting(const char *entry)
{
	static const char *const drop[] = {"GPU_LOCK_", "GPU_SKIP_LOCK=", "PSRUN_SKIP_GPU_LOCK=",
	                                   "LD_PRELOAD=", "LD_LIBRARY_PATH=", "FAKE_CUDA_",
	                                   "CLIENT_", NULL};

	for (int i = 0; drop[i]; i++)
		if (strncmp(entry, drop[i], strlen(drop[i])) == 0)
			return true;
	return false;
}

void h_spawn(struct tp_proc *c, const char *const argv[], const char *const extra[], bool preload)
{
	static char env_lock[260], env_trace[260], env_lib[4200], env_preload[4200];
	const char *env[512];
	int n = 0, in[2], out[2], err[2];
	posix_spawn_file_actions_t fa;
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX"); /* e.g. libasan first */

	/* getenv returns the first match: the test's own settings go first. */
	for (int i = 0; extra && extra[i] && n < 32; i++)
		env[n++] = extra[i];
	for (char **e = environ; *e && n < 480; e++)
		if (!inherited_setting(*e))
			env[n++] = *e;
	snprintf(env_lock, sizeof env_lock, "GPU_LOCK_PATH=%s", h_lock);
	snprintf(env_trace, sizeof env_trace, "FAKE_CUDA_TRACE=%s", h_trace);
	snprintf(env_lib, sizeof env_lib, "LD_LIBRARY_PATH=%s", h_artifact("GL_FIXTURES_DIR"));
	env[n++] = env_lock;
	env[n++] = env_trace;
	env[n++] = env_lib;
	if (preload) {
		snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s%s%s", prefix ? prefix : "",
		         prefix ? ":" : "", h_artifact("GL_PRELOAD"));
		env[n++] = env_preload;
	}
	env[n] = NULL;

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	errno = posix_spawnp(&c->pid, argv[0], &fa, NULL, (char *const *)argv, (char *const *)env);
	ck_assert_msg(errno == 0, "spawn %s: %s", argv[0], strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
}

int h_run(const char *const argv[], const char *const extra[], bool preload, char **out, char **err)
{
	struct tp_proc c;
	int status;

	h_spawn(&c, argv, extra, preload);
	close(c.in);
	tp_collect(c.out, c.err, out, err);
	status = tp_wait(c.pid, 30);
	close(c.out);
	close(c.err);
	return status;
}

void h_wait_holder(const char *path, pid_t pid)
{
	tp_wait_lock(path, pid, false, 20);
}

void h_wait_waiter(const char *path, pid_t pid)
{
	tp_wait_lock(path, pid, true, 20);
}

void h_start_gpu_holder(struct tp_proc *c)
{
	static const char *const hold[] = {"CLIENT_HOLD=1", NULL};
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	char line[32] = {0};

	h_spawn(c, argv, hold, true);
	ck_assert_int_gt(read(c->out, line, sizeof line - 1), 0);
	ck_assert_str_eq(line, "cuInit=0\n");
	h_wait_holder(h_lock, c->pid);
}
