/* Fault and load runs for cpu_run's slots. The jobs are this program again,
 * run by cpu_run; a board in a shared file is the referee.
 *
 *   slot_stress chaos SLOTS WORKERS ROUNDS WORK_US SECONDS
 *       WORKERS loops each run ROUNDS jobs through cpu_run -s SLOTS, one
 *       after another, while a chaos process sends SIGKILL, SIGTERM and
 *       SIGSTOP/SIGCONT at random to waiting launchers and running jobs.
 *   slot_stress burst CLIENTS
 *       a slot of one is held while CLIENTS launchers queue up behind it; on
 *       release all run, one at a time. The runner's fds and the files in
 *       the slot directory are back to their starting count afterwards.
 *   slot_stress job SEQ WORK_US
 *       (run by cpu_run) check the board, hold for WORK_US, leave.
 *
 * Arrivals are one at a time: a launcher is started under a flock on an
 * arrival file, which is let go once the newcomer has its place (it holds a
 * ticket, or its job has started) or has ended, so sequence numbers are the
 * order of arrival. A slot alone is not a place yet: a launcher that finds
 * a slot free gives it back and queues when it then sees tickets. Each job checks at its start:
 *   - at most SLOTS jobs are in, itself included (a killed job counts until
 *     it is on its way out, when the kernel frees its slot);
 *   - no earlier arrival that is still alive holds a ticket, i.e. still
 *     waits in the queue: first come, first served among the survivors.
 * Needs CPU_RUN (the launcher) and CPU_RUN_SLOT_DIR. Prints one summary
 * line; exits 1 on any violation, on a launcher that failed other than by
 * our signals, or when the run outlasts SECONDS. */

#include "stress_shared.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct job {
	_Atomic pid_t pid;
	_Atomic int state; /* 0 not started, 1 started (the runner has not reaped it), 2 reaped */
	_Atomic int in;    /* the job is in its critical section */
};

struct board {
	int slots, capacity;
	_Atomic int next_seq;
	_Atomic long entries, signals;
	_Atomic long entered; /* counts up before a job marks itself in */
	_Atomic int most_in, over, fifo_breaks;
	_Atomic int over_seq, fifo_pair[2]; /* for the report */
	struct job job[];
};

extern char **environ;

static struct board *b;
static const char *cpu_run, *slot_dir;
static char self_exe[PATH_MAX], arrival_path[PATH_MAX + 16];

static struct board *board_map(const char *path, int capacity)
{
	size_t size = sizeof(struct board) + (size_t)capacity * sizeof(struct job);
	int fd = open(path, O_RDWR | O_CLOEXEC | (capacity ? O_CREAT | O_TRUNC : 0), 0600);
	struct stat st;
	void *p;

	if (fd < 0 || (capacity && ftruncate(fd, (off_t)size) < 0) || fstat(fd, &st) < 0)
		return NULL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- who holds what in the slot directory ---- */

struct holding {
	pid_t pid;
	int ticket; /* 1: a queue ticket, 0: a slot */
};

struct snapshot {
	unsigned maj, min;
	unsigned long long ino[4096];
	int ticket[4096];
	size_t nfiles;
	struct holding *out;
	size_t n, cap;
};

static void visit(const struct gl_lock_entry *e, void *arg)
{
	struct snapshot *s = arg;

	/* Only exclusive locks are holdings: a launcher locks its own slot and
	 * ticket exclusive, and others' tickets shared only to probe them or
	 * wait on them, which is no place in the queue. */
	if (e->waiting || !e->exclusive || e->maj != s->maj || e->min != s->min || s->n >= s->cap)
		return;
	for (size_t i = 0; i < s->nfiles; i++)
		if (s->ino[i] == e->ino)
			s->out[s->n++] = (struct holding){e->pid, s->ticket[i]};
}

/* The holders of slots and tickets now: one listing, one read of
 * /proc/locks (which gpulock status does per file: too slow here). */
static size_t holdings(struct holding *out, size_t cap)
{
	static struct snapshot s;
	DIR *d = opendir(slot_dir);
	struct dirent *e;
	struct stat st;

	s.nfiles = s.n = 0;
	s.out = out;
	s.cap = cap;
	if (!d)
		return 0;
	fstat(dirfd(d), &st);
	s.maj = major(st.st_dev);
	s.min = minor(st.st_dev);
	while ((e = readdir(d)) != NULL && s.nfiles < 4096) {
		int ticket = strncmp(e->d_name, ".ticket.", 8) == 0;

		if ((ticket || strncmp(e->d_name, "slot", 4) == 0) &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			s.ino[s.nfiles] = st.st_ino;
			s.ticket[s.nfiles++] = ticket;
		}
	}
	closedir(d);
	gl_proc_locks_scan("/proc/locks", visit, &s);
	return s.n;
}

static int holds_ticket(pid_t pid)
{
	static struct holding h[4096];
	size_t n = holdings(h, 4096);

	for (size_t i = 0; i < n; i++)
		if (h[i].pid == pid && h[i].ticket)
			return 1;
	return 0;
}

/* ---- the job ---- */

static int seq_of(pid_t pid)
{
	for (int k = atomic_load(&b->next_seq) - 1; k >= 0; k--)
		if (atomic_load(&b->job[k].pid) == pid && atomic_load(&b->job[k].state) == 1)
			return k;
	return -1;
}

/* For the report of a breach: what a process is doing and which slot files
 * it has open. */
static void describe(int seq, pid_t pid)
{
	char path[64], link[PATH_MAX], slots[256] = "", *p;
	unsigned long flags = 0;
	char state = '?';
	struct dirent *e;
	DIR *d;

	stress_proc_stat(pid, &state, &flags);
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d)) != NULL) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
		size_t used = strlen(slots);

		if (n > 0 && (link[n] = '\0', (p = strrchr(link, '/')) != NULL) &&
		    strncmp(p, "/slot", 5) == 0 && strlen(p) < 16 && used + 48 < sizeof slots)
			snprintf(slots + used, sizeof slots - used, " fd %.8s:%.15s", e->d_name, p + 1);
	}
	if (d)
		closedir(d);
	fprintf(stderr, "  job %d pid %d state %c flags %#lx%s\n", seq, (int)pid, state, flags,
	        slots);
}

/* Jobs in, this one included, as one consistent count. Reading the board
 * takes time, and a job may leave after it was counted and another come in
 * before the end (a false overrun): the count stands only when no job
 * entered while it was taken. Every job counted was then in when it began. */
static int count_in(int seq)
{
	for (int tries = 0;; tries++) {
		long before = atomic_load(&b->entered);
		int in = 1;

		for (int k = 0; k < b->capacity; k++)
			if (k != seq && atomic_load(&b->job[k].in) &&
			    referee_alive(atomic_load(&b->job[k].pid)))
				in++;
		if (atomic_load(&b->entered) == before || tries == 1000)
			return in;
	}
}

static int job(int seq, int work_us)
{
	static struct holding h[4096];
	struct job *me = &b->job[seq];
	int in, most;
	size_t n;

	atomic_store(&me->pid, getpid());
	atomic_fetch_add(&b->entered, 1);
	atomic_store(&me->in, 1);
	in = count_in(seq);
	most = atomic_load(&b->most_in);
	while (in > most && !atomic_compare_exchange_weak(&b->most_in, &most, in))
		;
	if (in > b->slots) {
		atomic_fetch_add(&b->over, 1);
		atomic_store(&b->over_seq, seq);
		fprintf(stderr, "slot_stress: job %d found %d jobs in:\n", seq, in);
		for (int k = 0; k < b->capacity; k++)
			if (atomic_load(&b->job[k].in) && referee_alive(atomic_load(&b->job[k].pid)))
				describe(k, atomic_load(&b->job[k].pid));
	}
	n = holdings(h, 4096);
	for (size_t i = 0; i < n; i++) {
		int k = h[i].ticket ? seq_of(h[i].pid) : -1;

		if (k >= 0 && k < seq && referee_alive(h[i].pid)) {
			atomic_fetch_add(&b->fifo_breaks, 1);
			atomic_store(&b->fifo_pair[0], k);
			atomic_store(&b->fifo_pair[1], seq);
		}
	}
	atomic_fetch_add(&b->entries, 1);
	if (work_us)
		usleep((useconds_t)work_us);
	atomic_store(&me->in, 0);
	return 0;
}

/* ---- launching, one arrival at a time ---- */

static pid_t spawn_job(int seq, const char *work_us)
{
	char slots[16], seq_arg[16];
	pid_t pid;

	snprintf(slots, sizeof slots, "%d", b->slots);
	snprintf(seq_arg, sizeof seq_arg, "%d", seq);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		atomic_store(&b->job[seq].pid, getpid());
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
		execl(cpu_run, "cpu_run", "-q", "-s", slots, "--", self_exe, "job", seq_arg, work_us,
		      (char *)NULL);
		_exit(127);
	}
	atomic_store(&b->job[seq].pid, pid);
	atomic_store(&b->job[seq].state, 1);
	return pid;
}

static int ended(pid_t pid)
{
	siginfo_t si = {0};

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Wait until the newcomer has its place in the queue, or its job has
 * started, or it has ended. Returns 1 when it has a ticket (it queued).
 * Polls the lock state: there is no event for "took a ticket". */
static int wait_placed(int seq, pid_t pid)
{
	for (;;) {
		if (atomic_load(&b->job[seq].in) || ended(pid))
			return 0;
		if (holds_ticket(pid))
			return 1;
		usleep(200);
	}
}

/* Reap a job: it leaves the board before its pid can be reused. */
static int finish_job(int seq, pid_t pid)
{
	siginfo_t si;
	int status = 0;

	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	atomic_store(&b->job[seq].in, 0);
	atomic_store(&b->job[seq].state, 2);
	waitpid(pid, &status, 0);
	return status;
}

static int worker(int rounds, const char *work_us)
{
	int arrival = open(arrival_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), bad = 0;

	if (arrival < 0)
		return 2;
	for (int r = 0; r < rounds; r++) {
		int seq;
		pid_t pid;

		flock(arrival, LOCK_EX);
		seq = atomic_fetch_add(&b->next_seq, 1);
		pid = spawn_job(seq, work_us);
		wait_placed(seq, pid);
		flock(arrival, LOCK_UN);
		bad += stress_failed(finish_job(seq, pid));
	}
	return bad ? 1 : 0;
}

/* Random signals to recent launchers and jobs that the runner has not yet
 * reaped (their pids cannot be reused). The sleeps pace the load. */
static void chaos(int window)
{
	unsigned seed = (unsigned)getpid();

	for (;;) {
		int hi, k;
		pid_t pid;

		usleep(1000 + rand_r(&seed) % 15000);
		hi = atomic_load(&b->next_seq);
		if (hi == 0)
			continue;
		k = hi - 1 - (int)(rand_r(&seed) % (unsigned)(hi < window ? hi : window));
		pid = atomic_load(&b->job[k].pid);
		if (pid <= 0 || atomic_load(&b->job[k].state) != 1)
			continue;
		stress_random_signal(pid, &seed);
		atomic_fetch_add(&b->signals, 1);
	}
}

static void report_violations(void)
{
	if (atomic_load(&b->over))
		printf("over: job %d found more than %d jobs in\n", atomic_load(&b->over_seq), b->slots);
	if (atomic_load(&b->fifo_breaks))
		printf("fifo: job %d started while job %d, which came first, still queued\n",
		       atomic_load(&b->fifo_pair[1]), atomic_load(&b->fifo_pair[0]));
}

static int run_chaos(int workers, int rounds, const char *work_us, double seconds)
{
	pid_t chaos_pid, *worker_pid = calloc((size_t)workers, sizeof *worker_pid);
	double start = stress_now();
	int failed_workers, alive;

	chaos_pid = fork();
	if (chaos_pid == 0) {
		chaos(2 * workers);
		_exit(0);
	}
	for (int w = 0; w < workers; w++) {
		worker_pid[w] = fork();
		if (worker_pid[w] == 0)
			_exit(worker(rounds, work_us));
	}
	alive = stress_supervise(chaos_pid, worker_pid, workers, seconds, &failed_workers);
	if (alive > 0) /* the launchers and jobs of the killed workers too */
		for (int k = 0; k < atomic_load(&b->next_seq); k++)
			if (atomic_load(&b->job[k].state) == 1)
				kill(atomic_load(&b->job[k].pid), SIGKILL);
	printf("slot chaos: slots=%d workers=%d rounds=%d entries=%ld signals=%ld most_in=%d "
	       "over=%d fifo_breaks=%d failed_workers=%d unfinished=%d seconds=%.2f\n",
	       b->slots, workers, rounds, atomic_load(&b->entries), atomic_load(&b->signals),
	       atomic_load(&b->most_in), atomic_load(&b->over), atomic_load(&b->fifo_breaks),
	       failed_workers, alive, stress_now() - start);
	report_violations();
	free(worker_pid);
	return atomic_load(&b->over) || atomic_load(&b->fifo_breaks) || failed_workers || alive;
}

/* ---- the burst ---- */

/* A holder of slot 1 the old way (flock(1) on the file, as cpu_run.sh
 * does), in a child: it holds until release closes. */
static pid_t hold_slot(int *release)
{
	char path[PATH_MAX + 8], byte;
	int ready[2], rel[2];
	pid_t pid;

	snprintf(path, sizeof path, "%s/slot1", slot_dir);
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(rel, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		close(rel[1]);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
			_exit(2);
		_exit(read(rel[0], &byte, 1) < 0 ? 2 : 0);
	}
	close(ready[1]);
	close(rel[0]);
	*release = rel[1];
	if (read(ready[0], &byte, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

static void find_waiter(const struct gl_lock_entry *e, void *arg)
{
	pid_t *pid = arg;

	if (e->waiting && e->pid == *pid)
		*pid = 0;
}

/* Is pid blocked in flock(2) (on its predecessor's ticket, or on a slot)? */
static int blocked(pid_t pid)
{
	gl_proc_locks_scan("/proc/locks", find_waiter, &pid);
	return pid == 0;
}

static int run_burst(int clients)
{
	pid_t *pid = calloc((size_t)clients, sizeof *pid), warm, holder;
	int files_before, fds_before, release, status, bad = 0, queued = 0;
	int head_fds, tail_fds, inherited = stress_inheritable_fds();
	double start, drain;

	/* The directory and slot1 as any earlier run leaves them. */
	warm = fork();
	if (warm == 0) {
		execl(cpu_run, "cpu_run", "-q", "-s", "1", "--", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(warm, &status, 0);
	files_before = stress_dir_entries(slot_dir);
	fds_before = stress_fd_count(getpid());
	holder = hold_slot(&release);
	if (status != 0 || holder < 0) {
		fprintf(stderr, "slot_stress: cannot set up %s\n", slot_dir);
		return 2;
	}
	start = stress_now();
	for (int i = 0; i < clients; i++) {
		int seq = atomic_fetch_add(&b->next_seq, 1);

		pid[i] = spawn_job(seq, "0");
		queued += wait_placed(seq, pid[i]);
	}
	/* The head blocks on the slot, the last on its predecessor's ticket. */
	while (queued == clients && !(blocked(pid[0]) && blocked(pid[clients - 1])) &&
	       stress_now() - start < 300)
		usleep(2000);
	head_fds = stress_fd_count(pid[0]);
	tail_fds = stress_fd_count(pid[clients - 1]);
	start = stress_now();
	close(release);
	waitpid(holder, NULL, 0);
	for (int i = 0; i < clients; i++)
		bad += finish_job(i, pid[i]) != 0;
	drain = stress_now() - start;
	printf("slot burst: clients=%d queued=%d entries=%ld most_in=%d over=%d fifo_breaks=%d "
	       "failed=%d drain_seconds=%.2f waiter_fds=%d,%d/%d,%d runner_fds=%d->%d dir_files=%d->%d\n",
	       clients, queued, atomic_load(&b->entries), atomic_load(&b->most_in),
	       atomic_load(&b->over), atomic_load(&b->fifo_breaks), bad, drain, head_fds, tail_fds,
	       inherited + 5, inherited + 6, fds_before, stress_fd_count(getpid()), files_before, stress_dir_entries(slot_dir));
	report_violations();
	free(pid);
	/* A waiter has what it inherited, the directory, slot 1 and its ticket,
	 * and the eventfd its waiting thread wakes it through; the head a
	 * second fd on the slot for that thread, the others two on the ticket
	 * they follow (one for the thread). Nothing else. */
	if (!getenv("GL_UNDER_VALGRIND") && (head_fds != inherited + 5 || tail_fds != inherited + 6))
		bad++;
	return queued != clients || bad || atomic_load(&b->entries) != clients ||
	       atomic_load(&b->most_in) != 1 || atomic_load(&b->over) ||
	       atomic_load(&b->fifo_breaks) || stress_fd_count(getpid()) != fds_before ||
	       stress_dir_entries(slot_dir) != files_before;
}

int main(int argc, char **argv)
{
	char board_path[PATH_MAX + 16];
	const char *env_board = getenv("SLOT_STRESS_BOARD");

	cpu_run = getenv("CPU_RUN");
	slot_dir = getenv("CPU_RUN_SLOT_DIR");
	if (argc == 4 && strcmp(argv[1], "job") == 0) {
		b = env_board ? board_map(env_board, 0) : NULL;
		if (!b || !slot_dir || atoi(argv[2]) < 0 || atoi(argv[2]) >= b->capacity)
			return 2;
		/* No exit handlers: in a sanitizer build LeakSanitizer's check
		 * at exit stops the world through a ptrace helper, and a
		 * SIGSTOP of the chaos in the middle of it leaves the job
		 * spinning for ever, holding its slot. */
		_exit(job(atoi(argv[2]), atoi(argv[3])));
	}
	if (!cpu_run || !slot_dir || argc < 3 ||
	    readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) < 0) {
		fprintf(stderr, "usage: slot_stress chaos SLOTS WORKERS ROUNDS WORK_US SECONDS | "
		                "burst CLIENTS\n(with CPU_RUN and CPU_RUN_SLOT_DIR set)\n");
		return 2;
	}
	/* The caller's cpu_run settings (it may itself run under cpu_run) are
	 * not this run's: only the directory is. */
	for (char **e = environ; *e;) {
		char name[64];
		size_t len = strcspn(*e, "=");

		if (strncmp(*e, "CPU_RUN_", 8) == 0 && strncmp(*e, "CPU_RUN_SLOT_DIR=", 17) != 0 &&
		    len < sizeof name) {
			memcpy(name, *e, len);
			name[len] = '\0';
			unsetenv(name);
		} else {
			e++;
		}
	}
	snprintf(board_path, sizeof board_path, "%s.board", slot_dir);
	snprintf(arrival_path, sizeof arrival_path, "%s.arrival", slot_dir);
	setenv("SLOT_STRESS_BOARD", board_path, 1);
	if (strcmp(argv[1], "chaos") == 0 && argc == 7) {
		int workers = atoi(argv[3]), rounds = atoi(argv[4]);

		b = board_map(board_path, workers * rounds);
		if (!b)
			return 2;
		b->slots = atoi(argv[2]);
		b->capacity = workers * rounds;
		return run_chaos(workers, rounds, argv[5], atof(argv[6]));
	}
	if (strcmp(argv[1], "burst") == 0 && argc == 3) {
		b = board_map(board_path, atoi(argv[2]));
		if (!b)
			return 2;
		b->slots = 1;
		b->capacity = atoi(argv[2]);
		return run_burst(b->capacity);
	}
	fprintf(stderr, "slot_stress: unknown mode %s\n", argv[1]);
	return 2;
}
