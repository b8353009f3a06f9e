/* cpu_run's settings: one table gives each its environment variable, its
 * options, its parser and its lines in --help. The variables are read
 * first, then the options override them; a bad value of either is refused
 * before anything runs. Empty variables mean their defaults, as in the
 * original cpu_run.sh. */
#include "cpu_run.h"

#include "gl_meminfo.h"
#include "gl_parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SLOTS 3
#define DEFAULT_THREADS 3
#define DEFAULT_MAXWAIT 3600.0
#define DEFAULT_NICE 15
#define MAXWAIT_MAX 31536000.0 /* a year */
#define THREADS_MAX 1024

/* ---- parsers: each takes the name to blame (a variable or an option) ---- */

static void __attribute__((noreturn)) die_bad(const char *name, const char *value,
                                               const char *expected)
{
	cr_die_usage("%s='%s': expected %s", name, value, expected);
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

static bool parse_flag(const char *name, const char *value)
{
	bool b;

	if (gl_parse_bool(value, &b) < 0)
		die_bad(name, value, "1 or 0 (yes/no, true/false, on/off)");
	return b;
}

static void parse_size(const char *name, const char *value, struct gl_size *out)
{
	/* Below 1 MiB no job runs (or every one is admitted): "8" meant 8G. */
	if (gl_size_parse(value, out) < 0 || (!out->percent && out->bytes && out->bytes < 1 << 20))
		die_bad(name, value,
		        "a size (e.g. 4G, 512M, 1.5GiB; binary units; at least 1M) or a share of RAM "
		        "(e.g. 25%); 0 for none");
}

static void set_slots(struct opts *o, const char *name, const char *value)
{
	o->slots = parse_count(name, value, GL_SLOTS_MAX, "slots");
}

static void set_threads(struct opts *o, const char *name, const char *value)
{
	o->threads = parse_count(name, value, THREADS_MAX, "threads");
	o->threads_given = true;
}

static void set_max_wait(struct opts *o, const char *name, const char *value)
{
	if (gl_parse_duration(value, MAXWAIT_MAX, &o->max_wait) < 0)
		die_bad(name, value,
		        "a duration to wait for a slot (e.g. 3600, 0.5, 1m30s, 2h, or forever), at most "
		        "a year");
}

static void set_on_timeout(struct opts *o, const char *name, const char *value)
{
	static const char *const words[] = {"run", "fail", NULL};
	int i = gl_parse_word(value, words);

	if (i < 0)
		die_bad(name, value, "run (start without a slot) or fail (exit 75)");
	o->fail_on_timeout = i == 1;
}

static void set_slot_dir(struct opts *o, const char *name, const char *value)
{
	if (value[0] != '/')
		die_bad(name, value, "an absolute path (a relative one names another directory, "
		                     "so another semaphore, in every working directory)");
	if (strlen(value) >= PATH_MAX - 32)
		die_bad(name, value, "a shorter path");
	o->dir = value;
}

static void set_mem_avail(struct opts *o, const char *name, const char *value)
{
	parse_size(name, value, &o->mem_avail);
	o->mem_avail_name = name;
	o->mem_avail_value = value;
}

static void set_mem_max(struct opts *o, const char *name, const char *value)
{
	parse_size(name, value, &o->mem_max);
}

static void set_force_threads(struct opts *o, const char *name, const char *value)
{
	o->force_threads = parse_flag(name, value);
}

static void set_pin(struct opts *o, const char *name, const char *value)
{
	o->pin = parse_flag(name, value);
}

static void set_nice(struct opts *o, const char *name, const char *value)
{
	if (gl_parse_long(value, -20, 19, &o->nice) < 0)
		die_bad(name, value, "a niceness from -20 to 19");
}

static void set_ionice(struct opts *o, const char *name, const char *value)
{
	o->ionice = parse_flag(name, value);
}

static void set_quiet(struct opts *o, const char *name, const char *value)
{
	o->quiet = parse_flag(name, value);
}

static void set_meminfo(struct opts *o, const char *name, const char *value)
{
	(void)name;
	o->meminfo = value;
}

static void __attribute__((noreturn)) show_help(struct opts *o, const char *name,
                                                 const char *value);
static void __attribute__((noreturn)) show_version(struct opts *o, const char *name,
                                                    const char *value);

/* ---- the table ---- */

struct setting {
	const char *var; /* its environment variable, or NULL */
	const char *opt; /* its long option ("--slots"), or NULL: a variable only */
	char letter;     /* its short option, or 0 */
	bool negatable;  /* a switch with a --no- form too */
	const char *arg; /* how --help shows its value (" N", "=run|fail"); NULL: a switch */
	/* name: the variable or the long option, for the messages; a switch
	 * has "1" as its value, "0" in its --no- form. */
	void (*set)(struct opts *o, const char *name, const char *value);
	const char *help; /* its lines in --help, %s the variable; NULL: none */
};

/* In --help's order, which is also the order the variables are read in. */
static const struct setting settings[] = {
	{"CPU_RUN_SLOTS", "--slots", 's', false, " N", set_slots,
	 "jobs at once, machine-wide (%s, 3)"},
	{"CPU_RUN_THREADS", "--threads", 't', false, " N", set_threads,
	 "thread cap for OpenMP, BLAS, numba, Rayon, Go, ...\n"
	 "(%s, 3 or the CPUs the job may use if\n"
	 "fewer)"},
	{"CPU_RUN_MAXWAIT", "--max-wait", 'w', false, " TIME", set_max_wait,
	 "wait at most this long: seconds (90, 0.5), units\n"
	 "(1m30s, 2h), or forever; 0: do not wait\n"
	 "(%s, 1h)"},
	{"CPU_RUN_ON_TIMEOUT", "--on-timeout", 0, false, "=run|fail", set_on_timeout,
	 "then run without a slot, with a warning (run,\n"
	 "default), or exit 75 (%s)"},
	{"CPU_RUN_SLOT_DIR", "--slot-dir", 'd', false, " DIR", set_slot_dir,
	 "where the slots live, an absolute path\n"
	 "(%s, " GL_HARDENED_SLOT_DIR " where\n"
	 "gpulock setup made it, else " GL_SLOTS_DEFAULT_DIR ")"},
	{"CPU_RUN_MEM_AVAIL", "--mem-avail", 0, false, " SIZE|PCT", set_mem_avail,
	 "start only when MemAvailable is at least this,\n"
	 "e.g. 8G or 20% (%s, none)"},
	{"CPU_RUN_MEM_MAX", "--mem-max", 0, false, " SIZE|PCT", set_mem_max,
	 "cap the job's memory with a cgroup v2, no swap\n"
	 "(%s, none)"},
	{"CPU_RUN_FORCE_THREADS", "--force-threads", 0, true, NULL, set_force_threads,
	 "set the thread variables even where already set\n"
	 "(%s, 0)"},
	{"CPU_RUN_PIN", "--pin", 0, true, NULL, set_pin,
	 "bind the job to THREADS CPUs chosen by its slot\n"
	 "(%s, 0)"},
	{"CPU_RUN_NICE", "--nice", 0, false, " N", set_nice,
	 "niceness at least N, -20..19; a nicer caller's\n"
	 "niceness is kept (%s, 15)"},
	{"CPU_RUN_IONICE", "--ionice", 0, true, NULL, set_ionice,
	 "idle I/O class; without, the caller's\n"
	 "(%s, 1)"},
	{"CPU_RUN_QUIET", "--quiet", 'q', true, NULL, set_quiet,
	 "no line when waiting and starting (%s, 0)"},
	{NULL, "--help", 'h', false, NULL, show_help, "this help"},
	{NULL, "--version", 'V', false, NULL, show_version, "the version"},
	{"CPU_RUN_MEMINFO_PATH", NULL, 0, false, NULL, set_meminfo, NULL}, /* for tests */
};
#define NSETTINGS (sizeof settings / sizeof *settings)

/* ---- --help ---- */

#define HELP_COLUMN 26  /* where the descriptions start */
#define HELP_NO_SAME 28 /* a --no- form shares its option's line up to this width */

/* One line of --help: the option column (or nothing), then a line of the
 * description, the variable's name in place of its %s. */
static void help_line(FILE *out, const char *left, const char *text, size_t len,
                      const char *var)
{
	const char *at = var ? memmem(text, len, "%s", 2) : NULL;
	int w = fprintf(out, "%s", left);

	fprintf(out, "%*s", w < HELP_COLUMN ? HELP_COLUMN - w : 2, "");
	if (at)
		fprintf(out, "%.*s%s%.*s\n", (int)(at - text), text, var, (int)(text + len - at - 2),
		        at + 2);
	else
		fprintf(out, "%.*s\n", (int)len, text);
}

static void help_setting(FILE *out, const struct setting *s)
{
	char first[64], second[64] = "";
	const char *line = s->help;

	snprintf(first, sizeof first, "  %c%c%s%s%s", s->letter ? '-' : ' ',
	         s->letter ? s->letter : ' ', s->letter ? ", " : "  ", s->opt, s->arg ? s->arg : "");
	if (s->negatable) {
		size_t len = strlen(first);

		if (len + strlen(", --no-") + strlen(s->opt + 2) <= HELP_NO_SAME)
			snprintf(first + len, sizeof first - len, ", --no-%s", s->opt + 2);
		else
			snprintf(second, sizeof second, "      --no-%s", s->opt + 2);
	}
	for (int i = 0; *line; i++) {
		size_t len = strcspn(line, "\n");

		help_line(out, i == 0 ? first : i == 1 ? second : "", line, len, s->var);
		line += len + (line[len] == '\n');
	}
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
	      "Options (each overrides its environment variable):\n",
	      out);
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].opt && settings[i].help)
			help_setting(out, &settings[i]);
	fputs("\n"
	      "An empty variable means its default.\n"
	      "\n"
	      "Exit status: the command's; 125 bad usage or setup (nothing ran); 126 command\n"
	      "not executable; 127 command not found; 75 wait timed out with --on-timeout=fail.\n",
	      out);
}

static void show_help(struct opts *o, const char *name, const char *value)
{
	(void)o;
	(void)name;
	(void)value;
	usage(stdout);
	exit(0);
}

static void show_version(struct opts *o, const char *name, const char *value)
{
	(void)o;
	(void)name;
	(void)value;
	printf("cpu_run (gpulock) %s\n", GL_VERSION);
	exit(0);
}

/* ---- the environment ---- */

static void load_env(struct opts *o)
{
	o->slots = DEFAULT_SLOTS;
	o->threads = DEFAULT_THREADS;
	o->max_wait = DEFAULT_MAXWAIT;
	o->dir = NULL; /* the default, looked for once the settings are read */
	o->nice = DEFAULT_NICE;
	o->ionice = true;
	o->meminfo = GL_MEMINFO_PATH;
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = settings[i].var ? cr_env(settings[i].var) : NULL;

		if (v)
			settings[i].set(o, settings[i].var, v);
	}
}

/* ---- the options ---- */

/* getopt_long's value for settings[i]; its --no- form is one more. */
#define OPT_VAL(i) (256 + 2 * (int)(i))

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

/* getopt_long, and the argument it was reading (a cluster such as -qx
 * included) in *word, for the messages: inside a cluster of short options
 * optind does not move. As gpulock's. */
static int next_option(int argc, char **argv, const char *opts, const struct option *longopts,
                       const char **word)
{
	*word = optind < argc ? argv[optind] : "";
	return getopt_long(argc, argv, opts, longopts, NULL);
}

static void __attribute__((noreturn)) option_error(int c, int argc, char **argv,
                                                    const struct option *longopts,
                                                    const char *word)
{
	const char *name;

	if (c == ':') { /* only the last argument can lack its value; where optind
	                 * points then differs between C libraries */
		if (strncmp(argv[argc - 1], "--", 2) == 0)
			cr_die_usage("option %s needs a value", argv[argc - 1]);
		cr_die_usage("option -%c needs a value", optopt);
	}
	if (strncmp(word, "--", 2) != 0)
		cr_die_usage("unknown option -%c", optopt);
	if ((name = takes_no_value(longopts, word)))
		cr_die_usage("option --%s takes no value", name);
	cr_die_usage("unknown option %s", word);
}

/* The setting getopt_long returned c for, and its value; NULL for an error. */
static const struct setting *option_setting(int c, const char **value)
{
	size_t i = 0;

	if (c >= OPT_VAL(0)) {
		i = (size_t)(c - OPT_VAL(0)) / 2;
	} else {
		while (i < NSETTINGS && settings[i].letter != c)
			i++;
		if (i == NSETTINGS)
			return NULL;
	}
	*value = settings[i].arg ? optarg : c == OPT_VAL(i) + 1 ? "0" : "1";
	return &settings[i];
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	struct option longopts[2 * NSETTINGS + 1];
	char no[NSETTINGS][24];                /* "no-pin" */
	char shorts[2 * NSETTINGS + 3] = "+:"; /* +: options stop at the command */
	size_t nl = 0, ns = 2;
	const char *word;
	int c;

	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		int has_arg = s->arg ? required_argument : no_argument;

		if (!s->opt)
			continue;
		longopts[nl++] = (struct option){s->opt + 2, has_arg, NULL, OPT_VAL(i)};
		if (s->negatable) {
			snprintf(no[i], sizeof no[i], "no-%s", s->opt + 2);
			longopts[nl++] = (struct option){no[i], no_argument, NULL, OPT_VAL(i) + 1};
		}
		if (s->letter) {
			shorts[ns++] = s->letter;
			if (s->arg)
				shorts[ns++] = ':';
		}
	}
	longopts[nl] = (struct option){NULL, 0, NULL, 0};
	shorts[ns] = '\0';

	opterr = 0; /* our own messages, naming the option */
	while ((c = next_option(argc, argv, shorts, longopts, &word)) != -1) {
		const char *value;
		const struct setting *s = option_setting(c, &value);

		if (!s)
			option_error(c, argc, argv, longopts, word);
		s->set(o, s->opt, value);
	}
	if (optind >= argc)
		cr_die_usage("no command given");
	return optind;
}

char **cr_read_settings(struct opts *o, int argc, char **argv)
{
	int first;

	load_env(o);
	first = parse_args(argc, argv, o);
	if (!o->dir) /* one lstat: the hardened directory, else /tmp's */
		o->dir = gl_default_slot_dir();
	return argv + first;
}
