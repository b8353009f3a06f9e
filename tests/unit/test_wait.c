/* gl_wait: the one bounded wait of the lock core. The first of several
 * fds, the deadline, the reminders, the abandonment rule (a given-up wait
 * never ends up holding a lock, here or in a child), and the stop signals
 * that end an interruptible wait while other handled signals do not. */
#include "gl_gpu_messages.h"
#include "gl_wait.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[4096], path_a[4200], path_b[4200];

static void setup(void)
{
	tp_make_dir(dir, sizeof dir);
	snprintf(path_a, sizeof path_a, "%s/a", dir);
	snprintf(path_b, sizeof path_b, "%s/b", dir);
}

static int open_file(const char *p)
{
	int fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Is anyone's lock on p in the way of an exclusive one? */
static bool busy(const char *p)
{
	int fd = open_file(p), r = flock(fd, LOCK_EX | LOCK_NB);

	close(fd);
	return r < 0;
}

/* Wait until p is free, failing after 20 s. */
static void wait_until_free(const char *p)
{
	double end = tp_now() + 20;

	while (busy(p) && tp_now() < end)
		usleep(2000);
	ck_assert_msg(!busy(p), "%s is still locked", p);
}

/* A child that locks p (and, when q is not NULL, q) and holds each until
 * the matching pipe is written; returns once it holds them. */
static pid_t hold(const char *p, const char *q, int *release_p, int *release_q)
{
	int ready[2], rp[2], rq[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(rp), 0);
	ck_assert_int_eq(pipe(rq), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int a = open(p, O_RDONLY | O_CREAT, 0644), b = q ? open(q, O_RDONLY | O_CREAT, 0644) : -1;
		if (a < 0 || flock(a, LOCK_EX) < 0 || (q && (b < 0 || flock(b, LOCK_EX) < 0)))
			_exit(1);
		close(rp[1]);
		close(rq[1]);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		close(ready[1]);
		if (q) { /* whichever release comes, in any order */
			if (read(rq[0], &c, 1) < 0)
				_exit(1);
			close(b);
		}
		if (read(rp[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(rp[0]);
	close(rq[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release_p = rp[1];
	if (release_q)
		*release_q = rq[1];
	else
		close(rq[1]);
	return pid;
}

static struct gl_wait until(double timeout)
{
	struct gl_wait w = {.start = gl_wait_now(), .deadline = -1};

	if (timeout >= 0)
		w.deadline = w.start + timeout;
	return w;
}

START_TEST(reminders_follow_the_schedule)
{
	static const double want[] = {60, 300, 900, 3600, 7200, 10800, 14400};

	for (unsigned k = 0; k < sizeof want / sizeof want[0]; k++)
		ck_assert_double_eq(gl_wait_reminder_at(k), want[k]);
}
END_TEST

static double reminded_at[8];
static unsigned reminders;

static void remind(double waited, void *arg)
{
	(void)arg;
	if (reminders < 8)
		reminded_at[reminders] = waited;
	reminders++;
}

/* At 1/500 of the real schedule: reminders at 0.12 s and 0.6 s, none after
 * a deadline of 1 s. */
START_TEST(reminders_come_while_waiting)
{
	struct gl_wait w = until(1.0);
	int fd, winner = -1, rel;
	pid_t holder;

	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	w.remind = remind;
	w.remind_scale = 1.0 / 500;
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	ck_assert_uint_eq(reminders, 2);
	ck_assert_uint_eq(w.reminded, 2);
	ck_assert(reminded_at[0] >= 0.12 && reminded_at[0] < 0.6);
	ck_assert(reminded_at[1] >= 0.6 && reminded_at[1] < 1.0);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
}
END_TEST

static void remind_gpu(double waited, void *arg)
{
	gl_gpu_remind("the GPU lock", path_a, *(int *)arg, waited);
}

/* The GPU lock's reminder line: how long, where we stand among the
 * waiters, who holds it. */
START_TEST(the_reminder_line_names_position_and_holder)
{
	struct gl_wait w = until(0.4);
	int fd, winner, rel, err[2], saved;
	pid_t holder, before;
	char want[4608], got[8192] = "";
	ssize_t n;

	holder = hold(path_a, NULL, &rel, NULL);
	before = fork(); /* a waiter ahead of us */
	if (before == 0) {
		int f = open(path_a, O_RDONLY);
		close(rel);
		_exit(f < 0 || flock(f, LOCK_EX) < 0);
	}
	tp_wait_lock(path_a, before, true, 20);
	fd = open_file(path_a);
	w.remind = remind_gpu;
	w.arg = &fd;
	w.remind_scale = 1.0 / 500; /* one reminder, at 0.12 s */
	ck_assert_int_eq(pipe(err), 0);
	saved = dup(2);
	dup2(err[1], 2);
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	dup2(saved, 2);
	close(err[1]);
	n = read(err[0], got, sizeof got - 1);
	got[n > 0 ? n : 0] = '\0';
	/* The time is the time waited, due at 0.12 s and later on a busy
	 * machine, never past the deadline (0.4 s); the rest is exact. */
	snprintf(want, sizeof want, "gpulock: pid %d still waiting for the GPU lock %s after ",
	         (int)getpid(), path_a);
	ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "got: %s\nwant: %s", got, want);
	{
		const char *at = got + strlen(want);
		double waited = -1;
		int used = 0;

		ck_assert_msg(sscanf(at, "%lfs%n", &waited, &used) == 1 && used > 0, "got: %s", got);
		ck_assert_msg(waited >= 0.1 && waited <= 0.4, "got: %s", got);
		snprintf(want, sizeof want, " (number 2 of 2 waiting); held by pid %d (",
		         (int)holder);
		ck_assert_msg(strncmp(at + used, want, strlen(want)) == 0, "got: %s\nwant: ...%s", got,
		              want);
	}
	ck_assert_ptr_eq(strchr(got, '\n'), got + strlen(got) - 1); /* one line */
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	ck_assert_int_eq(tp_wait(before, 20), 0);
}
END_TEST

/* Two files held; the second freed first wins. The first, freed later, is
 * not kept: the thread that gets it lets it go. */
START_TEST(first_of_several_wins_and_the_others_are_let_go)
{
	struct gl_wait w = until(20);
	int fds[2], winner = -1, rel_a, rel_b;
	pid_t holder;

	holder = hold(path_a, path_b, &rel_a, &rel_b);
	fds[0] = open_file(path_a);
	fds[1] = open_file(path_b);
	close(rel_b);
	ck_assert_int_eq(gl_wait_first(fds, 2, LOCK_EX, &w, &winner), 0);
	ck_assert_int_eq(winner, 1);
	close(rel_a);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	wait_until_free(path_a);
	ck_assert(busy(path_b)); /* ours, through fds[1] */
}
END_TEST

/* Given up, then forked: the child must not end up with the lock when the
 * holder goes (the waiting thread's duplicate would have carried it). */
START_TEST(a_given_up_wait_holds_nothing_in_a_later_child)
{
	struct gl_wait w = until(0.2);
	int fd, winner, rel, go[2];
	pid_t holder, child;
	char c;

	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	close(fd);
	ck_assert_int_eq(pipe(go), 0);
	child = fork();
	if (child == 0) {
		close(go[1]);
		close(rel);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	wait_until_free(path_a);
	ck_assert_int_eq(kill(child, 0), 0); /* while the child lives on */
	close(go[1]);
	ck_assert_int_eq(tp_wait(child, 20), 0);
}
END_TEST

/* A shared wait: a child forked during it has the caller's fd and may be
 * waiting on it itself, so a late lock is left to that description (never
 * taken from it); it is freed when the child lets go. */
static int shared_fd = -1, holder_release = -1;
static int forked_pipe[2];

static void *fork_while_waiting(void *arg)
{
	pid_t *child = arg;
	char c;

	tp_wait_lock(path_a, getpid(), true, 20);
	*child = fork();
	if (*child == 0) {
		close(forked_pipe[1]);
		close(holder_release);
		_exit(read(forked_pipe[0], &c, 1) < 0 || shared_fd < 0);
	}
	return NULL;
}

START_TEST(a_shared_wait_leaves_a_late_lock_to_a_forked_child)
{
	struct gl_wait w = until(2);
	int winner, rel;
	pid_t holder, child = -1;
	pthread_t t;

	holder = hold(path_a, NULL, &rel, NULL);
	holder_release = rel;
	shared_fd = open_file(path_a);
	w.shared = true;
	ck_assert_int_eq(pipe(forked_pipe), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, fork_while_waiting, &child), 0);
	ck_assert_int_eq(gl_wait_first(&shared_fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	pthread_join(t, NULL);
	ck_assert_int_gt(child, 0);
	close(forked_pipe[0]);
	close(shared_fd);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	/* The thread's lock went to the description the child still has. */
	{
		double end = tp_now() + 20;
		while (!busy(path_a) && tp_now() < end)
			usleep(2000);
	}
	ck_assert(busy(path_a));
	close(forked_pipe[1]);
	ck_assert_int_eq(tp_wait(child, 20), 0);
	wait_until_free(path_a);
}
END_TEST

static volatile sig_atomic_t handled[NSIG];

static void on_signal(int sig)
{
	handled[sig]++;
}

/* A child that waits until we wait for path_a, then sends us the signals. */
static pid_t signal_me(const int *sigs, int n)
{
	pid_t parent = getpid(), pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tp_wait_lock(path_a, parent, true, 20);
		for (int i = 0; i < n; i++)
			kill(parent, sigs[i]);
		_exit(0);
	}
	return pid;
}

START_TEST(a_stop_signal_ends_an_interruptible_wait)
{
	static const int sigs[] = {SIGALRM, SIGCHLD, SIGINT};
	struct sigaction sa = {.sa_handler = on_signal}, after;
	struct gl_wait w = until(20);
	int fd, winner, rel;
	pid_t holder, sender;

	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	w.interruptible = true;
	sender = signal_me(sigs, 3);
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -EINTR);
	ck_assert_int_eq(w.signal, SIGINT);
	ck_assert_int_eq(handled[SIGINT], 1);
	ck_assert_int_eq(handled[SIGALRM], 1);
	ck_assert_int_eq(tp_wait(sender, 20), 0);
	ck_assert_int_eq(sigaction(SIGINT, NULL, &after), 0);
	ck_assert_ptr_eq((void *)after.sa_handler, (void *)on_signal);
	ck_assert(!(after.sa_flags & SA_SIGINFO));
	ck_assert(busy(path_a)); /* never ours */
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	wait_until_free(path_a); /* the late lock was let go */
}
END_TEST

/* A one-shot handler (SA_RESETHAND, as signal() gives under -std=c11): the
 * kernel resets it to the default when the signal comes; afterwards it is
 * the default with the host's own flags, and a second wait leaves it so:
 * the next SIGINT ends the process, as it would have without us (it used
 * to call a null handler, SIGSEGV). */
START_TEST(a_one_shot_handler_is_left_as_the_kernel_leaves_it)
{
	static const int sigint[] = {SIGINT};
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND}, after;
	struct gl_wait w = until(20);
	int fd, winner, rel;
	pid_t holder, sender, again;

	sigaction(SIGINT, &sa, NULL);
	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	w.interruptible = true;
	sender = signal_me(sigint, 1);
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -EINTR);
	ck_assert_int_eq(handled[SIGINT], 1);
	ck_assert_int_eq(tp_wait(sender, 20), 0);
	ck_assert_int_eq(sigaction(SIGINT, NULL, &after), 0);
	ck_assert_ptr_eq((void *)after.sa_handler, (void *)SIG_DFL);
	ck_assert(!(after.sa_flags & SA_SIGINFO));
	again = fork();
	if (again == 0) {
		w = until(20);
		w.interruptible = true;
		signal_me(sigint, 1);
		gl_wait_first(&fd, 1, LOCK_EX, &w, &winner);
		_exit(0);
	}
	ck_assert_int_eq(tp_wait(again, 20), 128 + SIGINT);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
}
END_TEST

/* How many of this process's fds are of the given kind: "eventfd", or a
 * path. */
static int fds_to(const char *what)
{
	char link[64], target[4300];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strstr(target, what) != NULL;
	}
	return n;
}

static void *fork_and_look(void *arg)
{
	struct sigaction cur;
	pid_t *child = arg;

	tp_wait_lock(path_a, getpid(), true, 20);
	*child = fork();
	if (*child == 0) {
		/* The wait is the parent's: its eventfd and its thread's
		 * duplicate stay there, and SIGINT is the host's again. */
		sigaction(SIGINT, NULL, &cur);
		_exit(fds_to("eventfd") != 0 ? 1
		      : fds_to(path_a) != 1 ? 2
		      : (void *)cur.sa_handler != (void *)on_signal ? 3
		                                                    : 0);
	}
	return NULL;
}

/* A fork during an interruptible wait, from another thread. */
START_TEST(a_child_forked_during_a_wait_inherits_nothing_of_it)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct gl_wait w = until(1);
	int fd, winner, rel;
	pid_t holder, child = -1;
	pthread_t t;

	sigaction(SIGINT, &sa, NULL);
	holder = hold(path_a, NULL, &rel, NULL);
	holder_release = rel;
	fd = open_file(path_a);
	w.interruptible = true;
	ck_assert_int_eq(pthread_create(&t, NULL, fork_and_look, &child), 0);
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	pthread_join(t, NULL);
	ck_assert_int_eq(tp_wait(child, 20), 0);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
}
END_TEST

/* A given-up wait keeps its thread's duplicate until its flock returns,
 * but nothing more: five of them, five fds; then none. */
START_TEST(given_up_waits_keep_one_fd_each_until_the_holder_goes)
{
	int fd, winner, rel, before;
	pid_t holder;

	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	before = fds_to("/");
	for (int i = 0; i < 5; i++) {
		struct gl_wait w = until(0.05);
		ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	}
	ck_assert_int_eq(fds_to(path_a), 6);
	ck_assert_int_eq(fds_to("eventfd"), 0);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
	{
		double end = tp_now() + 20;
		while (fds_to("/") != before && tp_now() < end)
			usleep(2000);
	}
	ck_assert_int_eq(fds_to("/"), before);
	wait_until_free(path_a);
}
END_TEST

/* Ignored stays ignored, and a wait that is not interruptible goes on. */
START_TEST(ignored_signals_and_plain_waits_go_on)
{
	static const int sigs[] = {SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal}, after;
	struct gl_wait w = until(0.5);
	int fd, winner, rel;
	pid_t holder, sender;

	signal(SIGTERM, SIG_IGN);
	sigaction(SIGHUP, &sa, NULL);
	holder = hold(path_a, NULL, &rel, NULL);
	fd = open_file(path_a);
	sender = signal_me(sigs, 2); /* SIGHUP has a handler, but w is not interruptible */
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	ck_assert_int_eq(handled[SIGHUP], 1);
	ck_assert_int_eq(tp_wait(sender, 20), 0);
	ck_assert_int_eq(sigaction(SIGTERM, NULL, &after), 0);
	ck_assert_ptr_eq((void *)after.sa_handler, (void *)SIG_IGN);
	w = until(0.5);
	w.interruptible = true;
	sender = signal_me(sigs, 1); /* SIGTERM, ignored: the wait goes on */
	ck_assert_int_eq(gl_wait_first(&fd, 1, LOCK_EX, &w, &winner), -ETIMEDOUT);
	ck_assert_int_eq(tp_wait(sender, 20), 0);
	close(rel);
	ck_assert_int_eq(tp_wait(holder, 20), 0);
}
END_TEST

Suite *wait_suite(void);
Suite *wait_suite(void)
{
	Suite *s = suite_create("wait");
	TCase *tc = tcase_create("wait");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reminders_follow_the_schedule);
	tcase_add_test(tc, reminders_come_while_waiting);
	tcase_add_test(tc, the_reminder_line_names_position_and_holder);
	tcase_add_test(tc, first_of_several_wins_and_the_others_are_let_go);
	tcase_add_test(tc, a_given_up_wait_holds_nothing_in_a_later_child);
	tcase_add_test(tc, a_shared_wait_leaves_a_late_lock_to_a_forked_child);
	tcase_add_test(tc, a_stop_signal_ends_an_interruptible_wait);
	tcase_add_test(tc, ignored_signals_and_plain_waits_go_on);
	tcase_add_test(tc, a_one_shot_handler_is_left_as_the_kernel_leaves_it);
	tcase_add_test(tc, a_child_forked_during_a_wait_inherits_nothing_of_it);
	tcase_add_test(tc, given_up_waits_keep_one_fd_each_until_the_holder_goes);
	suite_add_tcase(s, tc);
	return s;
}
