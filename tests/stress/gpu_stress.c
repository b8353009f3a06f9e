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
 *       With GPU_STRESS_GROUPS=1 (the group variant), 2 jobs in 5 are
 *         group          gpu_stress launch SEQ, as argv[0] torchrun or mpirun
 *                        (gpulock knows a launcher by its command line), or
 *                        with a GPU_LOCK_GROUP of its own: 2-4 preloaded
 *                        ranks (gpu_stress rank SEQ R) with the family's
 *                        rank variables and the job's CUDA_VISIBLE_DEVICES
 *                        (unset 1 in 6: the whole machine), each calling
 *                        cuInit, then meeting at a barrier, then working;
 *       and a kill is half the time of one rank (the launcher kills it, on
 *       a SIGUSR1 queued with its number). See rank() and the referee.
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
 *   skip-group  the ranks of 1 group job in 3 without rank variables or
 *               group: they take turns, and deadlock at the barrier:
 *               deadlocks
 *   share-group every group job's ranks in one GPU_LOCK_GROUP: overlaps
 *               and whole_overlaps
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
 * knows of: it is left out. In a group job each rank is a holder of the
 * job's GPUs, from after its cuInit to its exit, its kill (taken by the
 * launcher before it sends it) or its whole job's kill; holders of one
 * job may meet, of two jobs never. A rank that waits at the barrier more
 * than BOUND/2 s after it was in is a deadlock.
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

#define MAX_RANKS 4

enum kind { K_GPUS1, K_GPUS2, K_ALL, K_PRELOAD, K_GPU_RUN, K_GROUP, K_N };
static const char *const kind_name[K_N] = {"gpus1", "gpus2", "gpusall", "preload", "gpu_run.sh",
                                           "group"};

/* How a group job's ranks are told to be one: torchrun's variables,
 * mpirun's (Open MPI), or a GPU_LOCK_GROUP of the job's own. */
enum family { F_TORCH, F_OMPI, F_NAMED, F_N };
static const char *const family_name[F_N] = {"torchrun", "mpirun", "GPU_LOCK_GROUP"};

/* A rank of a group job: when it held (from after its cuInit to its exit
 * or kill) and how it went through the barrier. */
struct rank {
	_Atomic pid_t pid;
	_Atomic int entered, arrived, left, gone; /* gone: killed, or failed */
	_Atomic int barrier_late;                 /* never saw its job's ranks: deadlock */
	double t_in, t_pass, t_out, t_kill;       /* 0: never */
	_Atomic int fd_break;
	char note[160];
};

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
	int nranks, family;    /* a group job's */
	bool whole_cvd_unset;  /* a group job that sees every GPU by having no CUDA_VISIBLE_DEVICES */
	struct rank rank[MAX_RANKS];
};

struct board {
	int capacity, ngpus;
	double start, until;    /* the run's start, and when it stops starting jobs */
	_Atomic int leaked;     /* sabotage */
	_Atomic int next_seq, next_fifo;
	_Atomic long kills, stops, fd_settles;
	_Atomic long queued_behind; /* later arrivals queued when a --gpus job started */
	int groups;             /* the group variant: group jobs in the mix */
	double barrier_bound;   /* seconds a rank may wait for its job's other ranks */
	pid_t runner;
	_Atomic long rank_kills;
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

static void note_in(char *buf, size_t size, const char *fmt, const char *what)
{
	size_t used = strlen(buf);

	if (used + 2 < size &&
	    snprintf(buf + used, size - used, "%s%s%s", used ? "; " : "", fmt, what) < 0)
		buf[used] = '\0';
}

static void note(struct job *me, const char *fmt, const char *what)
{
	note_in(me->note, sizeof me->note, fmt, what);
}

/* The lock files among our fds: *machine on the machine lock, per GPU in
 * gpus[], *jobs on a group job's own file (job.* or group.*), *other on
 * anything else in the directory (a ticket, a turnstile, the directory
 * itself, a file gone from it). */
static void lock_fds(int *machine, int gpus[MAX_GPUS], int *jobs, int *other, char *what,
                     size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	size_t dl = strlen(gpu_dir);
	struct dirent *e;

	*machine = *jobs = *other = 0;
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
			} else if (link[dl] && (strncmp(link + dl + 1, "job.", 4) == 0 ||
			                        strncmp(link + dl + 1, "group.", 6) == 0) &&
			           !strstr(link + dl + 1, " (deleted)")) {
				++*jobs;
			} else {
				++*other;
				snprintf(what, len, "fd %.8s: %.200s", e->d_name, link);
			}
		}
	}
	if (d)
		closedir(d);
}

static bool fds_as_expected(bool machine, unsigned mask, int jobs)
{
	int m, g[MAX_GPUS], j, other;
	char what[256];

	lock_fds(&m, g, &j, &other, what, sizeof what);
	for (int i = 0; i < ngpus; i++)
		if (g[i] != (int)((mask >> i) & 1))
			return false;
	return m == (machine ? 1 : 0) && j == jobs && !other;
}

/* Exactly the machine lock once (machine), the GPUs of mask once each and
 * jobs job files (a rank's own job's). After a wait, the preload's waiting
 * thread closes its duplicate of the fd it won a moment after cuInit may
 * have returned (gl_wait.c: it wakes the caller first): such a duplicate
 * is given 100 ms to go. What is wrong goes to notes (of size size), and
 * sets *broken. */
static void check_fds_in(char *notes, size_t size, _Atomic int *broken, bool machine,
                         unsigned mask, int jobs, const char *when)
{
	int m, g[MAX_GPUS], j, other;
	char what[PATH_MAX + 32], msg[PATH_MAX + 160];

	for (int tries = 0; tries < 100 && !fds_as_expected(machine, mask, jobs); tries++) {
		if (tries == 0)
			atomic_fetch_add(&b->fd_settles, 1);
		usleep(1000);
	}
	lock_fds(&m, g, &j, &other, what, sizeof what);
	if (m != (machine ? 1 : 0)) {
		snprintf(msg, sizeof msg, "%s: %d fds on the machine lock, expected %d", when, m,
		         machine ? 1 : 0);
		note_in(notes, size, msg, "");
		atomic_store(broken, 1);
	}
	for (int i = 0; i < ngpus; i++) {
		if (g[i] != (int)((mask >> i) & 1)) {
			snprintf(msg, sizeof msg, "%s: %d fds on GPU %d's lock, expected %u", when, g[i], i,
			         (mask >> i) & 1);
			note_in(notes, size, msg, "");
			atomic_store(broken, 1);
		}
	}
	if (j != jobs) {
		snprintf(msg, sizeof msg, "%s: %d fds on a job's file, expected %d", when, j, jobs);
		note_in(notes, size, msg, "");
		atomic_store(broken, 1);
	}
	if (other) {
		snprintf(msg, sizeof msg, "%s: %d other fds in the directory (%s)", when, other, what);
		note_in(notes, size, msg, "");
		atomic_store(broken, 1);
	}
}

static void check_fds(struct job *me, bool machine, unsigned mask, const char *when)
{
	check_fds_in(me->note, sizeof me->note, &me->fd_break, machine, mask, 0, when);
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

/* ---- a group job: its launcher and its ranks ---- */

/* A job's stderr is /dev/null (but with GPU_STRESS_VERBOSE): what it has
 * to report goes to a file the runner shows at the end. */
static void report_to_runner(void)
{
	char path[PATH_MAX + 32];
	int fd;

	if (getenv("GPU_STRESS_VERBOSE") || !getenv("GPU_STRESS_BOARD"))
		return;
	snprintf(path, sizeof path, "%.4000s.report", getenv("GPU_STRESS_BOARD"));
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}

/* The runner: show what the jobs reported, and remove it. */
static void show_reports(void)
{
	char path[PATH_MAX + 32], buf[4096];
	size_t n, shown = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s.report", board_path);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && shown < 64 * 1024) {
		fwrite(buf, 1, n, stderr);
		shown += n;
	}
	fclose(f);
	unlink(path);
}

static void describe_stuck(pid_t pid);

struct dump {
	struct scan s;
	char name[4096][48]; /* enough for a UUID, a job file is cut */
};

static void dump_one(const struct gl_lock_entry *e, void *arg)
{
	const struct dump *d = arg;
	const char *what = NULL;
	char cmd[96] = "", path[48];
	FILE *f;

	if (e->maj == d->s.lock_maj && e->min == d->s.lock_min && e->ino == d->s.lock_ino)
		what = "the machine lock";
	else if (e->maj == d->s.maj && e->min == d->s.min && e->ino == d->s.dir_ino)
		what = "the directory";
	for (size_t i = 0; !what && e->maj == d->s.maj && e->min == d->s.min && i < d->s.nfiles; i++)
		if (d->s.ino[i] == e->ino)
			what = d->name[i];
	if (!what)
		return;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)e->pid);
	if ((f = fopen(path, "re")) != NULL) {
		size_t n = fread(cmd, 1, sizeof cmd - 1, f);

		for (size_t i = 0; i + 1 < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n] = '\0';
		fclose(f);
	}
	fprintf(stderr, "    pid %d (%s) %s %s %s\n", (int)e->pid, cmd, e->waiting ? "waits for" : "holds",
	        e->exclusive ? "exclusive" : "shared", what);
}

/* Every lock on our files, for the report of a deadlock. */
static void dump_locks(void)
{
	static struct dump d;
	DIR *dir = opendir(gpu_dir);
	struct dirent *e;
	size_t n = 0;

	scan_locks(&d.s);
	/* the names, in the scan's order (the same listing, barring a change) */
	while (dir && (e = readdir(dir)) != NULL && n < 4096) {
		if (e->d_name[0] == '.' && strncmp(e->d_name, ".ticket.", 8) != 0)
			continue;
		snprintf(d.name[n++], sizeof d.name[0], "%.46s", e->d_name);
	}
	if (dir)
		closedir(dir);
	fprintf(stderr, "  the locks now:\n");
	gl_proc_locks_scan("/proc/locks", dump_one, &d);
}

/* A rank: cuInit (its locks, shared with the job's other ranks), then the
 * barrier (every rank of the job past cuInit, or gone: the job's first
 * collective), then work. A rank that waits at the barrier longer than
 * b->barrier_bound after it was in is a deadlock: its job's other ranks
 * cannot get in beside it. */
static int rank(int seq, int r)
{
	struct job *me = &b->job[seq];
	struct rank *rk = &me->rank[r];
	bool skip = sabotage("skip-group") && seq % 3 == 0;
	double deadline;

	atomic_store(&rk->pid, getpid());
	check_fds_in(rk->note, sizeof rk->note, &rk->fd_break, false, 0, 0, "inherited");
	if (cu_init() != 0) {
		note_in(rk->note, sizeof rk->note, "cuInit failed", "");
		rk->t_out = stress_now();
		atomic_store(&rk->gone, 1);
		_exit(1);
	}
	rk->t_in = stress_now();
	atomic_store(&rk->entered, 1);
	/* the machine lock, each of the job's GPUs (every one when it sees the
	 * whole machine: a job takes them all, shared) and the job's file */
	if (!skip)
		check_fds_in(rk->note, sizeof rk->note, &rk->fd_break, true, me->held, 1,
		             "after cuInit");
	atomic_store(&rk->arrived, 1);
	deadline = rk->t_in + b->barrier_bound;
	for (;;) {
		int missing = -1;

		for (int k = 0; k < me->nranks && missing < 0; k++)
			if (!atomic_load(&me->rank[k].arrived) && !atomic_load(&me->rank[k].gone) &&
			    !atomic_load(&me->rank[k].left))
				missing = k;
		if (missing < 0)
			break;
		if (stress_now() > deadline) {
			char msg[96];

			snprintf(msg, sizeof msg, "barrier: rank %d not in after %.0f s (deadlock)", missing,
			         b->barrier_bound);
			note_in(rk->note, sizeof rk->note, msg, "");
			atomic_store(&rk->barrier_late, 1);
			report_to_runner();
			fprintf(stderr, "gpu_stress: job %d rank %d (pid %d): %s\n", seq, r, (int)getpid(),
			        msg);
			if (atomic_load(&me->rank[missing].pid) > 0)
				describe_stuck(atomic_load(&me->rank[missing].pid)); /* reads only */
			dump_locks();
			break;
		}
		usleep(1000);
	}
	rk->t_pass = stress_now();
	usleep((useconds_t)me->work_us);
	rk->t_out = stress_now();
	atomic_store(&rk->left, 1);
	_exit(rk->note[0] ? 1 : 0);
}

/* The launcher (its argv[0] torchrun or mpirun, which gpulock recognises;
 * or any name, with GPU_LOCK_GROUP): starts the ranks with the family's
 * variables, and waits for them. SIGUSR1 (blocked since before its exec,
 * queued by the chaos with a rank's number) asks it to SIGKILL that rank:
 * only the parent can signal a rank without risk of a reused pid. Exit 0
 * when every rank did, or was killed so. */
static int launcher(int seq)
{
	struct job *me = &b->job[seq];
	pid_t pid[MAX_RANKS];
	bool reaped[MAX_RANKS] = {false};
	int left = me->nranks, failed = 0;
	char group[64];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	snprintf(group, sizeof group, "chaos.%d.%d", (int)b->runner, seq);
	for (int r = 0; r < me->nranks; r++) {
		pid[r] = fork();
		if (pid[r] == 0) {
			char seq_arg[16], rank_arg[16], n_arg[16];

			sigprocmask(SIG_UNBLOCK, &set, NULL);
			snprintf(seq_arg, sizeof seq_arg, "%d", seq);
			snprintf(rank_arg, sizeof rank_arg, "%d", r);
			snprintf(n_arg, sizeof n_arg, "%d", me->nranks);
			if (me->family == F_TORCH) {
				setenv("RANK", rank_arg, 1);
				setenv("LOCAL_RANK", rank_arg, 1);
				setenv("WORLD_SIZE", n_arg, 1);
				setenv("LOCAL_WORLD_SIZE", n_arg, 1);
			} else if (me->family == F_OMPI) {
				setenv("OMPI_COMM_WORLD_RANK", rank_arg, 1);
				setenv("OMPI_COMM_WORLD_LOCAL_RANK", rank_arg, 1);
				setenv("OMPI_COMM_WORLD_SIZE", n_arg, 1);
			} else {
				setenv("GPU_LOCK_GROUP", group, 1);
			}
			if (sabotage("skip-group") && seq % 3 == 0) {
				/* single processes: they take turns, at the barrier too */
				unsetenv("RANK");
				unsetenv("LOCAL_RANK");
				unsetenv("OMPI_COMM_WORLD_RANK");
				unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
				unsetenv("GPU_LOCK_GROUP");
			}
			if (sabotage("share-group"))
				setenv("GPU_LOCK_GROUP", "chaos-shared", 1); /* every job one group */
			execl(self_exe, "gpu_stress", "rank", seq_arg, rank_arg, (char *)NULL);
			_exit(127);
		}
		if (pid[r] < 0) {
			reaped[r] = true;
			left--;
			failed++;
			atomic_store(&me->rank[r].gone, 1);
		}
	}
	while (left > 0) {
		struct timespec tick = {0, 20 * 1000 * 1000};
		siginfo_t si;
		int status;
		pid_t p;

		if (sigtimedwait(&set, &si, &tick) == SIGUSR1 && si.si_code == SI_QUEUE) {
			int r = si.si_value.sival_int;

			if (r >= 0 && r < me->nranks && !reaped[r]) { /* ours, unreaped */
				if (me->rank[r].t_kill == 0)
					me->rank[r].t_kill = stress_now(); /* before it is sent */
				atomic_store(&me->rank[r].gone, 1);
				kill(pid[r], SIGKILL);
				atomic_fetch_add(&b->rank_kills, 1);
			}
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int r = 0; r < me->nranks; r++) {
				if (pid[r] != p || reaped[r])
					continue;
				reaped[r] = true;
				left--;
				atomic_store(&me->rank[r].gone, 1);
				if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
				    !(me->rank[r].t_kill > 0 && WIFSIGNALED(status) &&
				      WTERMSIG(status) == SIGKILL)) {
					failed++;
					if (!me->rank[r].note[0])
						note_in(me->rank[r].note, sizeof me->rank[r].note,
						        "ended other than by exit 0 or our SIGKILL", "");
				}
			}
		}
	}
	return failed ? 1 : 0;
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

/* Some GPUs (every one, 1 in 8), named by index or by UUID, in a random
 * order. */
/* Ask a group job's launcher, not reaped, to SIGKILL its rank r (its
 * child: only it knows that the pid is still the rank's). */
static bool signal_rank(struct job *j, int r)
{
	bool sent = false;
	pid_t pid;

	guard(j);
	pid = atomic_load(&j->pid);
	if (pid > 0 && atomic_load(&j->state) == 1)
		sent = sigqueue(pid, SIGUSR1, (union sigval){.sival_int = r}) == 0;
	unguard(j);
	return sent;
}

static void choose_cvd(struct job *j, unsigned *seed)
{
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

static void choose(struct job *j, unsigned *seed)
{
	int dice = (int)(rand_r(seed) % 100);

	j->kind = dice < 25 ? K_GPUS1 : dice < 45 ? K_GPUS2 : dice < 53 ? K_ALL : dice < 90 ? K_PRELOAD
	                                                                                    : K_GPU_RUN;
	/* the group variant: 2 jobs in 5 are group jobs */
	if (b->groups && rand_r(seed) % 5 < 2)
		j->kind = K_GROUP;
	j->fifo_seq = -1;
	j->work_us = 2000 + (int)(rand_r(seed) % 30000);
	if (j->kind == K_PRELOAD)
		choose_cvd(j, seed);
	if (j->kind == K_GROUP) {
		/* 2-4 ranks; torchrun 2 in 5, mpirun 2 in 5, a GPU_LOCK_GROUP 1
		 * in 5; the whole machine by CUDA_VISIBLE_DEVICES unset 1 in 6 */
		unsigned f = rand_r(seed) % 5;

		j->nranks = 2 + (int)(rand_r(seed) % (MAX_RANKS - 1));
		j->family = f < 2 ? F_TORCH : f < 4 ? F_OMPI : F_NAMED;
		j->whole_cvd_unset = rand_r(seed) % 6 == 0;
		if (j->whole_cvd_unset)
			j->cvd[0] = '\0';
		else
			choose_cvd(j, seed);
		j->held = j->whole_cvd_unset ? all_gpus() : parse_cvd(j->cvd);
	}
}

static pid_t spawn_job(int seq)
{
	struct job *j = &b->job[seq];
	char seq_arg[16];
	sigset_t usr1, old;
	pid_t pid;

	snprintf(seq_arg, sizeof seq_arg, "%d", seq);
	j->spawned = stress_now();
	/* SIGUSR1: "kill a rank", for a group job's launcher, which takes it
	 * from its exec on. Blocked from the fork on: the parent publishes the
	 * pid as soon as fork returns, and a SIGUSR1 that came before the
	 * child blocked it killed the launcher (seen twice in CI). */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, j->kind == K_GROUP ? &usr1 : NULL, &old);
	pid = fork();
	if (pid != 0)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
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
		case K_GROUP:
			if (!j->whole_cvd_unset)
				setenv("CUDA_VISIBLE_DEVICES", j->cvd, 1);
			execl(self_exe,
			      j->family == F_TORCH  ? "torchrun"
			      : j->family == F_OMPI ? "mpirun"
			                            : "gpu_stress",
			      "launch", seq_arg, (char *)NULL);
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
			for (int r = 0; j->kind == K_GROUP && r < j->nranks; r++)
				if (atomic_load(&j->rank[r].pid) > 0 && !atomic_load(&j->rank[r].gone))
					describe_stuck(atomic_load(&j->rank[r].pid)); /* read only */
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
		if (j->kind == K_PRELOAD || j->kind == K_GPU_RUN || j->kind == K_GROUP) {
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
 * the earliest the kernel can drop the job's locks. A group job's kill is
 * 1 in 2 of the whole job (its process group), 1 in 2 of one rank (rank 0
 * as any other), which its launcher sends. */
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
			if (j->kind == K_GROUP && j->nranks > 0 && rand_r(&seed) % 2)
				signal_rank(j, (int)(rand_r(&seed) % (unsigned)j->nranks));
			else if (signal_job(j, SIGKILL))
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

/* A rank's end: its exit, or the kill of the rank or of its whole job,
 * whichever came first; else its launcher's reaping (which waits for the
 * ranks). */
static double rank_end(const struct job *j, const struct rank *rk)
{
	double e = j->t_reap;

	if (atomic_load(&rk->left) && rk->t_out > 0 && rk->t_out < e)
		e = rk->t_out;
	if (rk->t_kill > 0 && rk->t_kill < e)
		e = rk->t_kill;
	if (j->t_kill > 0 && j->t_kill < e)
		e = j->t_kill;
	return e;
}

static bool whole(const struct job *j)
{
	return j->held == all_gpus();
}

/* Who held GPUs, and when: each job that entered, or each rank of a group
 * job that did. Holders of one job may meet; of two, never on one GPU. */
struct holder {
	int job, rank; /* rank -1: the job is one process */
	unsigned held;
	double in, out;
};

static struct holder *holders;
static int nholders;

static void collect_holders(int n)
{
	int m = 0;

	holders = calloc((size_t)n * MAX_RANKS + 1, sizeof *holders);
	for (int k = 0; k < n && holders; k++) {
		const struct job *j = &b->job[k];

		if (j->kind != K_GROUP) {
			if (atomic_load(&j->entered))
				holders[m++] = (struct holder){k, -1, j->held, j->t_in, end_of(j)};
			continue;
		}
		for (int r = 0; r < j->nranks; r++)
			if (atomic_load(&j->rank[r].entered))
				holders[m++] = (struct holder){k, r, j->held, j->rank[r].t_in,
				                               rank_end(j, &j->rank[r])};
	}
	nholders = m;
}

static void describe(int k)
{
	const struct job *j = &b->job[k];
	double t0 = b->start;

	fprintf(stderr,
	        "  job %d %s pid %d (job pid %d) held %#x%s%s%s%s in %.1f ms out %.1f kill %.1f reap "
	        "%.1f ms; status %#x%s%s\n",
	        k, kind_name[j->kind], (int)j->pid, (int)j->job_pid, j->held,
	        j->kind == K_PRELOAD || (j->kind == K_GROUP && !j->whole_cvd_unset)
	                ? " CUDA_VISIBLE_DEVICES="
	                : "",
	        j->kind == K_PRELOAD || j->kind == K_GROUP ? j->cvd : "",
	        j->kind == K_GROUP && j->whole_cvd_unset ? " CUDA_VISIBLE_DEVICES unset" : "",
	        whole(j) ? " (whole machine)" : "", j->t_in > 0 ? (j->t_in - t0) * 1e3 : -1,
	        j->t_out > 0 ? (j->t_out - t0) * 1e3 : -1, j->t_kill > 0 ? (j->t_kill - t0) * 1e3 : -1,
	        (j->t_reap - t0) * 1e3, (unsigned)j->status, j->note[0] ? "; " : "", j->note);
	for (int r = 0; j->kind == K_GROUP && r < j->nranks; r++) {
		const struct rank *rk = &j->rank[r];

		fprintf(stderr,
		        "    rank %d/%d (%s) pid %d in %.1f ms barrier %.1f out %.1f kill %.1f ms%s%s%s\n",
		        r, j->nranks, family_name[j->family], (int)rk->pid,
		        rk->t_in > 0 ? (rk->t_in - t0) * 1e3 : -1,
		        rk->t_pass > 0 ? (rk->t_pass - t0) * 1e3 : -1,
		        rk->t_out > 0 ? (rk->t_out - t0) * 1e3 : -1,
		        rk->t_kill > 0 ? (rk->t_kill - t0) * 1e3 : -1,
		        atomic_load(&rk->gone) ? " (gone)" : "", rk->note[0] ? "; " : "", rk->note);
	}
}

struct event {
	double t;
	int job, rank;
	const char *what;
};

static int by_time(const void *a, const void *b2)
{
	const struct event *x = a, *y = b2;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void add_event(struct event *ev, int *m, double t, int job, int rank, const char *what,
                      double from, double to)
{
	if (t > 0 && t >= from && t <= to)
		ev[(*m)++] = (struct event){t, job, rank, what};
}

/* The events on GPUs of mask within [from, to], in order. */
static void event_log(unsigned mask, double from, double to)
{
	int n = atomic_load(&b->next_seq), m = 0;
	struct event *ev;

	if (n > b->capacity)
		n = b->capacity;
	ev = calloc((size_t)n * (3 + 4 * MAX_RANKS) + 1, sizeof *ev);
	for (int k = 0; k < n && ev; k++) {
		const struct job *j = &b->job[k];

		if (!(j->held & mask))
			continue;
		if (j->kind == K_GROUP) {
			add_event(ev, &m, j->spawned, k, -1, "launcher started", from, to);
			add_event(ev, &m, j->t_kill, k, -1, "SIGKILL sent to the whole job", from, to);
			add_event(ev, &m, j->t_reap, k, -1, "launcher reaped", from, to);
			for (int r = 0; r < j->nranks; r++) {
				const struct rank *rk = &j->rank[r];

				if (!atomic_load(&rk->entered))
					continue;
				add_event(ev, &m, rk->t_in, k, r, "in", from, to);
				add_event(ev, &m, rk->t_pass, k, r, "past the barrier", from, to);
				add_event(ev, &m, rk->t_out, k, r, "out", from, to);
				add_event(ev, &m, rk->t_kill, k, r, "SIGKILL sent to the rank", from, to);
			}
			continue;
		}
		if (!atomic_load(&j->entered))
			continue;
		add_event(ev, &m, j->t_in, k, -1, "in", from, to);
		add_event(ev, &m, j->t_out, k, -1, "out", from, to);
		add_event(ev, &m, j->t_kill, k, -1, "SIGKILL sent", from, to);
	}
	if (!ev)
		return;
	qsort(ev, (size_t)m, sizeof *ev, by_time);
	fprintf(stderr, "  events on GPUs %#x from %.1f to %.1f ms:\n", mask, (from - b->start) * 1e3,
	        (to - b->start) * 1e3);
	for (int i = 0; i < m && i < 60; i++) {
		const struct job *j = &b->job[ev[i].job];
		char who[32] = "";

		if (ev[i].rank >= 0)
			snprintf(who, sizeof who, " rank %d, pid %d", ev[i].rank,
			         (int)j->rank[ev[i].rank].pid);
		else
			snprintf(who, sizeof who, ", pid %d", (int)(j->kind == K_GROUP ? j->pid : j->job_pid));
		fprintf(stderr, "    %9.3f ms job %d (%s%s, GPUs %#x) %s\n", (ev[i].t - b->start) * 1e3,
		        ev[i].job, kind_name[j->kind], who, j->held, ev[i].what);
	}
	free(ev);
}

struct tally {
	double longest; /* seconds from a job's start to its reaping */
	int most_in, jobs, entered, by_kind[K_N], overlaps, whole_overlaps, fifo_breaks, fd_breaks, failed,
	    late, notes, ranks, deadlocks;
};

/* The most jobs in at once (the ranks of one job count once each): the
 * run is no test if they only ever took turns. */
static int most_in(void)
{
	struct event *ev = calloc((size_t)nholders * 2 + 1, sizeof *ev);
	int m = 0, in = 0, most = 0;

	for (int h = 0; h < nholders && ev; h++) {
		ev[m++] = (struct event){holders[h].in, 1, 0, "in"};
		ev[m++] = (struct event){holders[h].out, -1, 0, "out"};
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
	double x = ((const struct holder *)p)->in, y = ((const struct holder *)q)->in;

	return x < y ? -1 : x > y;
}

/* Any two holders of different jobs in at once on one GPU: in the order of
 * their entries, each against those that entered before it left
 * (near-linear: jobs are short). Ranks of one job may meet. */
static void overlaps(struct tally *t)
{
	int shown = 0;

	qsort(holders, (size_t)nholders, sizeof *holders, by_entry);
	for (int i = 0; i < nholders; i++) {
		const struct holder *x = &holders[i];

		for (int k = i + 1; k < nholders && holders[k].in < x->out; k++) {
			const struct holder *y = &holders[k];
			int a = x->job < y->job ? x->job : y->job, c = x->job < y->job ? y->job : x->job;
			bool w = x->held == all_gpus() || y->held == all_gpus();

			if (x->job == y->job || !(x->held & y->held) || x->in >= y->out)
				continue;
			if (w)
				t->whole_overlaps++;
			else
				t->overlaps++;
			if (shown++ < 5) {
				/* the time both were in, and a little around it */
				double from = x->in > y->in ? x->in : y->in;
				double to = x->out < y->out ? x->out : y->out;

				fprintf(stderr, "gpu_stress: overlap: jobs %d and %d both held GPUs %#x%s:\n", a,
				        c, x->held & y->held, w ? " (one held the whole machine)" : "");
				describe(a);
				describe(c);
				event_log(x->held & y->held, from - 0.02, to + 0.02);
			}
		}
	}
}

static void referee(int n, struct tally *t)
{
	memset(t, 0, sizeof *t);
	t->jobs = n;
	collect_holders(n);
	if (!holders) {
		t->notes++;
		return;
	}
	t->most_in = most_in();
	for (int a = 0; a < n; a++) {
		const struct job *x = &b->job[a];
		bool noted = x->late || x->failed || x->note[0];
		int in = atomic_load(&x->entered);

		for (int r = 0; x->kind == K_GROUP && r < x->nranks; r++) {
			const struct rank *rk = &x->rank[r];

			in |= atomic_load(&rk->entered);
			t->ranks += atomic_load(&rk->entered);
			t->deadlocks += atomic_load(&rk->barrier_late);
			t->fd_breaks += atomic_load(&rk->fd_break);
			noted |= rk->note[0] != '\0';
		}
		t->entered += in;
		t->by_kind[x->kind] += in;
		t->fifo_breaks += atomic_load(&x->fifo_break);
		t->fd_breaks += atomic_load(&x->fd_break);
		t->failed += x->failed;
		t->late += x->late;
		if (x->t_reap - x->spawned > t->longest)
			t->longest = x->t_reap - x->spawned;
		if (noted) {
			t->notes++;
			if (t->notes <= 10) {
				fprintf(stderr, "gpu_stress: job %d%s%s:\n", a, x->late ? " outlived its bound" : "",
				        x->failed ? " failed" : "");
				describe(a);
			}
		}
	}
	overlaps(t);
	free(holders);
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

/* The directory's files by kind, once the run is over: the GPUs' lock
 * files and their turnstiles (<UUID>.turn, machine.turn) stay; a job's own
 * file (job.<uid>.<launcher pid>.<start>) may stay only while its launcher
 * lives, the next job of the user removes it: after one final group job,
 * only that job's may be left (*stale counts the others); a named group's
 * (group.<uid>.<name>) stays. *other: anything else. */
static void dir_files(pid_t last_launcher, int *jobs, int *stale, int *groups, int *other)
{
	DIR *d = opendir(gpu_dir);
	char mine[64];
	struct dirent *e;

	snprintf(mine, sizeof mine, "job.%u.%d.", (unsigned)geteuid(), (int)last_launcher);
	*jobs = *stale = *groups = *other = 0;
	while (d && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		size_t n = strlen(name);
		char base[UUID_LEN + 8];

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		snprintf(base, sizeof base, "%.*s", (int)(n > 5 ? n - 5 : 0), name);
		if (strncmp(name, "job.", 4) == 0) {
			++*jobs;
			if (last_launcher <= 0 || strncmp(name, mine, strlen(mine)) != 0) {
				++*stale;
				fprintf(stderr, "gpu_stress: a job's file is left: %s\n", name);
			}
		} else if (strncmp(name, "group.", 6) == 0) {
			++*groups;
		} else if (gpu_index(name) < 0 && !(n > 5 && strcmp(name + n - 5, ".turn") == 0 &&
		                                    (gpu_index(base) >= 0 || strcmp(base, "machine") == 0))) {
			++*other;
			fprintf(stderr, "gpu_stress: an unexpected file is left: %s\n", name);
		}
	}
	if (d)
		closedir(d);
}

/* One group job, with no chaos about: its record, or -1. */
static int final_group_job(double bound)
{
	int seq = atomic_fetch_add(&b->next_seq, 1);
	struct job *j;
	pid_t pid;

	if (seq >= b->capacity)
		return -1;
	j = &b->job[seq];
	j->kind = K_GROUP;
	j->fifo_seq = -1;
	j->work_us = 2000;
	j->nranks = 2;
	j->family = F_TORCH;
	snprintf(j->cvd, sizeof j->cvd, "0");
	j->held = 1;
	pid = spawn_job(seq);
	finish_job(seq, pid, j->spawned + bound);
	return seq;
}

static int run_chaos(int workers, double seconds, double bound)
{
	pid_t chaos_pid, *worker_pid = calloc((size_t)workers, sizeof *worker_pid);
	int fds_before = stress_fd_count(getpid()), failed_workers, alive, n, stray = 0;
	int dead_tickets, tickets_after, files_after, last = -1;
	int job_files = 0, stale_jobs = 0, group_files = 0, other_files = 0;
	static struct scan s, s2;
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
	if (b->groups) {
		/* one more group job: it removes the files of the jobs whose
		 * launchers have gone; its own stays */
		last = final_group_job(bound);
		if (last < 0 || b->job[last].failed || b->job[last].late ||
		    !atomic_load(&b->job[last].rank[0].entered) ||
		    !atomic_load(&b->job[last].rank[1].entered))
			failed_workers++;
		dir_files(last >= 0 ? b->job[last].pid : 0, &job_files, &stale_jobs, &group_files,
		          &other_files);
		n = atomic_load(&b->next_seq);
		if (n > b->capacity)
			n = b->capacity;
		for (int tries = 0; tries < 200 && (scan_locks(&s2), s2.any); tries++)
			usleep(10000);
		if (s2.any)
			fprintf(stderr, "gpu_stress: a lock is left after the final group job: %s\n", s2.first);
	}
	show_reports();
	referee(n, &t);
	printf("gpu chaos: gpus=%d workers=%d seconds=%.0f bound=%.0f jobs=%d entered=%d "
	       "(gpus1=%d gpus2=%d gpusall=%d preload=%d gpu_run.sh=%d group=%d) most_in=%d "
	       "queued_behind=%ld longest=%.2fs kills=%ld stops=%ld "
	       "overlaps=%d whole_overlaps=%d fifo_breaks=%d fd_breaks=%d failed=%d late=%d "
	       "unfinished=%d strays=%d leftover_locks=%d tickets=%d->%d dir_files=%d "
	       "runner_fds=%d->%d fd_settles=%ld wall=%.1f\n",
	       ngpus, workers, seconds, bound, t.jobs, t.entered, t.by_kind[K_GPUS1],
	       t.by_kind[K_GPUS2], t.by_kind[K_ALL], t.by_kind[K_PRELOAD], t.by_kind[K_GPU_RUN],
	       t.by_kind[K_GROUP],
	       t.most_in, atomic_load(&b->queued_behind), t.longest, atomic_load(&b->kills),
	       atomic_load(&b->stops), t.overlaps, t.whole_overlaps, t.fifo_breaks, t.fd_breaks,
	       t.failed, t.late, alive, stray, s.any ? 1 : 0, dead_tickets, tickets_after,
	       files_after, fds_before, stress_fd_count(getpid()), atomic_load(&b->fd_settles),
	       stress_now() - start);
	if (b->groups)
		printf("gpu chaos groups: group_jobs=%d ranks=%d rank_kills=%ld deadlocks=%d "
		       "job_files=%d stale_job_files=%d group_files=%d other_files=%d "
		       "leftover_locks_after=%d final_job=%s\n",
		       t.by_kind[K_GROUP], t.ranks, atomic_load(&b->rank_kills), t.deadlocks, job_files,
		       stale_jobs, group_files, other_files, s2.any ? 1 : 0,
		       last >= 0 && !b->job[last].failed && !b->job[last].late ? "ok" : "failed");
	free(worker_pid);
	return t.overlaps || t.whole_overlaps || t.fifo_breaks || t.fd_breaks || t.failed || t.late ||
	       t.notes || alive || failed_workers || stray || s.any || tickets_after ||
	       (b->groups ? stale_jobs || other_files || s2.any || t.deadlocks || t.by_kind[K_GROUP] == 0
	                  : files_after != ngpus) ||
	       stress_fd_count(getpid()) != fds_before || t.entered == 0;
}

int main(int argc, char **argv)
{
	const char *env_board = getenv("GPU_STRESS_BOARD");

	if (settings() < 0 || readlink("/proc/self/exe", self_exe, sizeof self_exe - 1) < 0) {
		fprintf(stderr, "usage: gpu_stress chaos WORKERS SECONDS BOUND\n(with GPU_STRESS_UUIDS, "
		                "GPU_STRESS_GPULOCK, GPU_STRESS_GPU_RUN and GPU_LOCK_PATH set)\n");
		return 2;
	}
	if ((argc == 3 && strcmp(argv[1], "launch") == 0) ||
	    (argc == 4 && strcmp(argv[1], "rank") == 0)) {
		int seq = atoi(argv[2]);

		b = env_board ? board_map(env_board, 0) : NULL;
		if (!b || seq < 0 || seq >= b->capacity || b->job[seq].kind != K_GROUP)
			return 2;
		if (argc == 3)
			return launcher(seq);
		if (atoi(argv[3]) < 0 || atoi(argv[3]) >= b->job[seq].nranks)
			return 2;
		return rank(seq, atoi(argv[3]));
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
	unsetenv("GPU_LOCK_GROUP"); /* and the rank variables of a launcher about us */
	unsetenv("RANK");
	unsetenv("LOCAL_RANK");
	unsetenv("OMPI_COMM_WORLD_RANK");
	unsetenv("PMIX_RANK");
	unsetenv("PMI_RANK");
	unsetenv("SLURM_PROCID");
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
		b->runner = getpid();
		b->groups = getenv("GPU_STRESS_GROUPS") && strcmp(getenv("GPU_STRESS_GROUPS"), "1") == 0;
		b->barrier_bound = bound / 2;
		return run_chaos(workers, seconds, bound);
	}
}
