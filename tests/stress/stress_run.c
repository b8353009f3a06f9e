/* Fault and load runs for the GPU lock. Clients are stress_client processes
 * under the preload (the caller's LD_PRELOAD); the referee in a shared file
 * counts overlaps (two holders at once).
 *
 *   stress_run chaos WORKERS ROUNDS WORK_US SECONDS
 *       WORKERS loops each run ROUNDS clients one after another, while a
 *       chaos process sends SIGKILL, SIGTERM and SIGSTOP/SIGCONT at random
 *       to holders and waiters. Fails on an overlap, on a client that
 *       failed other than by our signals, or when the run outlasts SECONDS.
 *   stress_run crash ROUNDS
 *       a holder is kill -9'd in the middle of its work while a waiter
 *       waits: the time from the kill to the waiter's exit, p50/p99/max.
 *   stress_run burst CLIENTS
 *       the runner holds the lock while CLIENTS clients queue up; it checks
 *       a waiter's fds, releases, and all must finish one at a time; its own
 *       fds and the lock directory are back as they were.
 *   stress_run tree LOCKS CALLS
 *       the runner holds the lock; a child of it asks for the lock CALLS
 *       times (timeout 0) and must find it held for its tree every time,
 *       while another child keeps LOCKS other flocks coming and going, which
 *       makes /proc/locks skip lines between its pages. unseen= counts the
 *       child's own reads of /proc/locks that missed the holder. The files
 *       of those flocks, churn.N, stay in the lock file's directory.
 * Needs GPU_LOCK_PATH and STRESS_CLIENT. Writes only in the lock file's
 * directory. Prints one summary line; a failure to set up is said on
 * stderr, with exit status 2. */

#include "stress_shared.h"
#include "gl_gpu.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *lock_path, *client;
static char work_arg[32] = "0";

static pid_t spawn_client(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
		execl(client, "stress_client", work_arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The lock's entries in /proc/locks, holders and waiters. */
static size_t lock_entries(struct gl_lock_entry *e, size_t cap, size_t *waiting)
{
	struct stat st;
	size_t total = 0;

	*waiting = 0;
	if (stat(lock_path, &st) < 0 ||
	    gl_proc_locks_find("/proc/locks", st.st_dev, st.st_ino, e, cap, &total) < 0)
		return 0;
	for (size_t i = 0; i < total && i < cap; i++)
		*waiting += e[i].waiting;
	return total < cap ? total : cap;
}

static bool is_client(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	return strncmp(comm, "stress_client", 13) == 0;
}

/* The chaos process: random signals to random holders and waiters. The
 * sleeps here pace the load; nothing is synchronised on them. */
static void chaos(_Atomic long *sent)
{
	struct gl_lock_entry e[256];
	unsigned seed = (unsigned)getpid();

	for (;;) {
		size_t waiting, n;
		pid_t pid;

		usleep(1000 + rand_r(&seed) % 15000);
		n = lock_entries(e, 256, &waiting);
		if (n == 0)
			continue;
		pid = e[rand_r(&seed) % n].pid;
		if (pid <= 0 || !is_client(pid))
			continue;
		stress_random_signal(pid, &seed);
		atomic_fetch_add(sent, 1);
	}
}

static int run_chaos(struct referee *ref, int workers, int rounds, double seconds)
{
	_Atomic long *sent = mmap(NULL, sizeof *sent, PROT_READ | PROT_WRITE,
	                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t chaos_pid, *worker = calloc(workers, sizeof *worker);
	double start = stress_now();
	int failed_workers, alive;

	chaos_pid = fork();
	if (chaos_pid == 0) {
		chaos(sent);
		_exit(0);
	}
	for (int w = 0; w < workers; w++) {
		worker[w] = fork();
		if (worker[w] == 0) {
			int bad = 0;
			for (int r = 0; r < rounds; r++) {
				int status;
				pid_t pid = spawn_client();
				waitpid(pid, &status, 0);
				bad += stress_failed(status);
			}
			_exit(bad ? 1 : 0);
		}
	}
	alive = stress_supervise(chaos_pid, worker, workers, seconds, &failed_workers);
	printf("chaos: workers=%d rounds=%d entries=%ld signals=%ld overlaps=%d failed_workers=%d "
	       "unfinished=%d seconds=%.2f\n",
	       workers, rounds, atomic_load(&ref->entries), atomic_load(sent),
	       atomic_load(&ref->overlaps), failed_workers, alive, stress_now() - start);
	if (atomic_load(&ref->overlaps))
		printf("overlap: pid %d and pid %d held the lock at once\n",
		       atomic_load(&ref->last_overlap[0]), atomic_load(&ref->last_overlap[1]));
	free(worker);
	munmap((void *)sent, sizeof *sent);
	return atomic_load(&ref->overlaps) || failed_workers || alive ? 1 : 0;
}

static int run_burst(struct referee *ref, int clients)
{
	char dir[4096];
	struct gl_lock_entry e[8];
	size_t waiting = 0;
	pid_t *pid = calloc(clients, sizeof *pid);
	int fds_before = stress_fd_count(getpid()), files_before, lock, failed = 0, waiter_fds = -1;
	/* And the lock file, its waiting thread's duplicate of it and the
	 * eventfd that thread wakes the waiter through (gl_wait.c). */
	int want_fds = stress_inheritable_fds() + 3;
	int ready[2], release[2], status;
	pid_t holder;
	char byte;
	double start, deadline;

	snprintf(dir, sizeof dir, "%s", lock_path);
	dirname(dir);
	/* The holder is a child, not an ancestor of the clients: they are its
	 * siblings and must queue (an ancestor's lock would let them through). */
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0)
		return 2;
	holder = fork();
	if (holder == 0) {
		char c;
		close(release[1]); /* or its read would never see the end */
		close(ready[0]);
		lock = open(lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
		if (lock < 0 || flock(lock, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
			_exit(2);
		_exit(read(release[0], &c, 1) < 0 ? 2 : 0);
	}
	close(ready[1]);
	close(release[0]);
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "stress_run: the holder could not lock %s\n", lock_path);
		return 2;
	}
	close(ready[0]);
	files_before = stress_dir_entries(dir);
	for (int i = 0; i < clients; i++)
		pid[i] = spawn_client();
	deadline = stress_now() + 120;
	while (waiting < (size_t)clients && stress_now() < deadline) {
		struct gl_lock_entry all[1024];
		lock_entries(all, 1024, &waiting);
		if (waiting < (size_t)clients)
			usleep(2000); /* synchronising on the lock state: all queued */
	}
	/* A read of /proc/locks can skip lines (between pages, while other
	 * locks churn): look again until a waiter shows. */
	for (int reads = 0; reads < 100 && waiter_fds < 0; reads++) {
		size_t n = lock_entries(e, 8, &waiting);

		for (size_t i = 0; i < n && waiter_fds < 0; i++)
			if (e[i].waiting)
				waiter_fds = stress_fd_count(e[i].pid);
	}
	start = stress_now();
	close(release[1]); /* release: the queue drains one at a time */
	waitpid(holder, &status, 0);
	for (int i = 0; i < clients; i++) {
		int status;
		waitpid(pid[i], &status, 0);
		failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	printf("burst: clients=%d queued=%s entries=%ld overlaps=%d failed=%d drain_seconds=%.2f "
	       "waiter_fds=%d/%d runner_fds=%d->%d dir_files=%d->%d\n",
	       clients, stress_now() <= deadline ? "all" : "NOT ALL", atomic_load(&ref->entries),
	       atomic_load(&ref->overlaps), failed, stress_now() - start, waiter_fds, want_fds, fds_before,
	       stress_fd_count(getpid()), files_before, stress_dir_entries(dir));
	free(pid);
	/* A waiter has what it inherited and the lock file: nothing else. */
	return atomic_load(&ref->overlaps) || failed || atomic_load(&ref->entries) != clients ||
	                       (waiter_fds != want_fds && !getenv("GL_UNDER_VALGRIND")) ||
	                       stress_fd_count(getpid()) != fds_before || stress_dir_entries(dir) != files_before
	               ? 1
	               : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool state_is(pid_t pid, bool waiting)
{
	struct gl_lock_entry e[8];
	size_t w, n = lock_entries(e, 8, &w);

	for (size_t i = 0; i < n; i++)
		if (e[i].pid == pid && e[i].waiting == waiting)
			return true;
	return false;
}

/* Wait until pid holds (waiting false) or waits for the lock. False, saying
 * so, when it ends first or takes over a minute. */
static bool reach_state(pid_t pid, bool waiting)
{
	double deadline = stress_now() + 60;
	siginfo_t si = {0};

	while (!state_is(pid, waiting)) {
		if (stress_now() > deadline ||
		    (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)) {
			fprintf(stderr, "stress_run: client %d never %s the lock\n", (int)pid,
			        waiting ? "waited for" : "held");
			return false;
		}
		usleep(200);
	}
	return true;
}

static int run_crash(int rounds)
{
	double *ms = calloc(rounds, sizeof *ms), t0;
	int bad = 0;

	for (int r = 0; r < rounds; r++) {
		pid_t holder, waiter;
		int status;
		snprintf(work_arg, sizeof work_arg, "30000000"); /* 30 s: it will be killed */
		holder = spawn_client();
		if (!reach_state(holder, false))
			return 2;
		snprintf(work_arg, sizeof work_arg, "0");
		waiter = spawn_client();
		if (!reach_state(waiter, true)) {
			kill(holder, SIGKILL);
			return 2;
		}
		t0 = stress_now();
		kill(holder, SIGKILL);
		waitpid(waiter, &status, 0);
		ms[r] = (stress_now() - t0) * 1e3;
		waitpid(holder, NULL, 0);
		bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	qsort(ms, rounds, sizeof *ms, cmp_double);
	printf("crash: rounds=%d failed=%d hand-off after kill -9 (ms): p50=%.2f p99=%.2f max=%.2f\n",
	       rounds, bad, ms[rounds / 2], ms[(rounds * 99) / 100], ms[rounds - 1]);
	bad += ms[rounds - 1] > 50;
	free(ms);
	return bad ? 1 : 0;
}

/* LOCKS flocks on files of dir, all dropped and all taken again, over and
 * over: the number of lines before the holder's in /proc/locks keeps
 * changing. Writes a byte on ready once they are first held; exits, saying
 * why, where it cannot. */
static void churn(const char *dir, int locks, int ready)
{
	int *fds = calloc(locks, sizeof *fds);

	for (int i = 0; i < locks; i++) {
		char path[4300];
		snprintf(path, sizeof path, "%s/churn.%d", dir, i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fds[i] < 0 || flock(fds[i], LOCK_EX) < 0) {
			fprintf(stderr, "stress_run: %s: %s\n", path, strerror(errno));
			_exit(3);
		}
	}
	if (write(ready, "r", 1) != 1)
		_exit(3);
	for (;;) {
		for (int i = 0; i < locks; i++)
			flock(fds[i], LOCK_UN);
		for (int i = 0; i < locks; i++)
			flock(fds[i], LOCK_EX);
	}
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* The child: every call must find the lock held for its tree (its parent's). */
static int ask_as_child(int calls, const struct stat *lock)
{
	struct gl_lock_settings cfg;
	int nested = 0, unseen = 0;

	unsetenv("GPU_LOCK_HELD"); /* the parent is found as an ancestor */
	gl_lock_settings_load(&cfg, env, gl_settings_warn_stderr);
	cfg.timeout = 0;
	cfg.quiet = true;
	for (int i = 0; i < calls; i++) {
		struct gl_lock_entry e[4];
		size_t total = 0;
		struct gl_gpu_hold hold = GL_GPU_HOLD_INIT;

		nested += gl_gpu_lock_take(&cfg, "tree", &hold) == GL_GPU_NESTED;
		gl_gpu_hold_close(&hold);
		free(hold.gpu_fds);
		if (gl_proc_locks_find("/proc/locks", lock->st_dev, lock->st_ino, e, 4, &total) == 0)
			unseen += total == 0;
	}
	printf("tree: calls=%d nested=%d unseen=%d\n", calls, nested, unseen);
	fflush(stdout); /* the caller _exits */
	return nested == calls ? 0 : 1;
}

static int run_tree(int locks, int calls)
{
	char path[4200], dir[4200];
	struct stat st;
	int fd, ready[2], status;
	pid_t churner, child;
	char byte;

	/* dirname may return its argument: not snprintf's output buffer. */
	snprintf(path, sizeof path, "%s", lock_path);
	snprintf(dir, sizeof dir, "%s", dirname(path));
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
		perror(lock_path);
		return 2;
	}
	churner = fork();
	if (churner == 0) {
		close(ready[0]);
		churn(dir, locks, ready[1]);
	}
	close(ready[1]); /* or the read below would not see the churner's end */
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "stress_run: the churn process failed\n");
		waitpid(churner, NULL, 0);
		return 2;
	}
	close(ready[0]);
	fflush(stdout);
	child = fork();
	if (child == 0)
		_exit(ask_as_child(calls, &st));
	waitpid(child, &status, 0);
	kill(churner, SIGKILL);
	waitpid(churner, NULL, 0);
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	char referee_path[4200];
	struct referee *ref;

	lock_path = getenv("GPU_LOCK_PATH");
	client = getenv("STRESS_CLIENT");
	if (!lock_path || !client || argc < 3) {
		fprintf(stderr, "usage: stress_run chaos WORKERS ROUNDS WORK_US SECONDS | crash ROUNDS | burst CLIENTS\n"
		                "       | tree LOCKS CALLS\n"
		                "(with GPU_LOCK_PATH and STRESS_CLIENT set)\n");
		return 2;
	}
	snprintf(referee_path, sizeof referee_path, "%s.referee", lock_path);
	ref = referee_map(referee_path, 1);
	if (!ref) {
		perror(referee_path);
		return 2;
	}
	setenv("STRESS_REFEREE", referee_path, 1);
	unsetenv("FAKE_CUDA_TRACE"); /* the referee checks; no trace file in the lock dir */
	if (strcmp(argv[1], "chaos") == 0 && argc == 6) {
		snprintf(work_arg, sizeof work_arg, "%s", argv[4]);
		return run_chaos(ref, atoi(argv[2]), atoi(argv[3]), atof(argv[5]));
	}
	if (strcmp(argv[1], "crash") == 0)
		return run_crash(atoi(argv[2]));
	if (strcmp(argv[1], "burst") == 0)
		return run_burst(ref, atoi(argv[2]));
	if (strcmp(argv[1], "tree") == 0 && argc == 4)
		return run_tree(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "stress_run: unknown mode %s\n", argv[1]);
	return 2;
}
