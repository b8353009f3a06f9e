#include "cpu_run_harness.h"
#include "procs.h"
#include "gl_slots.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char t_dir[128];
char t_slots[144];
char t_log[144];

void t_setup(void)
{
	tp_make_dir(t_dir, sizeof t_dir);
	snprintf(t_slots, sizeof t_slots, "%s/slots", t_dir);
	snprintf(t_log, sizeof t_log, "%s/log", t_dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path); /* best effort: go on */
	return 0;
}

void t_teardown(void)
{
	if (t_dir[0])
		nftw(t_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	t_dir[0] = '\0';
}

static const char *artifact(const char *var)
{
	const char *v = getenv(var);

	ck_assert_msg(v && *v, "%s is not set: run the tests through meson test", var);
	return v;
}

const char *t_cpu_run(void)
{
	return artifact("CR_CPU_RUN");
}

const char *t_job(void)
{
	return artifact("CR_JOB");
}

const char *t_seed(void)
{
	return artifact("CR_SEED");
}

void t_share_programs(void)
{
	char dir[300];

	ck_assert_msg(t_dir[0], "t_share_programs before t_setup");
	snprintf(dir, sizeof dir, "%s/shared", t_dir);
	tp_share_files(dir, "CR_", NULL);
}

/* Settings of whoever runs the tests must not leak in. */
static bool inherited_setting(const char *entry)
{
	static const char *const drop[] = {
		"CPU_RUN_",           "OMP_NUM_THREADS=",        "OPENBLAS_NUM_THREADS=",
		"MKL_NUM_THREADS=",   "NUMEXPR_NUM_THREADS=",    "VECLIB_MAXIMUM_THREADS=",
		"BLIS_NUM_THREADS=",  "NUMBA_NUM_THREADS=",      "GOTO_NUM_THREADS=",
		"RAYON_NUM_THREADS=", "POLARS_MAX_THREADS=",     "TF_NUM_INTRAOP_THREADS=",
		"TF_NUM_INTEROP_THREADS=", "JULIA_NUM_THREADS=", "GOMAXPROCS=",
		"CR_LOG=",            NULL,
	};

	for (int i = 0; drop[i]; i++)
		if (strncmp(entry, drop[i], strlen(drop[i])) == 0)
			return true;
	return false;
}

void t_spawn_as(struct tp_proc *p, const char *const argv[], const char *const extra[], uid_t uid)
{
	static char env_dir[192], env_log[192], env_tmp[192];
	const char *env[1024];
	int n = 0, in[2], out[2], err[2];

	/* getenv returns the first match: the test's own settings go first. */
	for (int i = 0; extra && extra[i] && n < 512; i++)
		env[n++] = extra[i];
	snprintf(env_dir, sizeof env_dir, "CPU_RUN_SLOT_DIR=%s", t_slots);
	snprintf(env_log, sizeof env_log, "CR_LOG=%s", t_log);
	env[n++] = env_dir;
	env[n++] = env_log;
	if (uid != (uid_t)-1) {
		/* Its temporary files (valgrind's, for one): in t_dir, where it
		 * can write, as the caller's TMPDIR may not be. */
		snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s/tmp-%u", t_dir, (unsigned)uid);
		ck_assert_msg(mkdir(env_tmp + 7, 0755) == 0 || errno == EEXIST, "%s: %s",
		              env_tmp + 7, strerror(errno));
		ck_assert_int_eq(chown(env_tmp + 7, uid, uid), 0);
		env[n++] = env_tmp;
	}
	for (char **e = environ; *e && n < 1020; e++)
		if (!inherited_setting(*e))
			env[n++] = *e;
	env[n] = NULL;
	if (uid != (uid_t)-1 && strchr(argv[0], '/'))
		ck_assert_msg(tp_reachable_by(uid, argv[0]),
		              "uid %u cannot reach %s: run t_share_programs() first", (unsigned)uid,
		              argv[0]);

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (uid != (uid_t)-1 &&
		    (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(120);
		execvpe(argv[0], (char *const *)argv, (char *const *)env);
		_exit(121);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
}

void t_spawn(struct tp_proc *p, const char *const argv[], const char *const extra[])
{
	t_spawn_as(p, argv, extra, (uid_t)-1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int t_wait(struct tp_proc *p, double timeout)
{
	int status = tp_wait(p->pid, timeout * tp_scale());

	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	return status;
}

int t_run(const char *const argv[], const char *const extra[], char **out, char **err)
{
	struct tp_proc p;

	t_spawn(&p, argv, extra);
	close_fd(&p.in);
	tp_collect(p.out, p.err, out, err);
	return t_wait(&p, 30);
}

void t_wait_lock(const char *path, pid_t pid, bool waiting)
{
	tp_wait_lock(path, pid, waiting, 20 * tp_scale());
}

static bool has_ticket(pid_t pid)
{
	struct gl_slot_state s[1];
	struct gl_ticket_state t[64];
	size_t ns, nt;

	if (gl_slots_inspect(t_slots, 1, s, 1, &ns, t, 64, &nt, NULL) < 0)
		return false;
	for (size_t i = 0; i < nt && i < 64; i++)
		if (t[i].live && t[i].pid == pid)
			return true;
	return false;
}

void t_wait_ticket(pid_t pid)
{
	double deadline = tp_now() + 20 * tp_scale();

	while (!has_ticket(pid)) {
		ck_assert_msg(tp_now() < deadline, "pid %d never queued", (int)pid);
		usleep(1000);
	}
}

void t_wait_follows(pid_t waiter, pid_t pred)
{
	double deadline = tp_now() + 20 * tp_scale();
	char path[240] = "";

	while (!path[0]) {
		struct gl_slot_state s[1];
		struct gl_ticket_state t[64];
		size_t ns, nt;

		ck_assert_int_eq(gl_slots_inspect(t_slots, 1, s, 1, &ns, t, 64, &nt, NULL), 0);
		for (size_t i = 0; i < nt && i < 64; i++)
			if (t[i].live && t[i].pid == pred)
				snprintf(path, sizeof path, "%s/" GL_SLOTS_TICKET_PREFIX "%llu",
				         t_slots, t[i].number);
		ck_assert_msg(path[0] || tp_now() < deadline, "pid %d holds no ticket", (int)pred);
		if (!path[0])
			usleep(1000);
	}
	t_wait_lock(path, waiter, true);
}

int t_tickets(void)
{
	struct gl_slot_state s[1];
	struct gl_ticket_state t[1];
	size_t ns, nt;

	ck_assert_int_eq(gl_slots_inspect(t_slots, 1, s, 1, &ns, t, 0, &nt, NULL), 0);
	return (int)nt;
}

const char *t_slot(unsigned k)
{
	static char path[192];

	snprintf(path, sizeof path, "%s/slot%u", t_slots, k);
	return path;
}

/* The cgroup v2 mount (its mount point and the cgroup at its root) from
 * /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS... - cgroup2 ...". */
static bool cgroup2_mount(char *point, size_t plen, char *root, size_t rlen)
{
	char *info = tp_slurp("/proc/self/mountinfo"), *line, *save = NULL;
	bool found = false;

	for (line = strtok_r(info, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char r[PATH_MAX], m[PATH_MAX];
		const char *dash = strstr(line, " - ");

		if (dash && strncmp(dash + 3, "cgroup2 ", 8) == 0 &&
		    sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) == 2) {
			snprintf(root, rlen, "%s", r);
			snprintf(point, plen, "%s", m);
			found = true;
		}
	}
	free(info);
	return found;
}

/* A cgroup, from ours up to the mount, that enables "memory" for its
 * children and that we may write: where cpu_run makes its capped cgroup. */
static bool writable_memory_cgroup(char *why, size_t len)
{
	char point[PATH_MAX], root[PATH_MAX], dir[2 * PATH_MAX], file[2 * PATH_MAX + 32];
	char *text = tp_slurp("/proc/self/cgroup"), *cg = strstr(text, "0::"), *ctl, *save;
	const char *rel;
	bool found = false;

	if (!cg || (cg != text && cg[-1] != '\n') || !cgroup2_mount(point, sizeof point, root,
	                                                            sizeof root)) {
		snprintf(why, len, "no cgroup v2 here");
		free(text);
		return false;
	}
	cg += 3;
	cg[strcspn(cg, "\n")] = '\0';
	/* Our cgroup relative to the mount's root (a cgroup namespace or a bind
	 * mount may show only a subtree), as cpu_run finds it. */
	rel = cg;
	if (strcmp(root, "/") != 0) {
		size_t rl = strlen(root);

		if (strncmp(cg, root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0')) {
			snprintf(why, len, "our cgroup %s is outside the cgroup v2 mount", cg);
			free(text);
			return false;
		}
		rel = cg + rl;
	}
	snprintf(dir, sizeof dir, "%s%s", point, strcmp(rel, "/") == 0 ? "" : rel);
	snprintf(why, len, "no cgroup v2 from %s up to %s enables \"memory\" for children that we "
	                   "may write", cg, point);
	while (!found) {
		snprintf(file, sizeof file, "%s/cgroup.subtree_control", dir);
		ctl = tp_slurp(file);
		for (char *w = strtok_r(ctl, " \n", &save); w && !found;
		     w = strtok_r(NULL, " \n", &save))
			found = strcmp(w, "memory") == 0 && access(dir, W_OK) == 0;
		free(ctl);
		if (found)
			snprintf(why, len, "cgroup v2 %s enables \"memory\" and we may write it", dir);
		if (found || strlen(dir) <= strlen(point))
			break;
		*strrchr(dir, '/') = '\0';
	}
	free(text);
	return found;
}

bool t_can_cap_memory(char *why, size_t len)
{
	const char *argv[] = {"systemd-run", "--user",  "--scope", "--quiet", "--collect",
	                      "-p",          "MemoryMax=256M", "-p", "MemorySwapMax=0",
	                      "true",        NULL};
	char cg_why[PATH_MAX * 2 + 128];

	if (t_run(argv, NULL, NULL, NULL) == 0) {
		snprintf(why, len, "systemd-run --user --scope with MemoryMax runs here");
		return true;
	}
	if (writable_memory_cgroup(cg_why, sizeof cg_why)) {
		snprintf(why, len, "%s", cg_why);
		return true;
	}
	snprintf(why, len, "systemd-run --user --scope with MemoryMax fails here, and %s", cg_why);
	return false;
}

void t_flock_hold(struct tp_proc *p, const char *path)
{
	const char *argv[] = {"flock", path, "cat", NULL};

	t_spawn(p, argv, NULL);
	t_wait_lock(path, p->pid, false);
}

void t_job_hold(struct tp_proc *p, const char *tag, const char *const cpu_run_args[],
                const char *const extra[])
{
	const char *argv[32];
	int n = 0;
	char *line;

	argv[n++] = t_cpu_run();
	for (int i = 0; cpu_run_args && cpu_run_args[i]; i++)
		argv[n++] = cpu_run_args[i];
	argv[n++] = t_job();
	argv[n++] = "run";
	argv[n++] = tag;
	argv[n++] = "hold";
	argv[n] = NULL;
	t_spawn(p, argv, extra);
	line = tp_read_line(p->out, 20);
	ck_assert_msg(line && strncmp(line, tag, strlen(tag)) == 0, "job %s did not start: '%s'", tag,
	              line ? line : "(EOF)");
	free(line);
}
