/* gpulock wait: until the GPU lock is free, taking nothing. */
#include "gpulock.h"
#include "gl_gpu_messages.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "gl_log.h"

#include <errno.h>
#include <unistd.h>

static void announce_wait(const struct cli_settings *s, int fd)
{
	char who[256];

	gl_gpu_describe_holder(fd, who, sizeof who);
	fprintf(stderr, "gpulock: waiting for the GPU lock %s, held %s\n", s->cfg.lock_path, who);
}

struct wait_reminder {
	const char *lock_path;
	int fd;
};

/* A long wait is not silent: at 1, 5, 15 and 60 minutes, then hourly. */
static void remind_wait(double waited, void *arg)
{
	const struct wait_reminder *rem = arg;

	gl_gpu_remind("the GPU lock", rem->lock_path, rem->fd, waited);
}

int cli_wait(int argc, char **argv)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
	                                         {"quiet", no_argument, NULL, 'q'},
	                                         {"lock", required_argument, NULL, 'l'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct cli_settings s;
	const char *word;
	char who[256];
	/* Bad settings are refused, but after the options: --help still helps. */
	int c, fd, r, bad = cli_load_settings(&s);

	while ((c = cli_next_option(argc, argv, "+:t:ql:h", longopts, &word)) != -1) {
		if (c == 't' && (r = cli_set_timeout(&s, optarg)) != 0)
			return r;
		if (c == 'q')
			s.cfg.quiet = true;
		if (c == 'l' && (r = cli_set_lock(&s, optarg)) != 0)
			return r;
		if (c == 'h') {
			cli_help(stdout, "wait");
			return 0;
		}
		if (c == '?' || c == ':')
			return cli_option_error(c, word);
	}
	if (bad)
		return bad;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if ((r = cli_check_lock_path(s.cfg.lock_path)) != 0)
		return r;
	r = gl_lockfile_open(s.cfg.lock_path, &fd);
	if (r < 0) {
		cli_lock_path_error(s.cfg.lock_path, r);
		return EXIT_SETUP;
	}
	r = gl_lock_wait_until_free(fd, NULL);
	if (r == -ETIMEDOUT && s.cfg.timeout != 0) {
		struct wait_reminder rem = {s.cfg.lock_path, fd};
		struct gl_wait w = {.start = gl_wait_now(), .deadline = -1, .arg = &rem};

		if (s.cfg.timeout > 0)
			w.deadline = w.start + s.cfg.timeout;
		if (!s.cfg.quiet) {
			announce_wait(&s, fd);
			w.remind = remind_wait;
		}
		r = gl_lock_wait_until_free(fd, &w);
	}
	if (r == -ETIMEDOUT) {
		char secs[32];

		gl_gpu_describe_holder(fd, who, sizeof who);
		gl_log_seconds(s.cfg.timeout, secs, sizeof secs);
		if (s.cfg.timeout == 0)
			fprintf(stderr, "gpulock: the GPU lock %s is held %s\n", s.cfg.lock_path, who);
		else
			fprintf(stderr, "gpulock: the GPU lock %s is still held after %ss, %s\n",
			        s.cfg.lock_path, secs, who);
	}
	close(fd);
	if (r == -ETIMEDOUT)
		return EXIT_TIMED_OUT;
	if (r < 0) {
		fprintf(stderr, "gpulock: %s: %s\n", s.cfg.lock_path, gl_lockfile_strerror(r));
		return EXIT_SETUP;
	}
	return 0;
}
