#include "gl_job.h"
#include "gl_proc.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH 32 /* ancestors looked at: launchers are a few levels up */

bool gl_job_group_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 64 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static const char *base(const char *word)
{
	const char *slash = strrchr(word, '/');

	return slash ? slash + 1 : word;
}

static const char *in(const char *word, const char *const *names)
{
	for (int k = 0; names[k]; k++)
		if (strcmp(word, names[k]) == 0)
			return names[k];
	return NULL;
}

/* The launcher's name when argv (n words of cmdline) is one, else NULL:
 * its program; for Python, its script or the module after -m. */
static const char *launcher_name(const char *const *argv, int n)
{
	static const char *const programs[] = {"torchrun", "deepspeed", "accelerate", "mpirun",
	                                       "mpiexec", "mpiexec.hydra", "orterun", "prterun",
	                                       "orted", "prted", "hydra_pmi_proxy", "slurmstepd", NULL};
	static const char *const modules[] = {"torch.distributed.run", "torch.distributed.launch",
	                                      "deepspeed.launcher.launch",
	                                      "accelerate.commands.launch", NULL};

	if (n < 1)
		return NULL;
	/* "slurmstepd: [1234.0]": slurmstepd rewrites its argv */
	if (strncmp(argv[0], "slurmstepd", 10) == 0)
		return "slurmstepd";
	if (in(base(argv[0]), programs))
		return in(base(argv[0]), programs);
	if (strncmp(base(argv[0]), "python", 6) != 0)
		return NULL;
	for (int i = 1; i < n; i++) {
		if (strcmp(argv[i], "-m") == 0)
			return i + 1 < n ? in(argv[i + 1], modules) : NULL;
		if (argv[i][0] != '-') /* the script */
			return in(base(argv[i]), programs);
	}
	return NULL;
}

/* Splits pid's cmdline into words; 0 or -errno. */
static int read_argv(pid_t pid, char *buf, size_t len, const char **argv, int cap, int *n)
{
	char path[48];
	ssize_t got;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	got = gl_read_small(path, buf, len);
	if (got < 0)
		return (int)got;
	*n = 0;
	for (ssize_t i = 0; i < got && *n < cap;) {
		argv[(*n)++] = buf + i;
		i += (ssize_t)strlen(buf + i) + 1;
	}
	return 0;
}

static bool owned_by(pid_t pid, uid_t uid)
{
	char path[48];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	return stat(path, &st) == 0 && st.st_uid == uid;
}

bool gl_job_find(const struct gl_lock_settings *cfg, struct gl_job *job)
{
	/* the system call: geteuid(3) would be one more symbol for every
	 * process that loads the preload to bind */
	uid_t uid = (uid_t)syscall(SYS_geteuid);
	pid_t pid = getppid();

	memset(job, 0, sizeof *job);
	if (cfg->group) {
		snprintf(job->launcher_name, sizeof job->launcher_name, "%s", cfg->group);
		snprintf(job->key, sizeof job->key, "group.%u.%s", (unsigned)uid, cfg->group);
		return true;
	}
	if (!cfg->rank_var)
		return false;
	for (int depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
		char buf[4096];
		const char *argv[8], *name = NULL;
		unsigned long long start;
		pid_t parent;
		int n = 0;

		if (gl_proc_parent_and_start(pid, &parent, &start) < 0)
			return false;
		if (read_argv(pid, buf, sizeof buf, argv, 8, &n) == 0)
			name = launcher_name(argv, n);
		/* slurmstepd is root's; above any other user's process, the
		 * tree is not ours to trust */
		if (name && (strcmp(name, "slurmstepd") == 0 || owned_by(pid, uid))) {
			job->launcher = pid;
			snprintf(job->launcher_name, sizeof job->launcher_name, "%s", name);
			snprintf(job->key, sizeof job->key, "job.%u.%d.%llu", (unsigned)uid, (int)pid,
			         start);
			return true;
		}
		if (!owned_by(pid, uid))
			return false;
		pid = parent;
	}
	return false;
}
