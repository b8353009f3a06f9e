/* The pieces under cpu_run, called directly: number and size parsing,
 * meminfo, and the slot core's API (open, fast path, queue, and the
 * read-only inspection gpulock status uses). */
#include "cpu_run_harness.h"
#include "gl_meminfo.h"
#include "gl_parse.h"
#include "gl_size.h"
#include "gl_slots.h"

#include <check.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A wait until deadline (< 0: none), as cpu_run's are. */
#define UNTIL(d) (&(struct gl_wait){.start = tp_now(), .deadline = (d)})

START_TEST(parse_long_strict)
{
	static const char *const bad[] = {"", "x", "1x", " 1", "1 ", "+1", "0x10", "1.0", "-", "--1", NULL};
	long v = 42;

	ck_assert_int_eq(gl_parse_long("17", 1, 100, &v), 0);
	ck_assert_int_eq(v, 17);
	ck_assert_int_eq(gl_parse_long("-20", -20, 19, &v), 0);
	ck_assert_int_eq(v, -20);
	ck_assert_int_eq(gl_parse_long("007", 0, 10, &v), 0); /* decimal, not octal */
	ck_assert_int_eq(v, 7);
	for (int i = 0; bad[i]; i++)
		ck_assert_msg(gl_parse_long(bad[i], -100, 100, &v) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(gl_parse_long(NULL, 0, 1, &v), -EINVAL);
	ck_assert_int_eq(gl_parse_long("0", 1, 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_long("101", 1, 100, &v), -ERANGE);
	ck_assert_int_eq(gl_parse_long("99999999999999999999999", 1, 100, &v), -ERANGE);
	ck_assert_int_eq(v, 7); /* untouched on error */
}
END_TEST

START_TEST(size_units_are_binary)
{
	static const struct {
		const char *s;
		unsigned long long bytes;
	} ok[] = {
		{"0", 0},
		{"4096", 4096},
		{"100B", 100},
		{"1K", 1024},
		{"1k", 1024},
		{"2KiB", 2048},
		{"2kb", 2048},
		{"512M", 512ULL << 20},
		{"4G", 4ULL << 30},
		{"4GB", 4ULL << 30},
		{"4gib", 4ULL << 30},
		{"1.5G", 3ULL << 29},
		{".5G", 1ULL << 29},
		{"2T", 2ULL << 40},
		{"1P", 1ULL << 50},
		{"1024P", 1ULL << 60},
	};
	struct gl_size sz;

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		ck_assert_msg(gl_size_parse(ok[i].s, &sz) == 0, "refused '%s'", ok[i].s);
		ck_assert_msg(!sz.percent && sz.bytes == ok[i].bytes, "'%s' gave %llu", ok[i].s,
		              sz.bytes);
	}
	ck_assert_int_eq(gl_size_parse("25%", &sz), 0);
	ck_assert(sz.percent);
	ck_assert_uint_eq(gl_size_bytes(&sz, 16ULL << 30), 4ULL << 30);
	ck_assert_int_eq(gl_size_parse("12.5%", &sz), 0);
	ck_assert_uint_eq(gl_size_bytes(&sz, 8ULL << 30), 1ULL << 30);
	ck_assert_int_eq(gl_size_parse("100%", &sz), 0);
}
END_TEST

START_TEST(size_rejects_junk)
{
	static const char *const inval[] = {"", "G", "x", "4X", "4 G", " 4G", "4G ", "1.2.3G", "1e9",
	                                    "0x10", "inf", "nan", "%", "4%%", "4GiBs", "4iB", "4BB",
	                                    "+4G", NULL};
	static const char *const range[] = {"-1", "-1G", "101%", "1025P", "2E",
	                                    "99999999999999999999999999999999999999999999999999999999999999999999", NULL};
	struct gl_size sz = {.bytes = 42};

	for (int i = 0; inval[i]; i++)
		ck_assert_msg(gl_size_parse(inval[i], &sz) == -EINVAL, "'%s' not -EINVAL", inval[i]);
	for (int i = 0; range[i]; i++) {
		int r = gl_size_parse(range[i], &sz);
		ck_assert_msg(r == -ERANGE || (strcmp(range[i], "2E") == 0 && r == -EINVAL),
		              "'%s' gave %d", range[i], r);
	}
	ck_assert_int_eq(gl_size_parse(NULL, &sz), -EINVAL);
	ck_assert_uint_eq(sz.bytes, 42);
}
END_TEST

START_TEST(size_format)
{
	char buf[32];

	gl_size_format(100, buf, sizeof buf);
	ck_assert_str_eq(buf, "100 B");
	gl_size_format(1ULL << 30, buf, sizeof buf);
	ck_assert_str_eq(buf, "1 GiB");
	gl_size_format(3ULL << 29, buf, sizeof buf);
	ck_assert_str_eq(buf, "1.5 GiB");
	gl_size_format(512ULL << 20, buf, sizeof buf);
	ck_assert_str_eq(buf, "512 MiB");
}
END_TEST

START_TEST(meminfo_fields)
{
	char path[160];
	unsigned long long total = 0, avail = 0;

	t_setup();
	snprintf(path, sizeof path, "%s/meminfo", t_dir);
	tp_write_file(path, "MemTotal:       16384 kB\nMemFree:  10 kB\nMemAvailable:    2048 kB\n");
	ck_assert_int_eq(gl_meminfo_read(path, &total, &avail), 0);
	ck_assert_uint_eq(total, 16384ULL * 1024);
	ck_assert_uint_eq(avail, 2048ULL * 1024);
	tp_write_file(path, "MemTotal:       16384 kB\nMemFree:  10 kB\n"); /* before Linux 3.14 */
	ck_assert_int_eq(gl_meminfo_read(path, &total, &avail), -ENODATA);
	ck_assert_int_eq(gl_meminfo_read("/nonexistent", &total, &avail), -ENOENT);
	ck_assert_int_eq(gl_meminfo_read(GL_MEMINFO_PATH, &total, &avail), 0);
	ck_assert(total > 0 && avail > 0 && avail <= total);
}
END_TEST

/* ---- the slot core ---- */

START_TEST(open_refuses_what_it_must)
{
	struct gl_slots s;
	uid_t owner;
	bool created;
	char link[160];

	t_setup();
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 3, false, &owner, &created), -ENOENT);
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 0, true, &owner, &created), -EINVAL);
	ck_assert_int_eq(gl_slots_open(&s, t_slots, GL_SLOTS_MAX + 1, true, &owner, &created), -EINVAL);
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 3, true, &owner, &created), 0);
	ck_assert(created);
	gl_slots_close(&s);
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 3, true, &owner, &created), 0);
	ck_assert(!created);
	ck_assert_uint_eq(owner, geteuid());
	gl_slots_close(&s);
	snprintf(link, sizeof link, "%s/link", t_dir);
	ck_assert_int_eq(symlink(t_slots, link), 0);
	ck_assert_int_eq(gl_slots_open(&s, link, 3, true, &owner, &created), -ELOOP);
	ck_assert_int_eq(gl_slots_open(&s, "/etc/passwd", 3, true, &owner, &created), -ENOTDIR);
}
END_TEST

/* A slot directory of another user is refused, naming its owner. Test case
 * "root": only root can give a directory away. */
START_TEST(open_refuses_a_slot_dir_of_another_user)
{
	struct gl_slots s;
	uid_t owner;
	bool created;

	t_setup();
	if (geteuid() != 0) {
		tp_skip("open_refuses_a_slot_dir_of_another_user",
		        "needs root, to make a directory another user's");
		return;
	}
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 3, true, &owner, &created), 0);
	ck_assert(created);
	gl_slots_close(&s);
	ck_assert_int_eq(chown(t_slots, 65534, 65534), 0);
	ck_assert_int_eq(gl_slots_open(&s, t_slots, 3, true, &owner, &created), -EPERM);
	ck_assert_uint_eq(owner, 65534);
}
END_TEST

START_TEST(fast_path_takes_free_slots_then_stops)
{
	struct gl_slots a, b, c;
	uid_t owner;
	bool created;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 2, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&b, t_slots, 2, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&c, t_slots, 2, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_try(&a), 1);
	ck_assert_uint_eq(a.held, 1);
	ck_assert_int_eq(gl_slots_try(&b), 1);
	ck_assert_uint_eq(b.held, 2);
	ck_assert_int_eq(gl_slots_try(&c), 0);
	ck_assert_uint_eq(c.held, 0);
	gl_slots_release(&a);
	ck_assert_int_eq(gl_slots_try(&c), 1);
	ck_assert_uint_eq(c.held, 1);
	gl_slots_close(&c);
	/* With someone queued, a free slot is not for newcomers. */
	{
		unsigned ahead = 99;
		ck_assert_int_eq(gl_slots_enqueue(&a, &ahead), 0);
		ck_assert_uint_eq(ahead, 0);
		ck_assert_int_eq(gl_slots_open(&c, t_slots, 2, true, &owner, &created), 0);
		ck_assert_int_eq(gl_slots_try(&c), 0);
		ck_assert_uint_eq(c.held, 0);
		ck_assert_int_eq(gl_slots_wait_head(&a, UNTIL(-1)), 0);
		ck_assert_int_eq(gl_slots_wait_slot(&a, UNTIL(-1), NULL, NULL), 0);
		ck_assert_uint_eq(a.held, 1);
		gl_slots_dequeue(&a);
		ck_assert_int_eq(t_tickets(), 0);
	}
	gl_slots_close(&a);
	gl_slots_close(&b);
	gl_slots_close(&c);
}
END_TEST

/* The waiters ahead of us, for the reminders: those still queued, not
 * every one that was there when we joined. */
START_TEST(ahead_counts_who_is_still_queued)
{
	struct gl_slots a, b, c;
	unsigned ahead = 99;
	uid_t owner;
	bool created;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&b, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&c, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_enqueue(&a, &ahead), 0);
	ck_assert_int_eq(gl_slots_enqueue(&b, &ahead), 0);
	ck_assert_int_eq(gl_slots_enqueue(&c, &ahead), 0);
	ck_assert_uint_eq(ahead, 2);
	ck_assert_uint_eq(gl_slots_ahead(&c), 2);
	gl_slots_dequeue(&a); /* the first got its slot and left */
	ck_assert_uint_eq(gl_slots_ahead(&c), 1);
	gl_slots_dequeue(&b);
	ck_assert_uint_eq(gl_slots_ahead(&c), 0);
	gl_slots_close(&a);
	gl_slots_close(&b);
	gl_slots_close(&c);
}
END_TEST

/* A ticket left by a killed waiter is nobody in the queue: a newcomer
 * takes the free slot (it used to be turned away, and cpu_run -w 0 then ran
 * without a slot). The dead ticket is removed on the way. */
START_TEST(a_dead_ticket_does_not_turn_newcomers_away)
{
	struct gl_slots a;
	char dead[4200];
	uid_t owner;
	bool created;
	int fd;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 2, true, &owner, &created), 0);
	snprintf(dead, sizeof dead, "%s/" GL_SLOTS_TICKET_PREFIX "7", t_slots);
	fd = open(dead, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(gl_slots_try(&a), 1);
	ck_assert_uint_eq(a.held, 1);
	ck_assert_int_eq(access(dead, F_OK), -1);
	gl_slots_close(&a);
}
END_TEST

/* Anyone may create names in a shared slot directory: a socket bound as a
 * ticket name is no ticket, and stops nobody (it made every cpu_run fail,
 * "No such device or address"). */
START_TEST(a_socket_named_like_a_ticket_is_skipped)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct gl_slots a, b;
	unsigned ahead = 99;
	uid_t owner;
	bool created;
	int sock;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_lt(snprintf(addr.sun_path, sizeof addr.sun_path, "%s/" GL_SLOTS_TICKET_PREFIX "5",
	                          t_slots),
	                 (int)sizeof addr.sun_path);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0);
	ck_assert_int_eq(gl_slots_try(&a), 1);
	ck_assert_int_eq(gl_slots_open(&b, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_enqueue(&b, &ahead), 0);
	ck_assert_uint_eq(ahead, 0);
	ck_assert_int_eq(gl_slots_wait_head(&b, UNTIL(tp_now() + 5)), 0);
	gl_slots_close(&a);
	gl_slots_close(&b);
	close(sock);
}
END_TEST

static int on_wait_calls;

static void count_wait(struct gl_slots *s, void *arg)
{
	(void)s;
	(void)arg;
	on_wait_calls++;
}

START_TEST(wait_slot_times_out_and_wakes)
{
	struct gl_slots a, b;
	uid_t owner;
	bool created;
	double t0;
	pid_t child;
	int status;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&b, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_try(&a), 1);
	t0 = tp_now();
	ck_assert_int_eq(gl_slots_wait_slot(&b, UNTIL(tp_now() + 0.2), count_wait, NULL), -ETIMEDOUT);
	ck_assert(tp_now() - t0 >= 0.19);
	ck_assert_int_eq(on_wait_calls, 1);
	/* past */
	ck_assert_int_eq(gl_slots_wait_slot(&b, UNTIL(tp_now() - 1), NULL, NULL), -ETIMEDOUT);
	/* A late winner after the timeout gives the slot back at once. */
	gl_slots_release(&a);
	child = fork();
	if (child == 0) {
		struct gl_slots c;
		/* The other side can take it: nobody kept it. */
		if (gl_slots_open(&c, t_slots, 1, true, &owner, &created) < 0)
			_exit(2);
		_exit(gl_slots_wait_slot(&c, UNTIL(tp_now() + 10), NULL, NULL) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* Woken by a release, not by a timer. (b's late thread, still blocked
	 * if the child won, takes and drops the slot when the child exits: a
	 * try could meet it holding, so a waits.) */
	ck_assert_int_eq(gl_slots_wait_slot(&a, UNTIL(tp_now() + 10), NULL, NULL), 0);
	child = fork();
	if (child == 0) {
		struct gl_slots c;
		if (gl_slots_open(&c, t_slots, 1, true, &owner, &created) < 0)
			_exit(2);
		_exit(gl_slots_wait_slot(&c, UNTIL(-1), NULL, NULL) == 0 ? 0 : 1);
	}
	t_wait_lock(t_slot(1), child, true);
	gl_slots_release(&a);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	gl_slots_close(&a);
	gl_slots_close(&b);
}
END_TEST

START_TEST(inspect_reads_slots_and_queue_without_taking)
{
	struct gl_slots a, w1, w2;
	struct gl_slot_state st[8];
	struct gl_ticket_state tk[8];
	size_t ns, nt;
	uid_t owner;
	bool created;
	unsigned ahead;
	char dead[200];
	int fd;

	t_setup();
	ck_assert_int_eq(gl_slots_inspect(t_slots, 0, st, 8, &ns, tk, 8, &nt, NULL), -ENOENT);
	ck_assert_int_eq(gl_slots_open(&a, t_slots, 3, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&w1, t_slots, 3, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_open(&w2, t_slots, 3, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_try(&a), 1); /* slot1; slot2 and 3 not made yet */
	ck_assert_int_eq(gl_slots_enqueue(&w1, &ahead), 0);
	ck_assert_uint_eq(ahead, 0);
	/* A ticket of a killed waiter: there, but nobody's lock on it. */
	snprintf(dead, sizeof dead, "%s/" GL_SLOTS_TICKET_PREFIX "%llu", t_slots, w1.ticket + 1);
	fd = open(dead, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(gl_slots_enqueue(&w2, &ahead), 0);
	ck_assert_uint_eq(ahead, 1);                     /* w1 alive; the dead one was removed */
	ck_assert_uint_eq(w2.ticket, w1.ticket + 2);
	ck_assert_int_eq(access(dead, F_OK), -1);

	ck_assert_int_eq(gl_slots_inspect(t_slots, 3, st, 8, &ns, tk, 8, &nt, NULL), 0);
	ck_assert_uint_eq(ns, 3);
	ck_assert(st[0].exists && st[0].held && st[0].pid == getpid());
	ck_assert(!st[1].exists && !st[1].held && st[1].pid == 0);
	ck_assert_uint_eq(nt, 2);
	ck_assert(tk[0].number == w1.ticket && tk[0].live && tk[0].pid == getpid());
	ck_assert(tk[1].number == w2.ticket && tk[1].live);
	ck_assert(tk[0].waited >= 0 && tk[0].waited < 60);
	/* nslots 0: as many as there are files. */
	ck_assert_int_eq(gl_slots_inspect(t_slots, 0, st, 8, &ns, tk, 1, &nt, NULL), 0);
	ck_assert_uint_eq(ns, 1);
	ck_assert_uint_eq(nt, 2); /* counted beyond the cap */
	/* Taking nothing: the holder and the waiters still hold. */
	t_wait_lock(t_slot(1), getpid(), false);
	gl_slots_close(&w1);
	ck_assert_int_eq(gl_slots_inspect(t_slots, 3, st, 8, &ns, tk, 8, &nt, NULL), 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_int_eq(gl_slots_wait_head(&w2, UNTIL(tp_now() + 5)), 0);
	gl_slots_close(&w2);
	gl_slots_close(&a);
	ck_assert_int_eq(gl_slots_inspect(t_slots, 3, st, 8, &ns, tk, 8, &nt, NULL), 0);
	ck_assert(!st[0].held);
	ck_assert_uint_eq(nt, 0);
}
END_TEST

START_TEST(wait_head_follows_a_live_predecessor)
{
	struct gl_slots w1, w2;
	uid_t owner;
	bool created;
	unsigned ahead;
	pid_t child;
	int status, go[2];
	char c;

	t_setup();
	ck_assert_int_eq(gl_slots_open(&w1, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(pipe(go), 0);
	child = fork();
	if (child == 0) { /* the predecessor: queues, then waits to be told to leave */
		close(go[1]);
		if (gl_slots_enqueue(&w1, &ahead) < 0)
			_exit(2);
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		gl_slots_dequeue(&w1);
		_exit(0);
	}
	close(go[0]);
	t_wait_ticket(child);
	ck_assert_int_eq(gl_slots_open(&w2, t_slots, 1, true, &owner, &created), 0);
	ck_assert_int_eq(gl_slots_enqueue(&w2, &ahead), 0);
	ck_assert_uint_eq(ahead, 1);
	ck_assert_int_eq(gl_slots_wait_head(&w2, UNTIL(tp_now() + 0.2)), -ETIMEDOUT);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	ck_assert_int_eq(gl_slots_wait_head(&w2, UNTIL(tp_now() + 20)), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	gl_slots_close(&w2);
	gl_slots_close(&w1);
	ck_assert_int_eq(t_tickets(), 0);
}
END_TEST

Suite *units_suite(void);
Suite *units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *parse = tcase_create("parse");
	TCase *slots = tcase_create("slots");
	TCase *root = tcase_create("root"); /* skipped where the tests do not run as root */

	tcase_add_test(parse, parse_long_strict);
	tcase_add_test(parse, size_units_are_binary);
	tcase_add_test(parse, size_rejects_junk);
	tcase_add_test(parse, size_format);
	tcase_add_test(parse, meminfo_fields);
	tcase_add_test(slots, open_refuses_what_it_must);
	tcase_add_test(slots, fast_path_takes_free_slots_then_stops);
	tcase_add_test(slots, a_dead_ticket_does_not_turn_newcomers_away);
	tcase_add_test(slots, ahead_counts_who_is_still_queued);
	tcase_add_test(slots, a_socket_named_like_a_ticket_is_skipped);
	tcase_add_test(slots, wait_slot_times_out_and_wakes);
	tcase_add_test(slots, inspect_reads_slots_and_queue_without_taking);
	tcase_add_test(slots, wait_head_follows_a_live_predecessor);
	tcase_set_timeout(slots, 60);
	tcase_add_checked_fixture(parse, NULL, t_teardown);
	suite_add_tcase(s, parse);
	tcase_add_checked_fixture(slots, NULL, t_teardown);
	suite_add_tcase(s, slots);
	tcase_add_test(root, open_refuses_a_slot_dir_of_another_user);
	tcase_set_tags(root, "conditional");
	tcase_set_timeout(root, 60);
	tcase_add_checked_fixture(root, NULL, t_teardown);
	suite_add_tcase(s, root);
	return s;
}
