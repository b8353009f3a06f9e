/* A chaos run on a machine with several (fake) GPUs: every way of taking
 * GPUs at once, under random SIGKILL and SIGSTOP/SIGCONT, with a referee.
 *
 *   gpu_stress chaos WORKERS SECONDS BOUND
 *       WORKERS loops start jobs for SECONDS, one after another, each of a
 *       kind drawn at random:
 *         gpus1, gpus2   gpulock run --gpus 1 (2) -- gpu_stress job SEQ
 *         gpusall        gpulock run --gpus all -- gpu_stress job SEQ
 *         preload        gpu_stress job SEQ itself, preloaded, with a random
 *                        CUDA_VISIBLE_DEVICES (indices or UUIDs, some GPUs
 *                        or every one), taking its locks in cuInit
 *         gpu_run.sh     bash seed_gpu_run.sh gpu_stress job SEQ: flock -x
 *                        on GPU_LOCK_PATH, the whole machine
 *       while a chaos process sends SIGKILL and SIGSTOP/SIGCONT at random to
 *       the process groups of jobs that are waiting or running. A job that
 *       is still there BOUND seconds after it was started is a hang.
 *   gpu_stress job SEQ
 *       (run as above) record what it holds, check it, work, leave.
 *
 * Needs GPU_STRESS_UUIDS (the GPUs' UUIDs, comma-separated, in PCI order:
 * the fake GPUs the caller set up, fake_gpus.h), GPU_STRESS_GPULOCK (the
 * gpulock program), GPU_STRESS_GPU_RUN (seed_gpu_run.sh), GPU_LOCK_PATH,
 * and LD_PRELOAD with the library and LD_LIBRARY_PATH with the fake driver
 * (and fake NVML): every job inherits them. GPU_STRESS_VERBOSE=1 lets the
 * jobs' stderr through.
 *
 * GPU_STRESS_SABOTAGE breaks the run on purpose, to show that each check
 * can fail (each was tried, doc/HACKING.md):
 *   skip-lock   1 in 4 preloaded jobs with GPU_SKIP_LOCK=1, 1 in 2
 *               gpu_run.sh jobs with GPU_LOCK_HELD=1: overlaps and
 *               whole_overlaps, and fd_breaks (gpu_run.sh's job has no lock)
 *   leak-fd     1 in 20 launchers open the machine lock without
 *               close-on-exec: fd_breaks
 *   hang        1 in 50 jobs sleep for ever: late
 *   stray       1 in 50 jobs leave a child in their group, holding
 *               nothing: strays
 *   leak-lock   a job near the end leaves a child in a session of its own
 *               holding the job's locks for 15 s: leftover_locks (and late,
 *               for the jobs that wait for it)
 * The queue order was broken in gpulock itself, by skipping
 * gl_slots_wait_head in cli/gpulock_gpus.c: fifo_breaks.
 *
 * The referee. Each job writes its record in a board in a shared file:
 * when it was in (its locks held), which GPUs it held, when it left. After
 * the run, any two jobs whose GPUs meet and whose intervals meet are an
 * overlap ("gpu" when both held some GPUs, "whole" when one of them held
 * the whole machine: gpu_run.sh, --gpus all, a preloaded job that sees
 * every GPU). An interval must lie inside the time the locks were really
 * held, or the referee accuses innocent jobs:
 *   - it starts when the job, already holding, reads the clock: for the
 *     --gpus and gpu_run.sh jobs at their very start (the launcher took the
 *     locks before exec), for the preloaded ones after cuInit returned;
 *   - it ends when the job reads the clock on its way out (it releases only
 *     later, at exit; gpu_run.sh's shell holds the lock a little longer
 *     still), or, for a job killed inside, at the moment the chaos process
 *     was about to send the SIGKILL. Not when the worker reaped it: the
 *     kernel frees the locks when the process exits, before the reaper
 *     wakes, and a successor may well be in by then. The kill time is the
 *     earliest the locks can have gone, the reap time the latest: only the
 *     earliest keeps the referee from seeing an overlap that never was.
 *   - a stopped holder still holds: its interval runs on, and the others
 *     wait; stops only make the run slower.
 * A job killed before it recorded its entry held nothing the referee
 * knows of: it is left out.
 *
 * First come, first served among the --gpus requests: they arrive one at a
 * time (a worker starts one under a flock on an arrival file and lets go
 * once it is "placed": it holds its queue ticket, .ticket.N in the
 * directory of per-GPU locks, exclusive, or its job has started, or it
 * ended), so arrival numbers are the queue's order. A request holds its
 * ticket from the queue until it has its GPUs, so at the start of each
 * --gpus job, no earlier arrival that is still alive may hold a ticket.
 * (Only an exclusive lock on a ticket is a place: the waiters behind probe
 * and wait on their predecessors' tickets shared. A killed request counts
 * until it is on its way out, when the kernel drops its ticket's lock.)
 *
 * Each job also checks its fds: the lock files it inherited, before its
 * own cuInit, must be exactly those its launcher took for it (the machine
 * lock and its GPUs' files for --gpus K, the machine lock alone for
 * --gpus all and gpu_run.sh, nothing for a preloaded job); a preloaded job
 * holds, after cuInit, the machine lock and its GPUs' files (or the
 * machine lock alone when it sees every GPU). No ticket, no directory.
 *
 * At the end: no process of any job is left (the runner is their
 * subreaper: whatever outlived its parent is its child), /proc/locks shows no
 * lock (held or waited for) on the machine lock, the directory or any
 * file in it, the directory holds the GPUs' lock files and no ticket once
 * one more request has passed (it removes those killed waiters left), and
 * the runner has the fds it started with. Prints one summary line; exits
 * 1 on any violation, on a job that failed other than by our SIGKILL, or a
 * hang. */

#include "stress_shared.h"
#include "gl_proc_locks.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_GPUS 8
#define UUID_LEN 64

enum kind { K_GPUS1, K_GPUS2, K_ALL, K_PRELOAD, K_GPU_RUN, K_N };
static const char *const kind_name[K_N] = {"gpus1", "gpus2", "gpusall", "preload", "gpu_run.sh"};

struct job {
	_Atomic pid_t pid;     /* the launcher: its process group's leader */
	_Atomic int state;     /* 0 not started, 1 started (not reaped), 2 reaped */
	_Atomic int started;   /* the job itself is running (placed) */
	_Atomic int entered;   /* it recorded its entry */
	_Atomic int left;
	_Atomic int guard;     /* held to signal the group, and to mark it reaped */
	int kind;
	int fifo_seq;          /* arrival number among --gpus requests, -1 for others */
	int work_us;
	pid_t job_pid;         /* the process that records (gpu_run.sh's child) */
	unsigned held;         /* GPUs held, as a mask (every bit: the whole machine) */
	char cvd[MAX_GPUS * (UUID_LEN + 1)]; /* a preloaded job's CUDA_VISIBLE_DEVICES */
	double spawned, t_in, t_out, t_kill, t_reap; /* 0: never */
	int status, late, failed;
	_Atomic int fifo_break, fd_break;
	char note[256];        /* what the job found wrong */
};

struct board {
	int capacity, ngpus;
	double start, until;    /* the run's start, and when it stops starting jobs */
	_Atomic int leaked;     /* sabotage */
	_Atomic int next_seq, next_fifo;
	_Atomic long kills, stops, fd_settles;
	_Atomic long queued_behind; /* later arrivals queued when a --gpus job started */
	struct job job[];
};

extern char **environ;

static struct board *b;
static char self_exe[PATH_MAX], board_path[PATH_MAX + 16], arrival_path[PATH_MAX + 16];
static char lock_path[PATH_MAX], gpu_dir[PATH_MAX];
static char uuid[MAX_GPUS][UUID_LEN];
static int ngpus;
static const char *gpulock, *gpu_run, *sabotage_mode = "";

static unsigned all_gpus(void)
{
	return (1u << ngpus) - 1;
}

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

static bool sabotage(const char *what)
{
	return strcmp(sabotage_mode, what) == 0;
}

/* The settings every mode reads. */
static int settings(void)
{
	const char *list = getenv("GPU_STRESS_UUIDS"), *lock = getenv("GPU_LOCK_PATH");
	const char *dir = getenv("GPU_LOCK_DIR");
	char buf[PATH_MAX + 8];

	gpulock = getenv("GPU_STRESS_GPULOCK");
	gpu_run = getenv("GPU_STRESS_GPU_RUN");
	if (getenv("GPU_STRESS_SABOTAGE"))
		sabotage_mode = getenv("GPU_STRESS_SABOTAGE");
	if (!list || !lock || !gpulock || !gpu_run)
		return -1;
	for (const char *p = list; *p && ngpus < MAX_GPUS; ngpus++) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= UUID_LEN)
			return -1;
		memcpy(uuid[ngpus], p, n);
		uuid[ngpus][n] = '\0';
		p += n + (p[n] == ',');
	}
	snprintf(buf, sizeof buf, "%s.d", lock);
	/* Compared with what /proc/self/fd shows: resolved. The files exist
	 * once any job has run; before, the names as given. */
	if (!realpath(lock, lock_path))
		snprintf(lock_path, sizeof lock_path, "%s", lock);
	if (!realpath(dir && *dir ? dir : buf, gpu_dir))
		snprintf(gpu_dir, sizeof gpu_dir, "%.4000s", dir && *dir ? dir : buf);
	return ngpus >= 2 ? 0 : -1;
}

static int gpu_index(const char *name)
{
	for (int i = 0; i < ngpus; i++)
		if (strcmp(name, uuid[i]) == 0)
			return i;
	return -1;
}

/* CUDA_VISIBLE_DEVICES as the launchers here write it: indices or full
 * UUIDs, each GPU once. */
static unsigned parse_cvd(const char *cvd)
{
	unsigned mask = 0;

	while (cvd && *cvd) {
		char item[UUID_LEN];
		size_t n = strcspn(cvd, ",");
		int i;

		snprintf(item, sizeof item, "%.*s", (int)(n < UUID_LEN ? n : UUID_LEN - 1), cvd);
		i = item[0] >= '0' && item[0] <= '9' && !item[1] ? item[0] - '0' : gpu_index(item);
		if (i >= 0 && i < ngpus)
			mask |= 1u << i;
		cvd += n + (cvd[n] == ',');
	}
	return mask;
}

/* ---- who holds what in the directory of per-GPU locks ---- */

struct scan {
	unsigned maj, min;
	unsigned long long ino[4096];
	bool ticket[4096];
	size_t nfiles;
	unsigned long long lock_ino, dir_ino;
	unsigned lock_maj, lock_min;
	pid_t tickets[512]; /* holders of tickets (exclusive) */
	size_t ntickets;
	int any; /* entries on any of our files, held or waited for */
	char first[128];
};

static void visit(const struct gl_lock_entry *e, void *arg)
{
	struct scan *s = arg;

	if (e->maj == s->lock_maj && e->min == s->lock_min && e->ino == s->lock_ino) {
		if (!s->any++)
			snprintf(s->first, sizeof s->first, "pid %d %s the machine lock", (int)e->pid,
			         e->waiting ? "waits for" : "holds");
		return;
	}
	if (e->maj != s->maj || e->min != s->min)
		return;
	if (e->ino == s->dir_ino) {
		if (!s->any++)
			snprintf(s->first, sizeof s->first, "pid %d %s the directory", (int)e->pid,
			         e->waiting ? "waits for" : "holds");
		return;
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->ino[i] != e->ino)
			continue;
		if (!s->any++)
			snprintf(s->first, sizeof s->first, "pid %d %s %s", (int)e->pid,
			         e->waiting ? "waits for" : "holds", s->ticket[i] ? "a ticket" : "a GPU");
		if (s->ticket[i] && !e->waiting && e->exclusive && s->ntickets < 512)
			s->tickets[s->ntickets++] = e->pid;
	}
}

/* One listing of the directory and one read of /proc/locks. */
static void scan_locks(struct scan *s)
{
	DIR *d = opendir(gpu_dir);
	struct dirent *e;
	struct stat st;

	memset(s, 0, sizeof *s);
	if (stat(lock_path, &st) == 0) {
		s->lock_maj = major(st.st_dev);
		s->lock_min = minor(st.st_dev);
		s->lock_ino = st.st_ino;
	}
	if (d && fstat(dirfd(d), &st) == 0) {
		s->maj = major(st.st_dev);
		s->min = minor(st.st_dev);
		s->dir_ino = st.st_ino;
	}
	while (d && (e = readdir(d)) != NULL && s->nfiles < 4096) {
		if (e->d_name[0] == '.' && strncmp(e->d_name, ".ticket.", 8) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			s->ino[s->nfiles] = st.st_ino;
			s->ticket[s->nfiles++] = strncmp(e->d_name, ".ticket.", 8) == 0;
		}
	}
	if (d)
		closedir(d);
	gl_proc_locks_scan("/proc/locks", visit, s);
}

static bool holds_ticket(pid_t pid)
{
	static struct scan s;

	scan_locks(&s);
	for (size_t i = 0; i < s.ntickets; i++)
		if (s.tickets[i] == pid)
			return true;
	return false;
}

/* ---- the job ---- */

static void note(struct job *me, const char *fmt, const char *what)
{
	size_t used = strlen(me->note);

	if (used + 2 < sizeof me->note &&
	    snprintf(me->note + used, sizeof me->note - used, "%s%s%s", used ? "; " : "", fmt, what) < 0)
		me->note[used] = '\0';
}

/* The lock files among our fds: *machine on the machine lock, per GPU in
 * gpus[], *other on anything else in the directory (a ticket, the
 * directory itself, a file gone from it). */
static void lock_fds(int *machine, int gpus[MAX_GPUS], int *other, char *what, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	size_t dl = strlen(gpu_dir);
	struct dirent *e;

	*machine = *other = 0;
	memset(gpus, 0, MAX_GPUS * sizeof gpus[0]);
	what[0] = '\0';
	while (d && (e = readdir(d)) != NULL) {
		char link[PATH_MAX];
		ssize_t n;
		int i;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, lock_path) == 0) {
			++*machine;
		} else if (strncmp(link, gpu_dir, dl) == 0 && (link[dl] == '/' || !link[dl])) {
			i = link[dl] ? gpu_index(link + dl + 1) : -1;
			if (i >= 0) {
				gpus[i]++;
			} else {
				++*other;
				snprintf(what, len, "fd %.8s: %.200s", e->d_name, link);
			}
		}
	}
	if (d)
		closedir(d);
}

static bool fds_as_expected(bool machine, unsigned mask)
{
	int m, g[MAX_GPUS], other;
	char what[256];

	lock_fds(&m, g, &other, what, sizeof what);
	for (int i = 0; i < ngpus; i++)
		if (g[i] != (int)((mask >> i) & 1))
			return false;
	return m == (machine ? 1 : 0) && !other;
}

/* Exactly the machine lock once (machine) and the GPUs of mask once each.
 * After a wait, the preload's waiting thread closes its duplicate of the
 * fd it won a moment after cuInit may have returned (gl_wait.c: it wakes
 * the caller first): such a duplicate is given 100 ms to go. */
static void check_fds(struct job *me, bool machine, unsigned mask, const char *when)
{
	int m, g[MAX_GPUS], other;
	char what[PATH_MAX + 32], msg[PATH_MAX + 160];

	for (int tries = 0; tries < 100 && !fds_as_expected(machine, mask); tries++) {
		if (tries == 0)
			atomic_fetch_add(&b->fd_settles, 1);
		usleep(1000);
	}
	lock_fds(&m, g, &other, what, sizeof what);
	if (m != (machine ? 1 : 0)) {
		snprintf(msg, sizeof msg, "%s: %d fds on the machine lock, expected %d", when, m,
		         machine ? 1 : 0);
		note(me, msg, "");
		atomic_store(&me->fd_break, 1);
	}
	for (int i = 0; i < ngpus; i++) {
		if (g[i] != (int)((mask >> i) & 1)) {
			snprintf(msg, sizeof msg, "%s: %d fds on GPU %d's lock, expected %u", when, g[i], i,
			         (mask >> i) & 1);
			note(me, msg, "");
			atomic_store(&me->fd_break, 1);
		}
	}
	if (other) {
		snprintf(msg, sizeof msg, "%s: %d other fds in the directory (%s)", when, other, what);
		note(me, msg, "");
		atomic_store(&me->fd_break, 1);
	}
}

static int seq_of_leader(pid_t pid)
{
	for (int k = atomic_load(&b->next_seq) - 1; k >= 0; k--)
		if (atomic_load(&b->job[k].pid) == pid && atomic_load(&b->job[k].state) == 1)
			return k;
	return -1;
}

/* No earlier --gpus arrival that is still alive waits in the queue. */
static void check_fifo(struct job *me)
{
	static struct scan s;
	char msg[160];

	scan_locks(&s);
	for (size_t i = 0; i < s.ntickets; i++) {
		int k = seq_of_leader(s.tickets[i]);

		if (k >= 0 && b->job[k].fifo_seq > me->fifo_seq)
			atomic_fetch_add(&b->queued_behind, 1);
		if (k >= 0 && b->job[k].fifo_seq >= 0 && b->job[k].fifo_seq < me->fifo_seq &&
		    referee_alive(s.tickets[i])) {
			snprintf(msg, sizeof msg, "fifo: arrival %d (job %d, pid %d) still queued",
			         b->job[k].fifo_seq, k, (int)s.tickets[i]);
			note(me, msg, "");
			atomic_store(&me->fifo_break, 1);
		}
	}
}

static int cu_init(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	unsigned (*init)(unsigned) = h ? (unsigned (*)(unsigned))dlsym(h, "cuInit") : NULL;

	return init ? (int)init(0) : -1;
}

static int job(int seq)
{
	struct job *me = &b->job[seq];
	bool preload = me->kind == K_PRELOAD;
	unsigned mask;
	int r;

	me->job_pid = getpid();
	if (!preload) {
		/* The launcher holds our locks already: we are in. */
		const char *cvd = getenv("CUDA_VISIBLE_DEVICES");

		mask = me->kind == K_GPU_RUN ? all_gpus() : parse_cvd(cvd);
		me->held = mask;
		me->t_in = stress_now();
		atomic_store(&me->entered, 1);
		atomic_store(&me->started, 1);
		if (me->kind != K_GPU_RUN &&
		    (!cvd || __builtin_popcount(mask) != (me->kind == K_GPUS1   ? 1
		                                          : me->kind == K_GPUS2 ? 2
		                                                                : ngpus)))
			note(me, "not the GPUs asked for: CUDA_VISIBLE_DEVICES=", cvd ? cvd : "(unset)");
		if (me->kind != K_GPU_RUN)
			check_fifo(me);
		check_fds(me, true, mask == all_gpus() ? 0 : mask, "inherited");
		if ((r = cu_init()) != 0) /* under our launcher's locks: at once */
			note(me, "cuInit failed under the launcher's locks", "");
	} else {
		atomic_store(&me->started, 1);
		check_fds(me, false, 0, "inherited");
		r = cu_init();
		mask = parse_cvd(me->cvd);
		if (r == 0) {
			me->held = mask;
			me->t_in = stress_now();
			atomic_store(&me->entered, 1);
			if (!(sabotage("skip-lock") && seq % 4 == 0))
				check_fds(me, true, mask == all_gpus() ? 0 : mask, "after cuInit");
		} else {
			note(me, "cuInit failed", "");
		}
	}
	if (sabotage("hang") && seq % 50 == 7)
		sleep(1000);
	if (sabotage("stray") && seq % 50 == 7 && fork() == 0) {
		for (int fd = 3; fd < 1024; fd++) /* holding nothing: it delays no one */
			close(fd);
		sleep(1000); /* a process of the job's group that outlives it */
		_exit(0);
	}
	if (sabotage("leak-lock") && stress_now() > b->until - 0.5 &&
	    atomic_exchange(&b->leaked, 1) == 0 && fork() == 0) {
		setsid(); /* out of the job's group, holding its locks past the run */
		sleep(15);
		_exit(0);
	}
	usleep((useconds_t)me->work_us);
	me->t_out = stress_now();
	atomic_store(&me->left, 1);
	/* No exit handlers (LeakSanitizer's check at exit and a SIGSTOP do not
	 * mix: see stress_client.c). */
	_exit(me->note[0] ? 1 : 0);
}

/* ---- launching ---- */

/* A job's group is signalled only while its leader is not reaped, so that
 * its id cannot have gone to another process group meanwhile (pids wrap
 * around in a long run): the chaos and the reaper take turns on the guard. */
static void guard(struct job *j)
{
	int free_ = 0;

	while (!atomic_compare_exchange_weak(&j->guard, &free_, 1)) {
		free_ = 0;
		usleep(50);
	}
}

static void unguard(struct job *j)
{
	atomic_store(&j->guard, 0);
}

/* Signal the group of a job that its worker has not reaped. */
static bool signal_job(struct job *j, int sig)
{
	bool sent = false;
	pid_t pid;

	guard(j);
	pid = atomic_load(&j->pid);
	if (pid > 0 && atomic_load(&j->state) == 1) {
		if (sig == SIGKILL && j->t_kill == 0)
			j->t_kill = stress_now(); /* before it is sent: see the top */
		sent = kill(-pid, sig) == 0;
	}
	unguard(j);
	return sent;
}

static void choose(struct job *j, unsigned *seed)
{
	int dice = (int)(rand_r(seed) % 100);

	j->kind = dice < 25 ? K_GPUS1 : dice < 45 ? K_GPUS2 : dice < 53 ? K_ALL : dice < 90 ? K_PRELOAD
	                                                                                    : K_GPU_RUN;
	j->fifo_seq = -1;
	j->work_us = 2000 + (int)(rand_r(seed) % 30000);
	if (j->kind == K_PRELOAD) {
		/* Some GPUs (every one, 1 in 8), named by index or by UUID, in a
		 * random order. */
		unsigned mask = rand_r(seed) % 8 == 0 ? all_gpus() : 1 + rand_r(seed) % all_gpus();
		bool by_index = rand_r(seed) % 2;
		int order[MAX_GPUS];
		size_t at = 0;

		for (int i = 0; i < ngpus; i++)
			order[i] = i;
		for (int i = ngpus - 1; i > 0; i--) {
			int k = (int)(rand_r(seed) % (unsigned)(i + 1)), t = order[i];

			order[i] = order[k];
			order[k] = t;
		}
		j->cvd[0] = '\0';
		for (int k = 0; k < ngpus; k++) {
			int i = order[k];

			if ((mask >> i) & 1)
				at += (size_t)snprintf(j->cvd + at, sizeof j->cvd - at, "%s%s", at ? "," : "",
				                       by_index ? (char[]){(char)('0' + i), 0} : uuid[i]);
		}
	}
}

static pid_t spawn_job(int seq)
{
	struct job *j = &b->job[seq];
	char seq_arg[16];
	pid_t pid;

	snprintf(seq_arg, sizeof seq_arg, "%d", seq);
	j->spawned = stress_now();
	pid = fork();
	if (pid == 0) {
		const char *k = j->kind == K_GPUS1 ? "1" : j->kind == K_GPUS2 ? "2" : "all";
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		atomic_store(&j->pid, getpid());
		dup2(null, 0);
		dup2(null, 1);
		if (!getenv("GPU_STRESS_VERBOSE"))
			dup2(null, 2);
		if (null > 2)
			close(null);
		unsetenv("CUDA_VISIBLE_DEVICES");
		unsetenv("CUDA_DEVICE_ORDER");
		if (sabotage("leak-fd") && seq % 20 == 3)
			(void)open(lock_path, O_RDONLY); /* inherited by the job */
		switch (j->kind) {
		case K_PRELOAD:
			setenv("CUDA_VISIBLE_DEVICES", j->cvd, 1);
			if (sabotage("skip-lock") && seq % 4 == 0)
				setenv("GPU_SKIP_LOCK", "1", 1);
			execl(self_exe, "gpu_stress", "job", seq_arg, (char *)NULL);
			break;
		case K_GPU_RUN:
			if (sabotage("skip-lock") && seq % 2 == 0)
				setenv("GPU_LOCK_HELD", "1", 1); /* gpu_run.sh then takes nothing */
			execl("/bin/bash", "bash", gpu_run, self_exe, "job", seq_arg, (char *)NULL);
			break;
		default:
			execl(gpulock, "gpulock", "run", "--gpus", k, "--", self_exe, "job", seq_arg,
			      (char *)NULL);
		}
		_exit(127);
	}
	setpgid(pid, pid); /* before anyone signals the group */
	atomic_store(&j->pid, pid);
	atomic_store(&j->state, 1);
	return pid;
}

static bool ended(pid_t pid)
{
	siginfo_t si = {0};

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Until the newcomer holds its ticket, or its job started, or it ended. */
static void wait_placed(int seq, pid_t pid, double deadline)
{
	while (!atomic_load(&b->job[seq].started) && !ended(pid) && !holds_ticket(pid) &&
	       stress_now() < deadline)
		usleep(500);
}

/* For the report of a hang: what pid's threads wait in, and its flocks. */
struct stuck {
	pid_t pid;
	unsigned long long ino[MAX_GPUS + 1]; /* the GPUs' lock files, then the machine's */
};

static void stuck_lock(const struct gl_lock_entry *e, void *arg)
{
	const struct stuck *s = arg;
	const char *what = "another file";
	char name[32];

	if (e->pid != s->pid)
		return;
	for (int i = 0; i <= ngpus; i++) {
		if (e->ino == s->ino[i]) {
			snprintf(name, sizeof name, i < ngpus ? "GPU %d's lock" : "the machine lock", i);
			what = name;
		}
	}
	fprintf(stderr, "    %s %s %s\n", e->waiting ? "waits for" : "holds",
	        e->exclusive ? "exclusive" : "shared", what);
}

static void describe_stuck(pid_t pid)
{
	struct stuck s = {pid, {0}};
	char path[PATH_MAX + 80], line[256];
	struct dirent *e;
	struct stat st;
	DIR *d;

	for (int i = 0; i <= ngpus; i++) {
		if (i < ngpus)
			snprintf(path, sizeof path, "%s/%s", gpu_dir, uuid[i]);
		else
			snprintf(path, sizeof path, "%s", lock_path);
		if (stat(path, &st) == 0)
			s.ino[i] = st.st_ino;
	}
	fprintf(stderr, "  pid %d, still there after its bound:\n", (int)pid);
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d)) != NULL) {
		char state = '?';
		unsigned long flags = 0;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/wchan", (int)pid, e->d_name);
		f = fopen(path, "re");
		line[0] = '\0';
		if (f && !fgets(line, sizeof line, f))
			line[0] = '\0';
		if (f)
			fclose(f);
		stress_proc_stat(atoi(e->d_name), &state, &flags);
		fprintf(stderr, "    thread %s: state %c, in %s\n", e->d_name, state,
		        line[0] ? line : "?");
	}
	if (d)
		closedir(d);
	gl_proc_locks_scan("/proc/locks", stuck_lock, &s);
}

/* Reap a job, or kill its group when it outlives its bound. The board
 * forgets it (state 2) before its pid can be reused. */
static void finish_job(int seq, pid_t pid, double deadline)
{
	struct job *j = &b->job[seq];
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = 0;
	siginfo_t si;

	while (!ended(pid)) {
		double left = deadline - stress_now();
		struct pollfd p = {.fd = pidfd, .events = POLLIN};

		if (left <= 0) {
			j->late = 1;
			describe_stuck(pid);
			if (j->job_pid > 0 && j->job_pid != pid)
				describe_stuck(j->job_pid); /* gpu_run.sh's child: alive, ours */
			/* Its end, as for the chaos's kills: not the reaping, after
			 * which a successor may be in already (that was seen). */
			guard(j);
			if (j->t_kill == 0)
				j->t_kill = stress_now();
			unguard(j);
			kill(-pid, SIGKILL);
			kill(-pid, SIGCONT);
			break;
		}
		if (pidfd < 0 || poll(&p, 1, (int)(left * 1000) + 1) < 0)
			usleep(2000);
	}
	if (pidfd >= 0)
		close(pidfd);
	waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	j->t_reap = stress_now();
	guard(j);
	atomic_store(&j->state, 2);
	unguard(j);
	waitpid(pid, &status, 0);
	j->status = status;
	/* Anything but exit 0 fails, but our chaos's SIGKILL (of the launcher,
	 * or of gpu_run.sh's shell, which then reports its job's death). */
	j->failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
	            !(j->t_kill > 0 && ((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	                                (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL))) &&
	            !j->late;
}

static int worker(double until, double bound, unsigned seed)
{
	int arrival = open(arrival_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (arrival < 0)
		return 2;
	while (stress_now() < until) {
		int seq = atomic_fetch_add(&b->next_seq, 1);
		struct job *j;
		double deadline;
		pid_t pid;

		if (seq >= b->capacity)
			break;
		j = &b->job[seq];
		choose(j, &seed);
		if (j->kind == K_PRELOAD || j->kind == K_GPU_RUN) {
			pid = spawn_job(seq);
			deadline = j->spawned + bound;
		} else {
			flock(arrival, LOCK_EX);
			j->fifo_seq = atomic_fetch_add(&b->next_fifo, 1);
			pid = spawn_job(seq);
			deadline = j->spawned + bound;
			wait_placed(seq, pid, deadline);
			flock(arrival, LOCK_UN);
		}
		finish_job(seq, pid, deadline);
	}
	return 0;
}

/* Random signals to the groups of recent jobs the workers have not reaped
 * (their pids cannot be reused): SIGKILL 1 in 4, otherwise SIGSTOP and,
 * 1-20 ms later, SIGCONT. The time of a kill is taken before it is sent:
 * the earliest the kernel can drop the job's locks. */
static void chaos(int window)
{
	unsigned seed = (unsigned)getpid();

	for (;;) {
		int hi, k;
		struct job *j;

		usleep(3000 + rand_r(&seed) % 20000);
		hi = atomic_load(&b->next_seq);
		if (hi == 0)
			continue;
		if (hi > b->capacity)
			hi = b->capacity;
		k = hi - 1 - (int)(rand_r(&seed) % (unsigned)(hi < window ? hi : window));
		j = &b->job[k];
		if (rand_r(&seed) % 4 == 0) {
			if (signal_job(j, SIGKILL))
				atomic_fetch_add(&b->kills, 1);
		} else if (signal_job(j, SIGSTOP)) {
			usleep(1000 + rand_r(&seed) % 20000);
			signal_job(j, SIGCONT);
			atomic_fetch_add(&b->stops, 1);
		}
	}
}

/* ---- the referee ---- */

static double end_of(const struct job *j)
{
	double e = j->t_reap;

	if (atomic_load(&j->left) && j->t_out > 0)
		e = j->t_out;
	if (j->t_kill > 0 && j->t_kill < e)
		e = j->t_kill;
	return e;
}

static bool whole(const struct job *j)
{
	return j->held == all_gpus();
}

static void describe(int k)
{
	const struct job *j = &b->job[k];
	double t0 = b->start;

	fprintf(stderr,
	        "  job %d %s pid %d (job pid %d) held %#x%s%s%s in %.1f ms out %.1f kill %.1f reap %.1f "
	        "ms; status %#x%s%s\n",
	        k, kind_name[j->kind], (int)j->pid, (int)j->job_pid, j->held,
	        j->kind == K_PRELOAD ? " CUDA_VISIBLE_DEVICES=" : "", j->kind == K_PRELOAD ? j->cvd : "",
	        whole(j) ? " (whole machine)" : "", j->t_in > 0 ? (j->t_in - t0) * 1e3 : -1,
	        j->t_out > 0 ? (j->t_out - t0) * 1e3 : -1, j->t_kill > 0 ? (j->t_kill - t0) * 1e3 : -1,
	        (j->t_reap - t0) * 1e3, (unsigned)j->status, j->note[0] ? "; " : "", j->note);
}

struct event {
	double t;
	int job;
	const char *what;
};

static int by_time(const void *a, const void *b2)
{
	const struct event *x = a, *y = b2;

	return x->t < y->t ? -1 : x->t > y->t;
}

/* The events on GPUs of mask within [from, to], in order. */
static void event_log(unsigned mask, double from, double to)
{
	int n = atomic_load(&b->next_seq), m = 0;
	struct event *ev = calloc((size_t)n * 3 + 1, sizeof *ev);

	if (n > b->capacity)
		n = b->capacity;
	for (int k = 0; k < n && ev; k++) {
		const struct job *j = &b->job[k];

		if (!atomic_load(&j->entered) || !(j->held & mask))
			continue;
		if (j->t_in >= from && j->t_in <= to)
			ev[m++] = (struct event){j->t_in, k, "in"};
		if (j->t_out > 0 && j->t_out >= from && j->t_out <= to)
			ev[m++] = (struct event){j->t_out, k, "out"};
		if (j->t_kill > 0 && j->t_kill >= from && j->t_kill <= to)
			ev[m++] = (struct event){j->t_kill, k, "SIGKILL sent"};
	}
	if (!ev)
		return;
	qsort(ev, (size_t)m, sizeof *ev, by_time);
	fprintf(stderr, "  events on GPUs %#x from %.1f to %.1f ms:\n", mask, (from - b->start) * 1e3,
	        (to - b->start) * 1e3);
	for (int i = 0; i < m && i < 40; i++)
		fprintf(stderr, "    %9.3f ms job %d (%s, pid %d, GPUs %#x) %s\n",
		        (ev[i].t - b->start) * 1e3, ev[i].job, kind_name[b->job[ev[i].job].kind],
		        (int)b->job[ev[i].job].job_pid, b->job[ev[i].job].held, ev[i].what);
	free(ev);
}

struct tally {
	double longest; /* seconds from a job's start to its reaping */
	int most_in, jobs, entered, by_kind[K_N], overlaps, whole_overlaps, fifo_breaks, fd_breaks, failed,
	    late, notes;
};

/* The most jobs in at once: the run is no test if they only ever took turns. */
static int most_in(int n)
{
	struct event *ev = calloc((size_t)n * 2 + 1, sizeof *ev);
	int m = 0, in = 0, most = 0;

	for (int k = 0; k < n && ev; k++) {
		if (!atomic_load(&b->job[k].entered))
			continue;
		ev[m++] = (struct event){b->job[k].t_in, 1, "in"};
		ev[m++] = (struct event){end_of(&b->job[k]), -1, "out"};
	}
	if (!ev)
		return -1;
	qsort(ev, (size_t)m, sizeof *ev, by_time);
	for (int i = 0; i < m; i++) {
		in += ev[i].job;
		most = in > most ? in : most;
	}
	free(ev);
	return most;
}

static int by_entry(const void *p, const void *q)
{
	double x = b->job[*(const int *)p].t_in, y = b->job[*(const int *)q].t_in;

	return x < y ? -1 : x > y;
}

/* Any two jobs in at once on one GPU: in the order of their entries, each
 * against those that entered before it left (near-linear: jobs are short). */
static void overlaps(int n, struct tally *t)
{
	int *order = calloc((size_t)n + 1, sizeof *order), m = 0, shown = 0;

	for (int k = 0; k < n && order; k++)
		if (atomic_load(&b->job[k].entered))
			order[m++] = k;
	if (!order) {
		t->notes++;
		return;
	}
	qsort(order, (size_t)m, sizeof *order, by_entry);
	for (int i = 0; i < m; i++) {
		const struct job *x = &b->job[order[i]];

		for (int k = i + 1; k < m && b->job[order[k]].t_in < end_of(x); k++) {
			const struct job *y = &b->job[order[k]];
			int a = order[i] < order[k] ? order[i] : order[k];
			int c = order[i] < order[k] ? order[k] : order[i];

			if (!(x->held & y->held) || x->t_in >= end_of(y))
				continue;
			if (whole(x) || whole(y))
				t->whole_overlaps++;
			else
				t->overlaps++;
			if (shown++ < 5) {
				/* the time both were in, and a little around it */
				double from = x->t_in > y->t_in ? x->t_in : y->t_in;
				double to = end_of(x) < end_of(y) ? end_of(x) : end_of(y);

				fprintf(stderr, "gpu_stress: overlap: jobs %d and %d both held GPUs %#x%s:\n", a,
				        c, x->held & y->held,
				        whole(x) || whole(y) ? " (one held the whole machine)" : "");
				describe(a);
				describe(c);
				event_log(x->held & y->held, from - 0.02, to + 0.02);
			}
		}
	}
	free(order);
}

static void referee(int n, struct tally *t)
{
	memset(t, 0, sizeof *t);
	t->jobs = n;
	t->most_in = most_in(n);
	for (int a = 0; a < n; a++) {
		const struct job *x = &b->job[a];

		t->entered += atomic_load(&x->entered);
		t->by_kind[x->kind] += atomic_load(&x->entered);
		t->fifo_breaks += atomic_load(&x->fifo_break);
		t->fd_breaks += atomic_load(&x->fd_break);
		t->failed += x->failed;
		t->late += x->late;
		if (x->t_reap - x->spawned > t->longest)
			t->longest = x->t_reap - x->spawned;
		if (x->late || x->failed || x->note[0]) {
			t->notes++;
			if (t->notes <= 10) {
				fprintf(stderr, "gpu_stress: job %d%s%s:\n", a, x->late ? " outlived its bound" : "",
				        x->failed ? " failed" : "");
				describe(a);
			}
		}
	}
	overlaps(n, t);
}

/* ---- what is left behind ---- */

/* Our children now, but for the workers and the chaos process, which are
 * reaped: with us as the subreaper, every process of a job that outlived
 * its parent is one of them (a job's group, a process that left it with
 * setsid). Their pids cannot go to anyone else before we reap them, so they
 * alone may be signalled: never a process group by a number from the board,
 * which, pids wrapping around, may be another program's by now. */
static int children(pid_t *out, int cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL && n < cap) {
		char path[64], buf[512], *p;
		int ppid;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%.16s/stat", e->d_name);
		f = fopen(path, "re");
		if (f && fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
			out[n++] = atoi(e->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* Reap what has ended; count the children still alive, killing them when
 * kill is set (and their children after them: each comes to us in turn). */
static int strays(bool kill_them)
{
	pid_t pid[256];
	int n, first = -1;

	for (int round = 0; round < 64; round++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		n = children(pid, 256);
		if (first < 0)
			first = n;
		if (!n || !kill_them)
			break;
		for (int i = 0; i < n; i++)
			kill(pid[i], SIGKILL); /* ours, unreaped: see above */
		usleep(10000);
	}
	return first;
}

/* Until the workers are done, at most seconds, then stop the chaos. On a
 * hang the workers are killed (their jobs come to us: strays). Returns how
 * many had not finished; *failed counts those that exited non-zero. */
static int supervise(pid_t chaos_pid, const pid_t *workers, int n, double seconds, int *failed)
{
	double end = stress_now() + seconds;
	bool *done = calloc((size_t)n, sizeof *done);
	int alive = n;

	*failed = 0;
	while (alive > 0 && stress_now() < end) {
		for (int w = 0; w < n; w++) {
			int status;

			if (!done[w] && waitpid(workers[w], &status, WNOHANG) == workers[w]) {
				done[w] = true;
				alive--;
				*failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
			}
		}
		usleep(5000);
	}
	kill(chaos_pid, SIGKILL);
	waitpid(chaos_pid, NULL, 0);
	for (int w = 0; w < n; w++) {
		if (!done[w]) {
			kill(workers[w], SIGKILL);
			waitpid(workers[w], NULL, 0);
		}
	}
	free(done);
	return alive;
}

static int tickets_left(void)
{
	DIR *d = opendir(gpu_dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, ".ticket.", 8) == 0;
	if (d)
		closedir(d);
	return n;
}

static int run_chaos(int workers, double seconds, double bound)
{
	pid_t chaos_pid, *worker_pid = calloc((size_t)workers, sizeof *worker_pid);
	int fds_before = stress_fd_count(getpid()), failed_workers, alive, n, stray = 0;
	int dead_tickets, tickets_after, files_after;
	static struct scan s;
	struct tally t;
	double start = stress_now();

	b->start = start;
	b->until = start + seconds;
	/* Orphans of the jobs come to us, not to init: see children(). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 2;
	chaos_pid = fork();
	if (chaos_pid == 0) {
		chaos(2 * workers);
		_exit(0);
	}
	for (int w = 0; w < workers; w++) {
		worker_pid[w] = fork();
		if (worker_pid[w] == 0)
			_exit(worker(start + seconds, bound, (unsigned)(getpid() * 7919 + w)));
	}
	/* Each worker stops starting jobs after SECONDS and waits for the last
	 * one at most BOUND: more than that is a hang of the worker itself. */
	alive = supervise(chaos_pid, worker_pid, workers, seconds + bound + 10, &failed_workers);
	n = atomic_load(&b->next_seq);
	if (n > b->capacity)
		n = b->capacity;
	/* The kernel has dropped the locks of the processes we reaped; a
	 * process of a job killed at the very end may take a moment to die. */
	for (int tries = 0; tries < 200; tries++) {
		scan_locks(&s);
		stray = strays(false);
		if (!s.any && !stray)
			break;
		usleep(10000);
	}
	stray = strays(true);
	if (s.any)
		fprintf(stderr, "gpu_stress: a lock is left: %s\n", s.first);
	dead_tickets = tickets_left();
	{ /* one more request: it removes the tickets of killed waiters */
		pid_t pid = fork();
		int status = -1;

		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 1);
			setenv("GPU_LOCK_TIMEOUT", "10", 1); /* a lock left behind: do not hang */
			execl(gpulock, "gpulock", "run", "--gpus", "1", "--", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		if (status != 0)
			failed_workers++;
	}
	tickets_after = tickets_left();
	files_after = stress_dir_entries(gpu_dir);
	referee(n, &t);
	printf("gpu chaos: gpus=%d workers=%d seconds=%.0f bound=%.0f jobs=%d entered=%d "
	       "(gpus1=%d gpus2=%d gpusall=%d preload=%d gpu_run.sh=%d) most_in=%d "
	       "queued_behind=%ld longest=%.2fs kills=%ld stops=%ld "
	       "overlaps=%d whole_overlaps=%d fifo_breaks=%d fd_breaks=%d failed=%d late=%d "
	       "unfinished=%d strays=%d leftover_locks=%d tickets=%d->%d dir_files=%d "
	       "runner_fds=%d->%d fd_settles=%ld wall=%.1f\n",
	       ngpus, workers, seconds, bound, t.jobs, t.entered, t.by_kind[K_GPUS1],
	       t.by_kind[K_GPUS2], t.by_kind[K_ALL], t.by_kind[K_PRELOAD], t.by_kind[K_GPU_RUN],
	       t.most_in, atomic_load(&b->queued_behind), t.longest, atomic_load(&b->kills),
	       atomic_load(&b->stops), t.overlaps, t.whole_overlaps, t.fifo_breaks, t.fd_breaks,
	       t.failed, t.late, alive, stray, s.any ? 1 : 0, dead_tickets, tickets_after,
	       files_after, fds_before, stress_fd_count(getpid()), atomic_load(&b->fd_settles),
	       stress_now() - start);
	free(worker_pid);
	return t.overlaps || t.whole_overlaps || t.fifo_breaks || t.fd_breaks || t.failed || t.late ||
	       t.notes || alive || failed_workers || stray || s.any || tickets_after ||
	       files_after != ngpus || stress_fd_count(getpid()) != fds_before || t.entered == 0;
}

int main(int argc, char **argv)
{
	const char *env_board = getenv("GPU_STRESS_BOARD");

	if (settings() < 0 || readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) < 0) {
		fprintf(stderr, "usage: gpu_stress chaos WORKERS SECONDS BOUND\n(with GPU_STRESS_UUIDS, "
		                "GPU_STRESS_GPULOCK, GPU_STRESS_GPU_RUN and GPU_LOCK_PATH set)\n");
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "job") == 0) {
		b = env_board ? board_map(env_board, 0) : NULL;
		if (!b || atoi(argv[2]) < 0 || atoi(argv[2]) >= b->capacity)
			return 2;
		return job(atoi(argv[2]));
	}
	if (argc != 5 || strcmp(argv[1], "chaos") != 0) {
		fprintf(stderr, "gpu_stress: expected chaos WORKERS SECONDS BOUND\n");
		return 2;
	}
	/* The caller's GPU settings are not this run's. */
	unsetenv("CUDA_VISIBLE_DEVICES");
	unsetenv("GPU_LOCK_HELD");
	unsetenv("GPU_LOCK_TIMEOUT");
	unsetenv("GPU_SKIP_LOCK");
	unsetenv("PSRUN_SKIP_GPU_LOCK");
	unsetenv("FAKE_CUDA_TRACE"); /* a trace of thousands of jobs: not needed */
	setenv("GPU_LOCK_QUIET", "1", 1);
	snprintf(board_path, sizeof board_path, "%s.board", lock_path);
	snprintf(arrival_path, sizeof arrival_path, "%s.arrival", lock_path);
	setenv("GPU_STRESS_BOARD", board_path, 1);
	{
		int workers = atoi(argv[2]);
		double seconds = atof(argv[3]), bound = atof(argv[4]);
		/* Far more than a run can start: a job takes a few ms at least
		 * (the board's file is sparse: only records used take room). */
		int capacity = 2000 + (int)(seconds * 1000);

		if (workers < 1 || seconds <= 0 || bound <= 0)
			return 2;
		b = board_map(board_path, capacity);
		if (!b)
			return 2;
		b->capacity = capacity;
		b->ngpus = ngpus;
		return run_chaos(workers, seconds, bound);
	}
}
