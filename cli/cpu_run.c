/* cpu_run: run a heavy CPU job through a machine-wide, first-come-first-served
 * queue of N slots, with its threads capped, niced, and its RAM guarded.
 *
 *   cpu_run [options] command [args...]
 *
 * A launcher in the skalibs sense: parse, wait for a slot, adjust the
 * process, exec. There is no fork: the slot's flock is held by the command
 * itself, through an fd that survives exec, so the kernel frees the slot the
 * moment the command ends, however it ends (kill -9 included).
 *
 * Compatible with the original cpu_run.sh: same variables and defaults, and
 * the same slot files, so a slot held by either launcher is busy for the
 * other. The queue, the slots and the status reader are in launcher/gl_slots*.c. */
#include "exit_codes.h"
#include "gl_log.h"
#include "gl_command.h"
#include "gl_memcap.h"
#include "gl_meminfo.h"
#include "gl_parse.h"
#include "gl_proc.h"
#include "gl_size.h"
#include "gl_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SLOTS 3
#define DEFAULT_THREADS 3
#define DEFAULT_MAXWAIT 3600.0
#define DEFAULT_NICE 15
#define MAXWAIT_MAX 31536000.0  /* a year */
#define THREADS_MAX 1024
#define MEM_POLL_SECONDS 0.25   /* memory has no event to wait on */

/* The runtimes whose thread pools size themselves to the whole machine. */
static const char *const thread_vars[] = {
	"OMP_NUM_THREADS",      "OPENBLAS_NUM_THREADS",   "MKL_NUM_THREADS",
	"NUMEXPR_NUM_THREADS",  "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
	"NUMBA_NUM_THREADS",    "GOTO_NUM_THREADS",       "RAYON_NUM_THREADS",
	"POLARS_MAX_THREADS",   "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
	"JULIA_NUM_THREADS",    "GOMAXPROCS",             NULL,
};

struct opts {
	unsigned slots;
	unsigned threads;
	bool threads_given; /* else min(DEFAULT_THREADS, the CPUs the job may use) */
	double max_wait;
	const char *dir;
	bool fail_on_timeout;
	struct gl_size mem_avail; /* 0 bytes: no guard */
	const char *mem_avail_name;  /* where it came from, for the refusal of */
	const char *mem_avail_value; /* one above MemTotal */
	struct gl_size mem_max;   /* 0 bytes: no cap */
	bool force_threads;
	bool pin;
	bool ionice;
	bool quiet;
	long nice;
	const char *meminfo; /* CPU_RUN_MEMINFO_PATH, for tests */
};

/* How --mem-max is enforced, decided before anything runs. */
enum memcap { MEMCAP_NONE, MEMCAP_CGROUP, MEMCAP_SYSTEMD };

struct run {
	struct opts o;
	char **cmd;
	char cmd_path[PATH_MAX];
	double start;
	double deadline;
	struct gl_wait wait; /* from start to deadline, with the reminders */
	struct gl_slots slots;
	bool announced;
	bool nested; /* run by a job that holds a slot: no slot of its own */
	unsigned cpus; /* in our affinity mask when we started; 0: unknown */
	enum memcap memcap;
	bool systemd_expand_flag;  /* systemd-run knows --expand-environment=no */
	unsigned long long mem_total;
	unsigned long long mem_need; /* --mem-avail in bytes, 0: none */
	unsigned long long mem_cap;  /* --mem-max in bytes, 0: none */
};

/* ---- messages ---- */

/* One line on stderr, one write(2), so lines of concurrent jobs never mix. */
static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gl_log_as_v("cpu_run", fmt, ap);
	va_end(ap);
}

/* A usage error: what is wrong, then where to read more, in one write. */
static void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	msg("%s\nTry 'cpu_run --help'.", what);
	exit(EXIT_SETUP);
}

static void __attribute__((noreturn)) die_bad(const char *name, const char *value,
                                               const char *expected)
{
	die_usage("%s='%s': expected %s", name, value, expected);
}

static void command_text(char *const *cmd, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; cmd[i] && n + 1 < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? " " : "", cmd[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* ---- settings ---- */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL; /* empty means unset, as ${VAR:-default} in the original */
}

static unsigned parse_count(const char *name, const char *value, long max, const char *what)
{
	char expected[128];
	long v;

	if (gl_parse_long(value, 1, max, &v) < 0) {
		snprintf(expected, sizeof expected, "a whole number of %s from 1 to %ld", what, max);
		die_bad(name, value, expected);
	}
	return (unsigned)v;
}

static double parse_wait(const char *name, const char *value)
{
	double v;

	if (gl_parse_duration(value, MAXWAIT_MAX, &v) < 0)
		die_bad(name, value,
		        "a duration to wait for a slot (e.g. 3600, 0.5, 1m30s, 2h, or forever), at most "
		        "a year");
	return v;
}

static void parse_size(const char *name, const char *value, struct gl_size *out)
{
	/* Below 1 MiB no job runs (or every one is admitted): "8" meant 8G. */
	if (gl_size_parse(value, out) < 0 || (!out->percent && out->bytes && out->bytes < 1 << 20))
		die_bad(name, value,
		        "a size (e.g. 4G, 512M, 1.5GiB; binary units; at least 1M) or a share of RAM "
		        "(e.g. 25%); 0 for none");
}

static bool parse_flag(const char *name, const char *value)
{
	bool b;

	if (gl_parse_bool(value, &b) < 0)
		die_bad(name, value, "1 or 0 (yes/no, true/false, on/off)");
	return b;
}

static bool parse_on_timeout(const char *name, const char *value)
{
	static const char *const words[] = {"run", "fail", NULL};
	int i = gl_parse_word(value, words);

	if (i < 0)
		die_bad(name, value, "run (start without a slot) or fail (exit 75)");
	return i == 1;
}

static long parse_nice(const char *name, const char *value)
{
	long v;

	if (gl_parse_long(value, -20, 19, &v) < 0)
		die_bad(name, value, "a niceness from -20 to 19");
	return v;
}

static const char *parse_dir(const char *name, const char *value)
{
	if (value[0] != '/')
		die_bad(name, value, "an absolute path (a relative one names another directory, "
		                     "so another semaphore, in every working directory)");
	if (strlen(value) >= PATH_MAX - 32)
		die_bad(name, value, "a shorter path");
	return value;
}

static void load_env(struct opts *o)
{
	const char *v;

	o->slots = DEFAULT_SLOTS;
	o->threads = DEFAULT_THREADS;
	o->max_wait = DEFAULT_MAXWAIT;
	o->dir = GL_SLOTS_DEFAULT_DIR;
	o->nice = DEFAULT_NICE;
	o->ionice = true;
	if ((v = env("CPU_RUN_SLOTS")))
		o->slots = parse_count("CPU_RUN_SLOTS", v, GL_SLOTS_MAX, "slots");
	if ((v = env("CPU_RUN_THREADS"))) {
		o->threads = parse_count("CPU_RUN_THREADS", v, THREADS_MAX, "threads");
		o->threads_given = true;
	}
	if ((v = env("CPU_RUN_MAXWAIT")))
		o->max_wait = parse_wait("CPU_RUN_MAXWAIT", v);
	if ((v = env("CPU_RUN_SLOT_DIR")))
		o->dir = parse_dir("CPU_RUN_SLOT_DIR", v);
	if ((v = env("CPU_RUN_ON_TIMEOUT")))
		o->fail_on_timeout = parse_on_timeout("CPU_RUN_ON_TIMEOUT", v);
	if ((v = env("CPU_RUN_MEM_AVAIL"))) {
		parse_size("CPU_RUN_MEM_AVAIL", v, &o->mem_avail);
		o->mem_avail_name = "CPU_RUN_MEM_AVAIL";
		o->mem_avail_value = v;
	}
	if ((v = env("CPU_RUN_MEM_MAX")))
		parse_size("CPU_RUN_MEM_MAX", v, &o->mem_max);
	if ((v = env("CPU_RUN_FORCE_THREADS")))
		o->force_threads = parse_flag("CPU_RUN_FORCE_THREADS", v);
	if ((v = env("CPU_RUN_PIN")))
		o->pin = parse_flag("CPU_RUN_PIN", v);
	if ((v = env("CPU_RUN_NICE")))
		o->nice = parse_nice("CPU_RUN_NICE", v);
	if ((v = env("CPU_RUN_IONICE")))
		o->ionice = parse_flag("CPU_RUN_IONICE", v);
	if ((v = env("CPU_RUN_QUIET")))
		o->quiet = parse_flag("CPU_RUN_QUIET", v);
	o->meminfo = env("CPU_RUN_MEMINFO_PATH");
	if (!o->meminfo)
		o->meminfo = GL_MEMINFO_PATH;
}

static void usage(FILE *out)
{
	fputs("Usage: cpu_run [options] command [args...]\n"
	      "\n"
	      "Run a heavy CPU job when one of N machine-wide slots is free, first come first\n"
	      "served, with its thread pools capped, at low CPU and I/O priority, and\n"
	      "optionally only when enough RAM is available. The command is exec'd: its exit\n"
	      "status is cpu_run's, and it holds its slot until it ends.\n"
	      "\n"
	      "Options (each overrides its environment variable):\n"
	      "  -s, --slots N           jobs at once, machine-wide (CPU_RUN_SLOTS, 3)\n"
	      "  -t, --threads N         thread cap for OpenMP, BLAS, numba, Rayon, Go, ...\n"
	      "                          (CPU_RUN_THREADS, 3 or the CPUs the job may use if\n"
	      "                          fewer)\n"
	      "  -w, --max-wait TIME     wait at most this long: seconds (90, 0.5), units\n"
	      "                          (1m30s, 2h), or forever; 0: do not wait\n"
	      "                          (CPU_RUN_MAXWAIT, 1h)\n"
	      "      --on-timeout=run|fail  then run without a slot, with a warning (run,\n"
	      "                          default), or exit 75 (CPU_RUN_ON_TIMEOUT)\n"
	      "  -d, --slot-dir DIR      where the slots live, an absolute path\n"
	      "                          (CPU_RUN_SLOT_DIR, " GL_SLOTS_DEFAULT_DIR ")\n"
	      "      --mem-avail SIZE|PCT  start only when MemAvailable is at least this,\n"
	      "                          e.g. 8G or 20% (CPU_RUN_MEM_AVAIL, none)\n"
	      "      --mem-max SIZE|PCT  cap the job's memory with a cgroup v2, no swap\n"
	      "                          (CPU_RUN_MEM_MAX, none)\n"
	      "      --force-threads     set the thread variables even where already set\n"
	      "      --no-force-threads  (CPU_RUN_FORCE_THREADS, 0)\n"
	      "      --pin, --no-pin     bind the job to THREADS CPUs chosen by its slot\n"
	      "                          (CPU_RUN_PIN, 0)\n"
	      "      --nice N            niceness at least N, -20..19; a nicer caller's\n"
	      "                          niceness is kept (CPU_RUN_NICE, 15)\n"
	      "      --ionice, --no-ionice  idle I/O class; without, the caller's\n"
	      "                          (CPU_RUN_IONICE, 1)\n"
	      "  -q, --quiet, --no-quiet no line when waiting and starting (CPU_RUN_QUIET, 0)\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           the version\n"
	      "\n"
	      "An empty variable means its default.\n"
	      "\n"
	      "Exit status: the command's; 125 bad usage or setup (nothing ran); 126 command\n"
	      "not executable; 127 command not found; 75 wait timed out with --on-timeout=fail.\n",
	      out);
}

enum {
	OPT_ON_TIMEOUT = 256,
	OPT_MEM_AVAIL,
	OPT_MEM_MAX,
	OPT_FORCE_THREADS,
	OPT_NO_FORCE_THREADS,
	OPT_PIN,
	OPT_NO_PIN,
	OPT_NICE,
	OPT_IONICE,
	OPT_NO_IONICE,
	OPT_NO_QUIET,
};

/* "--help=x": a switch given a value, which getopt reports as it reports an
 * unknown option. Its name, when named exactly or abbreviated as getopt
 * takes it (a prefix of one option only); else NULL. */
static const char *takes_no_value(const struct option *longopts, const char *arg)
{
	const struct option *match = NULL;
	const char *name;
	int matches = 0;
	size_t len;

	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	name = arg + 2;
	len = strcspn(name, "=");
	if (!name[len])
		return NULL;
	for (const struct option *o = longopts; o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (strlen(o->name) == len)
			return o->has_arg == no_argument ? o->name : NULL;
		match = o;
		matches++;
	}
	return matches == 1 && match->has_arg == no_argument ? match->name : NULL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"slots", required_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'},
		{"max-wait", required_argument, NULL, 'w'},
		{"slot-dir", required_argument, NULL, 'd'},
		{"on-timeout", required_argument, NULL, OPT_ON_TIMEOUT},
		{"mem-avail", required_argument, NULL, OPT_MEM_AVAIL},
		{"mem-max", required_argument, NULL, OPT_MEM_MAX},
		{"force-threads", no_argument, NULL, OPT_FORCE_THREADS},
		{"no-force-threads", no_argument, NULL, OPT_NO_FORCE_THREADS},
		{"pin", no_argument, NULL, OPT_PIN},
		{"no-pin", no_argument, NULL, OPT_NO_PIN},
		{"nice", required_argument, NULL, OPT_NICE},
		{"ionice", no_argument, NULL, OPT_IONICE},
		{"no-ionice", no_argument, NULL, OPT_NO_IONICE},
		{"quiet", no_argument, NULL, 'q'},
		{"no-quiet", no_argument, NULL, OPT_NO_QUIET},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *name, *word;
	int c;

	opterr = 0; /* our own messages, naming the option */
	/* "+": options stop at the command, whose own options are its own.
	 * word: the argument getopt looks at, for the messages (inside a
	 * cluster of short options, optind does not move). */
	while ((word = optind < argc ? argv[optind] : ""),
	       (c = getopt_long(argc, argv, "+:s:t:w:d:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->slots = parse_count("--slots", optarg, GL_SLOTS_MAX, "slots");
			break;
		case 't':
			o->threads = parse_count("--threads", optarg, THREADS_MAX, "threads");
			o->threads_given = true;
			break;
		case 'w':
			o->max_wait = parse_wait("--max-wait", optarg);
			break;
		case 'd':
			o->dir = parse_dir("--slot-dir", optarg);
			break;
		case OPT_ON_TIMEOUT:
			o->fail_on_timeout = parse_on_timeout("--on-timeout", optarg);
			break;
		case OPT_MEM_AVAIL:
			parse_size("--mem-avail", optarg, &o->mem_avail);
			o->mem_avail_name = "--mem-avail";
			o->mem_avail_value = optarg;
			break;
		case OPT_MEM_MAX:
			parse_size("--mem-max", optarg, &o->mem_max);
			break;
		case OPT_FORCE_THREADS:
		case OPT_NO_FORCE_THREADS:
			o->force_threads = c == OPT_FORCE_THREADS;
			break;
		case OPT_PIN:
		case OPT_NO_PIN:
			o->pin = c == OPT_PIN;
			break;
		case OPT_NICE:
			o->nice = parse_nice("--nice", optarg);
			break;
		case OPT_IONICE:
		case OPT_NO_IONICE:
			o->ionice = c == OPT_IONICE;
			break;
		case 'q':
		case OPT_NO_QUIET:
			o->quiet = c == 'q';
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("cpu_run (gpulock) %s\n", GL_VERSION);
			exit(0);
		case ':': /* only the last argument can lack its value; where optind
		           * points then differs between C libraries */
			if (strncmp(argv[argc - 1], "--", 2) == 0)
				die_usage("option %s needs a value", argv[argc - 1]);
			die_usage("option -%c needs a value", optopt);
		default:
			if (strncmp(word, "--", 2) != 0)
				die_usage("unknown option -%c", optopt);
			if ((name = takes_no_value(longopts, word)))
				die_usage("option --%s takes no value", name);
			die_usage("unknown option %s", word);
		}
	}
	if (optind >= argc)
		die_usage("no command given");
	return optind;
}

/* ---- the command ---- */

/* Find the command as execvp will: 0 with its path, or the exit code for
 * "not found" / "not executable", decided before anyone waits in vain. */
static int find_command(const char *name, char *out, size_t len)
{
	int e = gl_command_find(name, out, len);

	return e == 0 ? 0 : e == -ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* ---- memory ---- */

static int read_meminfo(struct run *r, unsigned long long *avail)
{
	unsigned long long total;
	int e = gl_meminfo_read(r->o.meminfo, &total, avail);

	if (e == 0)
		r->mem_total = total;
	return e;
}

/* --mem-avail above MemTotal: a typo (500T for 500G), which would wait out
 * the whole max-wait, an hour by default. */
static void __attribute__((noreturn)) refuse_mem_avail(const struct run *r)
{
	char total[32];

	gl_size_format(r->mem_total, total, sizeof total);
	die_usage("%s='%s': more than MemTotal (%s): the job could never start",
	          r->o.mem_avail_name, r->o.mem_avail_value, total);
}

/* systemd-run --user --scope puts itself (the same pid) into a new scope
 * with the limits and execs the command: the slot fd goes along. Tried once
 * with a harmless command, so a missing user manager is found out now. */
static bool systemd_probe(struct run *r, char *why, size_t whylen)
{
	char max[64];
	int pipefd[2];

	snprintf(max, sizeof max, "MemoryMax=%llu", r->mem_cap);
	for (int with_flag = 1; with_flag >= 0; with_flag--) {
		const char *argv[16];
		int n = 0, status;
		pid_t pid;
		ssize_t got;

		argv[n++] = "systemd-run";
		argv[n++] = "--user";
		argv[n++] = "--scope";
		argv[n++] = "--quiet";
		argv[n++] = "--collect";
		if (with_flag)
			argv[n++] = "--expand-environment=no"; /* systemd 254+ */
		argv[n++] = "-p";
		argv[n++] = max;
		argv[n++] = "-p";
		argv[n++] = "MemorySwapMax=0";
		argv[n++] = "true";
		argv[n] = NULL;
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return false;
		pid = fork();
		if (pid < 0) {
			close(pipefd[0]);
			close(pipefd[1]);
			return false;
		}
		if (pid == 0) {
			dup2(pipefd[1], STDERR_FILENO);
			dup2(pipefd[1], STDOUT_FILENO);
			execvp(argv[0], (char *const *)argv);
			_exit(EXIT_NOT_FOUND);
		}
		close(pipefd[1]);
		got = read(pipefd[0], why, whylen - 1);
		close(pipefd[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			r->systemd_expand_flag = with_flag;
			return true;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NOT_FOUND) {
			snprintf(why, whylen, "systemd-run is not installed");
			return false;
		}
		why[got > 0 ? got : 0] = '\0';
		why[strcspn(why, "\n")] = '\0';
	}
	return false;
}

/* --mem-max: settled before anyone waits, so that a job that cannot be
 * capped fails now. Where systemd manages the cgroups, ask it (a foreign
 * cgroup in its tree is not ours to make); elsewhere take a delegated or
 * root-writable cgroup ourselves. Never RLIMIT_AS. Not inlined, and called
 * only with a cap: its frame would cost launches without one page faults. */
static void __attribute__((noinline)) setup_mem_max(struct run *r)
{
	char path[PATH_MAX], why_cg[512] = "", why_sd[512] = "", size[32];
	bool systemd;
	systemd = access("/run/systemd/system", F_OK) == 0;
	if (systemd && systemd_probe(r, why_sd, sizeof why_sd)) {
		r->memcap = MEMCAP_SYSTEMD;
		return;
	}
	if (gl_memcap_enter(r->mem_cap, path, sizeof path, why_cg, sizeof why_cg) == 0) {
		r->memcap = MEMCAP_CGROUP;
		return;
	}
	if (!systemd && systemd_probe(r, why_sd, sizeof why_sd)) {
		r->memcap = MEMCAP_SYSTEMD;
		return;
	}
	gl_size_format(r->mem_cap, size, sizeof size);
	msg("--mem-max %s: cannot cap memory here: %s; and systemd-run --user: %s. Nothing was "
	    "run: a cap needs cgroup v2 with the memory controller delegated to you (as under a "
	    "systemd user session) or root on a cgroup v2 host",
	    size, why_cg, why_sd[0] ? why_sd : "failed");
	exit(EXIT_SETUP);
}

/* ---- waiting ---- */

/* Who holds the slots, for the waiting line: "pid 123 (python x.py)". */
static void describe_holders(struct run *r, char *buf, size_t len)
{
	struct gl_slot_state st[GL_SLOTS_MAX];
	size_t n, nt, off = 0;
	unsigned shown = 0;

	buf[0] = '\0';
	if (gl_slots_inspect_at(r->slots.dirfd, r->o.slots, st, GL_SLOTS_MAX, &n, NULL, 0, &nt,
	                        NULL) < 0 &&
	    n == 0)
		return;
	for (size_t i = 0; i < n && off + 1 < len; i++) {
		char cmd[96] = "?";
		pid_t pid;
		int w;

		if (!st[i].held)
			continue;
		if (shown == 4) {
			w = snprintf(buf + off, len - off, ", ...");
			off += w > 0 ? (size_t)w : 0;
			break;
		}
		/* cpu_run.sh locks with a flock(1) child on its fd 9: the job holds
		 * the slot through it, after the locker has exited. */
		pid = gl_proc_flock_holder(st[i].dev, st[i].ino, st[i].pid);
		if (pid > 0 && gl_proc_cmdline(pid, cmd, sizeof cmd) == 0)
			w = snprintf(buf + off, len - off, "%sslot%u: pid %d (%s)", shown ? ", " : "",
			             st[i].index, (int)pid, cmd);
		else if (st[i].pid > 0)
			w = snprintf(buf + off, len - off,
			             "%sslot%u: held through an inherited fd (the locker, pid %d, has "
			             "exited, as cpu_run.sh's flock does)",
			             shown ? ", " : "", st[i].index, (int)st[i].pid);
		else
			w = snprintf(buf + off, len - off, "%sslot%u: held", shown ? ", " : "",
			             st[i].index);
		off += w > 0 ? (size_t)w : 0;
		shown++;
	}
	if (off >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

static void announce_wait(struct run *r, unsigned ahead)
{
	char who[1024], where[64];

	if (r->announced)
		return;
	r->announced = true;
	if (r->o.quiet)
		return;
	describe_holders(r, who, sizeof who);
	if (ahead)
		snprintf(where, sizeof where, "%u ahead in the queue", ahead);
	else
		snprintf(where, sizeof where, "next in line");
	msg("pid %d waiting for one of %u slots in %s (%s); held by %s", (int)getpid(), r->o.slots,
	    r->o.dir, where, who[0] ? who : "no one (freeing now)");
}

/* A long wait is not silent: at 1, 5, 15 and 60 minutes, then hourly. */
static void remind_wait(double waited, void *arg)
{
	struct run *r = arg;
	char who[1024], where[64], dur[32];
	unsigned ahead = gl_slots_ahead(&r->slots);

	describe_holders(r, who, sizeof who);
	gl_log_duration(waited, dur, sizeof dur);
	if (r->slots.held)
		snprintf(where, sizeof where, "holding slot %u, short of memory", r->slots.held);
	else if (ahead)
		snprintf(where, sizeof where, "%u ahead in the queue", ahead);
	else
		snprintf(where, sizeof where, "next in line");
	msg("pid %d still waiting after %s for one of %u slots in %s (%s); held by %s",
	    (int)getpid(), dur, r->o.slots, r->o.dir, where, who[0] ? who : "no one (freeing now)");
}

static void on_slot_wait(struct gl_slots *s, void *arg)
{
	(void)s;
	announce_wait(arg, 0);
}

/* The wait is over. Called once, for the line "starting after a wait". */
static void announce_start(struct run *r, const char *how)
{
	char took[32];

	if (!r->announced || r->o.quiet)
		return;
	gl_log_duration(gl_wait_now() - r->start, took, sizeof took);
	msg("pid %d %s after %s", (int)getpid(), how, took);
}

/* --mem-avail: the head, holding its slot, waits for MemAvailable. Polled:
 * memory has no event to block on. Returns 0 or -ETIMEDOUT. */
static int wait_memory(struct run *r)
{
	bool said = false;

	for (;;) {
		unsigned long long avail;
		char have[32], need[32];
		int e = read_meminfo(r, &avail);
		struct timespec ts;
		double left;

		if (e < 0) {
			msg("cannot read %s: %s", r->o.meminfo, strerror(-e));
			gl_slots_dequeue(&r->slots);
			exit(EXIT_SETUP);
		}
		if (avail >= r->mem_need)
			return 0;
		gl_size_format(avail, have, sizeof have);
		gl_size_format(r->mem_need, need, sizeof need);
		if (!said && !r->o.quiet)
			msg("pid %d waiting for memory: MemAvailable is %s, --mem-avail needs %s",
			    (int)getpid(), have, need);
		said = true;
		r->announced = true;
		if (r->wait.remind &&
		    gl_wait_now() >= r->wait.start + gl_wait_reminder_at(r->wait.reminded)) {
			r->wait.remind(gl_wait_now() - r->wait.start, r);
			r->wait.reminded++;
		}
		left = r->deadline < 0 ? MEM_POLL_SECONDS : r->deadline - gl_wait_now();
		if (left <= 0)
			return -ETIMEDOUT;
		if (left > MEM_POLL_SECONDS)
			left = MEM_POLL_SECONDS;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

/* ---- the job's process ---- */

static unsigned allowed_cpus(cpu_set_t *set)
{
	if (sched_getaffinity(0, sizeof *set, set) < 0)
		return 0;
	return (unsigned)CPU_COUNT(set);
}

/* More threads than CPUs only take turns (taskset -c 0 cpu_run ...): the
 * default cap is no more than the CPUs the job may use. One given stays. */
static void fit_threads(struct run *r)
{
	cpu_set_t set;

	r->cpus = allowed_cpus(&set);
	if (!r->o.threads_given && r->cpus && r->cpus < r->o.threads)
		r->o.threads = r->cpus;
}

/* --pin: THREADS CPUs of those we may use, a different run of them for each
 * slot (wrapping around); an unslotted job takes the run after the last. */
static void pin(struct run *r, unsigned slot)
{
	cpu_set_t allowed, mine;
	int cpus[CPU_SETSIZE];
	unsigned n = 0, first;

	if (!allowed_cpus(&allowed))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	if (r->o.threads >= n)
		return;
	CPU_ZERO(&mine);
	first = (slot - 1) * r->o.threads;
	for (unsigned j = 0; j < r->o.threads; j++)
		CPU_SET(cpus[(first + j) % n], &mine);
	if (sched_setaffinity(0, sizeof mine, &mine) < 0)
		msg("warning: cannot pin to CPUs: %s", strerror(errno));
}

/* The job's niceness: --nice is a floor, never a ceiling. A caller nicer
 * than that (nice -n 19 cpu_run ...) asked for more politeness, and root,
 * who could lower it, must not make the job less nice than its caller. */
static long job_nice(const struct run *r, int *cur)
{
	errno = 0;
	*cur = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		return r->o.nice; /* unknown: ask for the configured one */
	return *cur > r->o.nice ? *cur : r->o.nice;
}

static void be_nice(struct run *r)
{
	int cur;
	long want = job_nice(r, &cur);

	if (cur < want && setpriority(PRIO_PROCESS, 0, (int)want) < 0)
		msg("warning: cannot set niceness %ld: %s", want, strerror(errno));
	/* ioprio_set(IOPRIO_WHO_PROCESS, self, IOPRIO_CLASS_IDLE): the class
	 * needs no privilege since Linux 2.6.25; a failure costs only politeness.
	 * Idle is the lowest class, so this never raises the caller's I/O
	 * priority; without it the job keeps the caller's. */
	if (r->o.ionice)
		(void)syscall(SYS_ioprio_set, 1, 0, 3 << 13);
}

/* The job's environment: ours, with the thread caps and CPU_RUN_ACTIVE=1
 * set. It becomes environ for the exec. Built here rather than with
 * setenv(3), whose copies (a malloc arena and its first page faults) would
 * be paid by every launch (BENCHMARKS.md, 6). */
#define JOB_VARS (sizeof thread_vars / sizeof *thread_vars) /* and CPU_RUN_ACTIVE */
#define JOB_ENV_INLINE 256

struct job_env {
	char set[JOB_VARS][48];           /* "NAME=value" for each variable we set */
	char *inline_env[JOB_ENV_INLINE]; /* the new environ, when it fits */
};

/* Does entry ("NAME=value") name one of the variables in set[0..n)? */
static bool replaced(const char *entry, char (*set)[48], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)(strchr(set[i], '=') - set[i]) + 1;

		if (strncmp(entry, set[i], len) == 0)
			return true;
	}
	return false;
}

static void cap_threads(struct run *r, struct job_env *je)
{
	char val[16], numba[16], **envp;
	size_t nset = 0, n = 0, k = 0;
	unsigned cpus = r->cpus; /* ours at the start: --pin leaves min(threads, cpus) */

	snprintf(val, sizeof val, "%u", r->o.threads);
	/* numba refuses a NUMBA_NUM_THREADS above the CPUs it may use. */
	snprintf(numba, sizeof numba, "%u", cpus && cpus < r->o.threads ? cpus : r->o.threads);
	for (int i = 0; thread_vars[i]; i++) {
		const char *v = strcmp(thread_vars[i], "NUMBA_NUM_THREADS") == 0 ? numba : val;

		if (r->o.force_threads || !env(thread_vars[i]))
			snprintf(je->set[nset++], sizeof je->set[0], "%s=%s", thread_vars[i], v);
	}
	snprintf(je->set[nset++], sizeof je->set[0], "CPU_RUN_ACTIVE=1");

	while (environ[n])
		n++;
	envp = n + nset < JOB_ENV_INLINE ? je->inline_env : calloc(n + nset + 1, sizeof *envp);
	if (!envp) {
		msg("cannot set the job's environment: %s", strerror(ENOMEM));
		gl_slots_dequeue(&r->slots);
		exit(EXIT_SETUP);
	}
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i], je->set, nset))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nset; i++)
		envp[k++] = je->set[i];
	envp[k] = NULL;
	environ = envp;
}

/* Under systemd-run --user --scope for --mem-max: it moves itself (our pid)
 * into a new scope with the limits, then execs the command. */
static void exec_systemd(struct run *r)
{
	char max[64], **argv;
	int n = 0, argc = 0;

	while (r->cmd[argc])
		argc++;
	argv = calloc((size_t)argc + 16, sizeof *argv);
	if (!argv)
		return;
	snprintf(max, sizeof max, "MemoryMax=%llu", r->mem_cap);
	argv[n++] = "systemd-run";
	argv[n++] = "--user";
	argv[n++] = "--scope";
	argv[n++] = "--quiet";
	argv[n++] = "--collect";
	if (r->systemd_expand_flag)
		argv[n++] = "--expand-environment=no"; /* a '$' in the command stays a '$' */
	argv[n++] = "-p";
	argv[n++] = max;
	argv[n++] = "-p";
	argv[n++] = "MemorySwapMax=0";
	argv[n++] = "--";
	argv[n++] = r->cmd_path;
	for (int i = 1; i < argc; i++)
		argv[n++] = r->cmd[i];
	execvp(argv[0], argv);
	free(argv);
}

/* The path found before waiting: no second search. A file without a #!
 * line goes to the shell, as execvp does it. */
static void exec_direct(struct run *r)
{
	int argc = 0;
	char **sh;

	if (execv(r->cmd_path, r->cmd) == 0 || errno != ENOEXEC)
		return;
	while (r->cmd[argc])
		argc++;
	sh = calloc((size_t)argc + 2, sizeof *sh);
	if (sh) {
		sh[0] = "sh";
		sh[1] = r->cmd_path;
		for (int i = 1; i < argc; i++)
			sh[i + 1] = r->cmd[i];
		execv("/bin/sh", sh);
		free(sh);
	}
	errno = ENOEXEC;
}

static void __attribute__((noreturn)) exec_command(struct run *r)
{
	int e;

	if (r->memcap == MEMCAP_SYSTEMD)
		exec_systemd(r);
	else
		exec_direct(r);
	e = errno;
	msg("cannot run %s: %s", r->memcap == MEMCAP_SYSTEMD ? "systemd-run" : r->cmd[0],
	    strerror(e));
	exit(e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Everything after the wait: the job's process, then exec. The ticket goes
 * last, just before exec, so the next waiter becomes head at once. */
static void __attribute__((noreturn)) start(struct run *r, const char *how)
{
	unsigned slot = r->slots.held ? r->slots.held : r->o.slots + 1;
	static struct job_env je;
	int e;

	if (r->o.pin && !r->nested) /* nested: the job's own CPUs already */
		pin(r, slot);
	be_nice(r);
	cap_threads(r, &je);
	if (r->slots.held && (e = gl_slots_keep_across_exec(&r->slots)) < 0) {
		msg("cannot keep slot %u across exec: %s", r->slots.held, strerror(-e));
		exit(EXIT_SETUP);
	}
	if (how)
		announce_start(r, how);
	gl_slots_dequeue(&r->slots);
	exec_command(r);
}

static void __attribute__((noreturn)) timed_out(struct run *r, const char *what)
{
	char cmd[512], waited[32];
	int cur;

	gl_log_duration(gl_wait_now() - r->start, waited, sizeof waited);
	if (r->o.fail_on_timeout) {
		msg("pid %d gave up after %s: %s (--on-timeout=fail)", (int)getpid(), waited, what);
		gl_slots_dequeue(&r->slots);
		exit(EXIT_TIMED_OUT);
	}
	command_text(r->cmd, cmd, sizeof cmd);
	msg("warning: pid %d waited %s: %s; running %s anyway (threads capped at %u, nice %ld): %s",
	    (int)getpid(), waited, what, r->slots.held ? "short of memory" : "without a slot",
	    r->o.threads, job_nice(r, &cur), cmd);
	start(r, NULL);
}

static void __attribute__((noreturn)) slot_error(struct run *r, int e)
{
	gl_slots_dequeue(&r->slots);
	if (r->slots.bad_slot)
		msg("cannot use slot file %s/slot%u: %s", r->o.dir, r->slots.bad_slot,
		    gl_slots_strerror(e));
	else
		msg("cannot wait for a slot in %s: %s", r->o.dir, gl_slots_strerror(e));
	exit(EXIT_SETUP);
}

static void open_slots(struct run *r)
{
	bool created;
	uid_t owner = 0;
	int e = gl_slots_open(&r->slots, r->o.dir, r->o.slots, true, &owner, &created);

	if (e == 0)
		return;
	if (e == -EPERM)
		msg("slot directory %s is owned by uid %u, not by root or you (uid %u): refused, "
		    "since its owner controls the slots. Use a directory of your own (--slot-dir) or "
		    "have root create a shared one: install -d -m 1777 %s",
		    r->o.dir, (unsigned)owner, (unsigned)geteuid(), r->o.dir);
	else
		msg("cannot use slot directory %s: %s", r->o.dir, gl_slots_strerror(e));
	exit(EXIT_SETUP);
}

/* --mem-avail and --mem-max in bytes, from MemTotal where they are shares
 * of it. 0, or the exit status. */
static int memory_settings(struct run *r)
{
	unsigned long long avail;
	int e;

	if (!(r->o.mem_avail.percent ? r->o.mem_avail.pct > 0 : r->o.mem_avail.bytes > 0) &&
	    !(r->o.mem_max.percent && r->o.mem_max.pct > 0)) {
		r->mem_cap = r->o.mem_max.bytes;
		return 0;
	}
	e = read_meminfo(r, &avail);
	if (e < 0) {
		msg("cannot read %s for the memory settings: %s", r->o.meminfo, strerror(-e));
		return EXIT_SETUP;
	}
	r->mem_need = gl_size_bytes(&r->o.mem_avail, r->mem_total);
	r->mem_cap = gl_size_bytes(&r->o.mem_max, r->mem_total);
	if (r->mem_need > r->mem_total) /* a typo (500T for 500G): never */
		refuse_mem_avail(r);
	return 0;
}

/* We wait from here on: time it (the clock's first read costs the vDSO's
 * page faults, which the fast path does without), with the reminders. */
static void start_waiting(struct run *r)
{
	r->start = gl_wait_now();
	r->deadline = r->o.max_wait < 0 ? -1 : r->start + r->o.max_wait;
	r->wait.start = r->start;
	r->wait.deadline = r->deadline;
	r->wait.remind = r->o.quiet ? NULL : remind_wait;
	r->wait.arg = r;
}

int main(int argc, char **argv)
{
	static struct run run;
	struct run *r = &run;
	unsigned ahead;
	int first, e;

	load_env(&r->o);
	first = parse_args(argc, argv, &r->o);
	r->cmd = argv + first;
	fit_threads(r);

	e = find_command(r->cmd[0], r->cmd_path, sizeof r->cmd_path);
	if (e) {
		msg("%s: %s", r->cmd[0], e == EXIT_NOT_FOUND ? "command not found" : "not executable");
		return e;
	}
	e = memory_settings(r);
	if (e)
		return e;
	open_slots(r);
	if (r->mem_cap)
		setup_mem_max(r);
	/* Run inside a job that holds a slot (its child, grandchild, ...): it
	 * is within the guard already. Queueing again could deadlock: N
	 * parents each holding a slot while their children wait for one. */
	if (env("CPU_RUN_ACTIVE") && gl_slots_held_in_tree(r->slots.dirfd)) {
		r->nested = true;
		start(r, NULL);
	}

	/* The fast path: a free slot and no queue. With --mem-avail everyone
	 * goes through the queue, so admission is one job at a time. */
	if (!r->mem_need) {
		e = gl_slots_try(&r->slots);
		if (e < 0)
			slot_error(r, e);
		if (e == 1)
			start(r, NULL);
	}
	start_waiting(r);
	if (r->o.max_wait == 0 && !r->mem_need)
		timed_out(r, "every slot is busy");

	e = gl_slots_enqueue(&r->slots, &ahead);
	if (e < 0) {
		msg("cannot join the queue in %s: %s", r->o.dir, gl_slots_strerror(e));
		return EXIT_SETUP;
	}
	if (ahead)
		announce_wait(r, ahead);
	e = gl_slots_wait_head(&r->slots, &r->wait);
	if (e == -ETIMEDOUT)
		timed_out(r, "still queued behind other jobs");
	if (e < 0) {
		msg("cannot wait in the queue in %s: %s", r->o.dir, gl_slots_strerror(e));
		gl_slots_dequeue(&r->slots);
		return EXIT_SETUP;
	}
	e = gl_slots_wait_slot(&r->slots, &r->wait, on_slot_wait, r);
	if (e == -ETIMEDOUT)
		timed_out(r, "every slot is still busy");
	if (e < 0)
		slot_error(r, e);
	if (r->mem_need && wait_memory(r) < 0)
		timed_out(r, "not enough memory available (--mem-avail)");
	{
		char how[64];

		snprintf(how, sizeof how, "got slot %u of %u", r->slots.held, r->o.slots);
		start(r, how);
	}
}
