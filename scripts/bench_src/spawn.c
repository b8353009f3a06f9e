/* Spawn cost: posix_spawn + waitpid of a command, for several variants
 * (environment and argv), interleaved round by round so that drift on a noisy
 * machine hits every variant alike.
 *
 *   bench_spawn SPAWNS ROUNDS WARMUP  LABEL ENV ARGV  [LABEL ENV ARGV]...
 *
 * ENV and ARGV are lists separated by newlines (ENV may be empty); ARGV[0] is
 * an absolute path. Prints one line per round and variant:
 *   ROUND LABEL WALL_NS_PER_SPAWN CPU_NS_PER_SPAWN
 * where CPU is the children's user+system time (wait4), which other load on
 * the machine disturbs less than the wall time. Round numbers below 0 are
 * warm-up. The variant that goes first rotates. */
#include "common.h"

#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

struct variant {
	const char *label;
	char **env;
	char **argv;
};

static char **split(const char *s)
{
	size_t n = 1;
	char *copy = strdup(s), *p, **v;

	for (p = copy; *p; p++)
		n += *p == '\n';
	v = calloc(n + 1, sizeof *v);
	n = 0;
	for (p = strtok(copy, "\n"); p; p = strtok(NULL, "\n"))
		v[n++] = p;
	v[n] = NULL;
	return v;
}

/* Returns the child's CPU time in ns. */
static uint64_t spawn_wait(const struct variant *v)
{
	struct rusage ru;
	pid_t pid;
	int st, r = posix_spawn(&pid, v->argv[0], NULL, NULL, v->argv, v->env);

	if (r) {
		fprintf(stderr, "bench_spawn: %s: %s\n", v->argv[0], strerror(r));
		exit(1);
	}
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench_spawn: %s (%s) failed, status %d\n", v->argv[0], v->label, st);
		exit(1);
	}
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

int main(int argc, char **argv)
{
	long spawns, rounds, warmup;
	int nv;
	struct variant *vs;

	if (argc < 7 || (argc - 4) % 3) {
		fprintf(stderr, "usage: bench_spawn SPAWNS ROUNDS WARMUP LABEL ENV ARGV...\n");
		return 2;
	}
	spawns = arg_long(argv[1], "spawns");
	rounds = arg_long(argv[2], "rounds");
	warmup = arg_long(argv[3], "warm-up rounds");
	nv = (argc - 4) / 3;
	vs = calloc((size_t)nv, sizeof *vs);
	for (int i = 0; i < nv; i++) {
		vs[i].label = argv[4 + 3 * i];
		vs[i].env = split(argv[5 + 3 * i]);
		vs[i].argv = split(argv[6 + 3 * i]);
	}
	for (long r = -warmup; r < rounds; r++) {
		for (int k = 0; k < nv; k++) {
			const struct variant *v = &vs[(r + warmup + k) % nv];
			uint64_t t0 = now_ns(), cpu = 0;

			for (long i = 0; i < spawns; i++)
				cpu += spawn_wait(v);
			printf("%ld %s %.1f %.1f\n", r, v->label, (double)(now_ns() - t0) / (double)spawns,
			       (double)cpu / (double)spawns);
			fflush(stdout);
		}
	}
	return 0;
}
