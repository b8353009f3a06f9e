/* gpulock run --gpus K: K free GPUs for the command, chosen before it
 * starts, first come first served among every such request on the machine.
 *
 * The queue is cpu_run's (launcher/gl_slots.h): tickets in the directory of
 * per-GPU locks, each waiter blocking on its predecessor's. The head takes
 * K GPUs' locks and then the whole-machine lock shared (after a
 * whole-machine request that waits already). It never blocks on a GPU
 * while it holds another: it takes what is free without waiting, and when that is not
 * enough, lets it go and waits until any of the busy ones is freed, so it
 * cannot deadlock with a job that takes its GPUs in UUID order. The
 * command gets CUDA_VISIBLE_DEVICES with the GPUs' UUIDs, before it starts:
 * PyTorch reads it once, at start-up, and counts devices through NVML. */
#include "gpulock.h"
#include "gl_gpu_internal.h"
#include "gl_gpus.h"
#include "gl_gpu_messages.h"
#include "gl_held.h"
#include "gl_lock.h"
#include "gl_log.h"
#include "gl_lockfile.h"
#include "gl_parse.h"
#include "gl_slots.h"
#include "gl_status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct pick {
	const struct cli_settings *s;
	struct gl_gpu_list list;
	unsigned want;      /* K */
	struct gl_gpu_wait ctx;
	int machine;        /* the whole-machine lock's fd */
	int fds[GL_GPUS_MAX]; /* by list index: open lock files, -1 */
	gl_gpu_set held;
	bool whole;         /* K is every GPU: the whole-machine lock, exclusive */
	bool told;
	struct gl_held named; /* our GPU_LOCK_HELD */
};

/* K: 1 to the number of GPUs, or all. */
static int parse_count(const char *arg, unsigned n, unsigned *k)
{
	long v;

	if (strcmp(arg, "all") == 0) {
		*k = n ? n : 1;
		return 0;
	}
	if (gl_parse_long(arg, 1, GL_GPUS_MAX, &v) < 0)
		return cli_usage_error("--gpus '%s': expected a number of GPUs (1 to %u) or 'all'",
		                       arg, n ? n : 1);
	*k = (unsigned)v;
	if (*k > (n ? n : 1)) {
		if (n)
			fprintf(stderr, "gpulock: --gpus %s: this machine has %u GPU%s\n", arg, n,
			        n == 1 ? "" : "s");
		else
			fprintf(stderr, "gpulock: --gpus %s: no GPUs were found (no "
			        "/proc/driver/nvidia/gpus, no NVML): gpulock keeps one lock for the "
			        "machine, so 1 or all\n", arg);
		return EXIT_SETUP;
	}
	return 0;
}

/* A new open file description of GPU i's lock file. */
static int open_lock(const struct pick *p, unsigned i, int *fd)
{
	char path[PATH_MAX + GL_GPU_UUID_LEN + 1];

	snprintf(path, sizeof path, "%s/%s", p->s->cfg.gpu_dir, p->list.gpu[i].uuid);
	return gl_lockfile_open(path, fd);
}

static int open_gpu(struct pick *p, unsigned i)
{
	return p->fds[i] >= 0 ? 0 : open_lock(p, i, &p->fds[i]);
}

static unsigned count(gl_gpu_set set)
{
	return (unsigned)__builtin_popcountll(set);
}

static void release_all(struct pick *p)
{
	for (unsigned i = 0; i < p->list.n; i++) {
		if ((p->held >> i) & 1)
			(void)flock(p->fds[i], LOCK_UN); /* ours alone: nothing was inherited yet */
	}
	p->held = 0;
}

/* Takes what is free, in PCI order, without blocking, up to K. */
static int take_free(struct pick *p)
{
	for (unsigned i = 0; i < p->list.n && count(p->held) < p->want; i++) {
		int r;

		if (((p->held >> i) & 1) || !p->list.gpu[i].uuid[0])
			continue; /* a board without a UUID (it failed to start) has no lock file */
		if ((r = open_gpu(p, i)) < 0)
			return r;
		r = gl_flock(p->fds[i], LOCK_EX | LOCK_NB);
		if (r == 0)
			p->held |= 1ULL << i;
		else if (r != -EWOULDBLOCK)
			return r;
	}
	return 0;
}

/* "GPU 0 held by pid 12 (python a.py) for 3s", for the busy ones (four). */
static void describe_busy(struct pick *p, char *buf, size_t len)
{
	size_t at = 0;
	unsigned shown = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < p->list.n && at < len; i++) {
		char who[256];

		if (((p->held >> i) & 1) || !p->list.gpu[i].uuid[0])
			continue;
		if (shown++ == 4) {
			snprintf(buf + at, len - at, "; ...");
			return;
		}
		gl_gpu_describe_holder(p->fds[i], who, sizeof who);
		at += (size_t)snprintf(buf + at, len - at, "%sGPU %u held %s", shown > 1 ? "; " : "",
		                       i, who);
	}
}

/* Blocks until any GPU we do not hold is freed, holding none (so that
 * another job that takes its GPUs in UUID order, waiting for one of ours
 * while it holds one we want, can go on), on fresh
 * open file descriptions, so that a lock granted to the wait's threads
 * after we moved on can never be one our own fds hold (gl_wait.h). */
static int wait_any(struct pick *p)
{
	int fds[GL_GPUS_MAX], idx[GL_GPUS_MAX], n = 0, winner = -1, r = 0;

	if (!p->told && !p->s->cfg.quiet) {
		char busy[1024];

		describe_busy(p, busy, sizeof busy);
		gl_log("pid %d waiting for %u of the %u GPUs, %u free now; %s", (int)getpid(), p->want,
		       p->list.n, count(p->held), busy);
	}
	p->told = true;
	/* The busy ones only: those we held are free the moment we let go. */
	for (unsigned i = 0; i < p->list.n && r == 0; i++) {
		if (!((p->held >> i) & 1) && p->list.gpu[i].uuid[0] &&
		    (r = open_lock(p, i, &fds[n])) == 0)
			idx[n++] = (int)i;
	}
	release_all(p);
	if (r == 0)
		r = gl_wait_first(fds, n, LOCK_EX, &p->ctx.wait, &winner);
	for (int j = 0; j < n; j++) {
		if (j == winner) { /* ours now: it replaces our own fd on that GPU */
			close(p->fds[idx[j]]);
			p->fds[idx[j]] = fds[j];
			p->held |= 1ULL << idx[j];
		} else {
			close(fds[j]);
		}
	}
	return r;
}

/* As the head of the queue: K GPUs, then the machine shared. 0, 1 (held
 * for our tree already), -ETIMEDOUT or -errno. */
static int take_gpus(struct pick *p, bool *waited)
{
	int r;

	if ((r = gl_lockfile_open(p->s->cfg.lock_path, &p->machine)) < 0)
		return r;
	for (;;) {
		if ((r = take_free(p)) < 0)
			return r;
		if (count(p->held) == p->want)
			break;
		*waited = true;
		if (p->s->cfg.timeout == 0)
			return -ETIMEDOUT;
		if ((r = wait_any(p)) < 0)
			return r;
	}
	/* The machine last, as the preload takes it: waiting for GPUs, we
	 * do not keep a whole-machine request waiting. */
	return gl_gpu_machine_shared(&p->ctx, p->machine, waited);
}

/* As the head of the queue: the whole machine, exclusive. 0, 1 (held for
 * our tree already), -ETIMEDOUT or -errno. */
static int take_whole(struct pick *p, bool *waited)
{
	bool w;
	int r;

	if ((r = gl_lockfile_open(p->s->cfg.lock_path, &p->machine)) < 0)
		return r;
	r = gl_gpu_try_for_tree(&p->ctx, p->machine);
	if (r != -EWOULDBLOCK)
		return r;
	*waited = true;
	if (p->s->cfg.timeout == 0)
		return -ETIMEDOUT;
	return gl_lock_acquire(p->machine, &p->ctx.wait, gl_gpu_announce_wait, &p->ctx, &w);
}

/* The queue, then the GPUs, on one deadline. */
static int queue_and_take(struct pick *p, bool *waited)
{
	struct gl_slots q;
	unsigned ahead;
	uid_t owner;
	bool created;
	int r = gl_slots_open(&q, p->s->cfg.gpu_dir, 1, true, &owner, &created);

	if (r < 0) {
		char why[256], who[96];

		if (r == -EPERM) {
			gl_owner_text(owner, who, sizeof who);
			snprintf(why, sizeof why, "it is owned by %s, not by root or you", who);
		} else if (r == -ELOOP || r == -ENOTDIR) {
			gl_lockfile_explain(p->s->cfg.gpu_dir, r, why, sizeof why);
		} else {
			snprintf(why, sizeof why, "%s", gl_slots_strerror(r));
		}
		fprintf(stderr, "gpulock: cannot use the directory of per-GPU locks %s: %s\n",
		        p->s->cfg.gpu_dir, why);
		return -EPIPE; /* said */
	}
	if ((r = gl_slots_enqueue(&q, &ahead)) == 0 && ahead) {
		*waited = true;
		if (p->s->cfg.timeout == 0)
			r = -ETIMEDOUT;
		else if (!p->s->cfg.quiet)
			gl_log("pid %d waiting for %u GPU%s: %u request%s ahead in the queue",
			       (int)getpid(), p->want, p->want == 1 ? "" : "s", ahead,
			       ahead == 1 ? "" : "s");
		if (r == 0)
			r = gl_slots_wait_head(&q, &p->ctx.wait);
	}
	if (r == 0)
		r = p->whole ? take_whole(p, waited) : take_gpus(p, waited);
	gl_slots_close(&q); /* our ticket goes: the next request is the head */
	return r;
}

/* The command's environment: its GPUs, and the holder for its tree. */
static int hand_over(struct pick *p)
{
	char cvd[GL_GPUS_MAX * (GL_GPU_UUID_LEN + 1)] = "";
	size_t at = 0;
	struct stat st;

	for (unsigned i = 0; i < p->list.n; i++) {
		if (p->whole) { /* every GPU, named as the others are */
			at += (size_t)snprintf(cvd + at, sizeof cvd - at, "%s%s", at ? "," : "",
			                       p->list.gpu[i].uuid);
			continue;
		}
		if (!((p->held >> i) & 1))
			continue;
		at += (size_t)snprintf(cvd + at, sizeof cvd - at, "%s%s", at ? "," : "",
		                       p->list.gpu[i].uuid);
		gl_status_stamp(p->fds[i]);
		if (fcntl(p->fds[i], F_SETFD, 0) < 0)
			return -errno;
	}
	if (fcntl(p->machine, F_SETFD, 0) < 0 || fstat(p->machine, &st) < 0)
		return -errno;
	if (!p->whole)
		gl_status_stamp(p->machine);
	gl_gpu_export_held(getpid(), st.st_dev, st.st_ino);
	if (p->list.n == 0) /* one lock for a machine whose GPUs we do not know */
		return 0;
	if (setenv("CUDA_VISIBLE_DEVICES", cvd, 1) < 0 ||
	    setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID", 1) < 0)
		return -errno;
	return 0;
}

static int gave_up(const struct pick *p)
{
	char secs[32];

	const char *source = p->s->cfg.timeout_source;

	gl_log_seconds(p->s->cfg.timeout, secs, sizeof secs);
	if (p->s->cfg.timeout == 0)
		gl_log("pid %d gave up waiting for %u GPU%s at once (%s)", (int)getpid(), p->want,
		       p->want == 1 ? "" : "s", source ? source : "GPU_LOCK_TIMEOUT=0");
	else
		gl_log("pid %d gave up waiting for %u GPU%s after %ss (%s)", (int)getpid(), p->want,
		       p->want == 1 ? "" : "s", secs, source ? source : "GPU_LOCK_TIMEOUT");
	return EXIT_TIMED_OUT;
}

/* Inside a job that holds GPUs already (GPU_LOCK_HELD, and its holder
 * still holds the machine lock), or told not to lock: the command runs as
 * it is, as under --eager. */
static bool runs_as_it_is(struct pick *p)
{
	const struct gl_lock_settings *cfg = &p->s->cfg;
	bool ours, nested;
	int fd;

	if (cfg->skip_var || !cfg->held)
		return cfg->skip_var != NULL;
	ours = gl_held_parse(cfg->held, &p->named);
	if (!ours)
		return true; /* the original tools' "1", trusted as they trust it */
	p->ctx.named = &p->named;
	if (gl_lockfile_open(cfg->lock_path, &fd) < 0)
		return false;
	nested = gl_gpu_named_holds(&p->ctx, fd);
	close(fd);
	return nested;
}

static int run_gpus(struct pick *p, char **cmd)
{
	bool waited = false;
	int r;

	gl_gpu_wait_init(&p->ctx, &p->s->cfg);
	p->ctx.what = p->ctx.take_what = "the GPU lock";
	p->ctx.path = p->ctx.take_path = p->s->cfg.lock_path;
	if (runs_as_it_is(p)) {
		if (p->s->cfg.debug)
			gl_log("gpulock run --gpus: the GPU lock is held for this process tree, or "
			       "skipped: running the command as it is");
		return cli_exec(cmd);
	}
	r = queue_and_take(p, &waited);
	if (r == 1) { /* inside a job that holds the machine: it is ours */
		if (p->s->cfg.debug)
			gl_log("gpulock run --gpus: the GPU lock is held for this process tree");
		return cli_exec(cmd);
	}
	if (r == -ETIMEDOUT)
		return gave_up(p);
	if (r == -EPIPE)
		return EXIT_SETUP;
	if (r < 0 || (r = hand_over(p)) < 0) {
		fprintf(stderr, "gpulock: cannot take the GPU locks in %s: %s\n", p->s->cfg.gpu_dir,
		        gl_lockfile_strerror(r));
		return EXIT_SETUP;
	}
	if (waited && !p->s->cfg.quiet) {
		char dur[32];

		gl_log_duration(gl_wait_now() - p->ctx.wait.start, dur, sizeof dur);
		gl_log("pid %d got %u GPU%s after %s: CUDA_VISIBLE_DEVICES=%s", (int)getpid(), p->want,
		       p->want == 1 ? "" : "s", dur, getenv("CUDA_VISIBLE_DEVICES"));
	}
	return cli_exec(cmd);
}

int cli_run_gpus(const struct cli_settings *s, const char *arg, char **cmd)
{
	struct pick *p = calloc(1, sizeof *p);
	int r;

	if (!p) {
		perror("gpulock");
		return EXIT_SETUP;
	}
	p->s = s;
	p->machine = -1;
	for (unsigned i = 0; i < GL_GPUS_MAX; i++)
		p->fds[i] = -1;
	gl_gpus_find(&p->list);
	r = parse_count(arg, p->list.n, &p->want);
	if (r == 0)
		r = cli_check_command(cmd);
	if (r == 0) {
		/* Every GPU, or a machine where none were found: the
		 * whole-machine lock, exclusive, as --eager takes it. */
		p->whole = p->want >= p->list.n;
		r = run_gpus(p, cmd); /* returns only when the command did not run */
	}
	free(p);
	return r;
}
