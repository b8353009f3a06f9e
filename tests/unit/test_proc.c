#include "gl_proc.h"
#include "gl_proc_locks.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(parses_holder_and_waiter_lines)
{
	struct gl_lock_entry e;

	ck_assert_int_eq(gl_proc_locks_parse_line("1: FLOCK  ADVISORY  WRITE 2453 fe:00:10952849 0 EOF", &e), 0);
	ck_assert(e.is_flock && e.exclusive && !e.waiting);
	ck_assert_int_eq(e.pid, 2453);
	ck_assert_uint_eq(e.maj, 0xfe);
	ck_assert_uint_eq(e.min, 0);
	ck_assert_uint_eq(e.ino, 10952849);

	ck_assert_int_eq(gl_proc_locks_parse_line("12: -> FLOCK  ADVISORY  WRITE 77 00:2d:5 0 EOF", &e), 0);
	ck_assert(e.waiting && e.is_flock);
	ck_assert_int_eq(e.pid, 77);
	ck_assert_uint_eq(e.min, 0x2d);

	ck_assert_int_eq(gl_proc_locks_parse_line("3: POSIX  ADVISORY  READ 9 08:01:7 0 EOF", &e), 0);
	ck_assert(!e.is_flock && !e.exclusive);
	ck_assert_int_eq(gl_proc_locks_parse_line("garbage", &e), -EINVAL);
	ck_assert_int_eq(gl_proc_locks_parse_line("", &e), -EINVAL);
}
END_TEST

START_TEST(finds_holders_first_then_waiters)
{
	char dir[200], path[220];
	FILE *f;
	struct gl_lock_entry e[4];
	size_t total;

	tp_make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/locks", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("1: POSIX  ADVISORY  WRITE 10 fe:00:99 0 EOF\n"
	      "2: FLOCK  ADVISORY  WRITE 20 fe:00:42 0 EOF\n"
	      "2: -> FLOCK  ADVISORY  WRITE 21 fe:00:42 0 EOF\n"
	      "2: -> FLOCK  ADVISORY  WRITE 22 fe:00:42 0 EOF\n"
	      "3: FLOCK  ADVISORY  WRITE 30 fe:01:42 0 EOF\n"
	      "4: FLOCK  ADVISORY  READ 40 fe:00:42 0 EOF\n",
	      f);
	fclose(f);
	ck_assert_int_eq(gl_proc_locks_find(path, makedev(0xfe, 0), 42, e, 4, &total), 0);
	ck_assert_uint_eq(total, 4);
	ck_assert_int_eq(e[0].pid, 20);
	ck_assert(!e[0].waiting);
	ck_assert_int_eq(e[1].pid, 40);
	ck_assert(!e[1].waiting);
	ck_assert_int_eq(e[2].pid, 21);
	ck_assert(e[2].waiting);
	ck_assert_int_eq(e[3].pid, 22);
	/* A short array keeps counting. */
	ck_assert_int_eq(gl_proc_locks_find(path, makedev(0xfe, 0), 42, e, 1, &total), 0);
	ck_assert_uint_eq(total, 4);
	ck_assert_int_eq(e[0].pid, 20);
	unlink(path);
	ck_assert_int_eq(gl_proc_locks_find(path, 0, 1, e, 4, &total), -ENOENT);
}
END_TEST

/* A line read twice, as a read of /proc/locks can show one when locks come
 * and go between its pages, is one entry; entries of pid 0 (another pid
 * namespace) are all kept. */
START_TEST(a_line_read_twice_counts_once)
{
	char dir[200], path[220];
	FILE *f;
	struct gl_lock_entry e[8];
	size_t total;

	tp_make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/locks", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("2: FLOCK  ADVISORY  WRITE 20 fe:00:42 0 EOF\n"
	      "2: -> FLOCK  ADVISORY  WRITE 21 fe:00:42 0 EOF\n"
	      "2: -> FLOCK  ADVISORY  WRITE 22 fe:00:42 0 EOF\n"
	      "3: FLOCK  ADVISORY  WRITE 20 fe:00:42 0 EOF\n"
	      "3: -> FLOCK  ADVISORY  WRITE 21 fe:00:42 0 EOF\n"
	      "3: -> FLOCK  ADVISORY  WRITE 22 fe:00:42 0 EOF\n"
	      "4: FLOCK  ADVISORY  READ 0 fe:00:42 0 EOF\n"
	      "5: FLOCK  ADVISORY  READ 0 fe:00:42 0 EOF\n",
	      f);
	fclose(f);
	ck_assert_int_eq(gl_proc_locks_find(path, makedev(0xfe, 0), 42, e, 8, &total), 0);
	ck_assert_uint_eq(total, 5);
	ck_assert_int_eq(e[0].pid, 20);
	ck_assert_int_eq(e[1].pid, 0);
	ck_assert_int_eq(e[2].pid, 0);
	ck_assert(e[3].waiting);
	ck_assert_int_eq(e[3].pid, 21);
	ck_assert_int_eq(e[4].pid, 22);
	unlink(path);
}
END_TEST

/* A locks table that changes between reads, as /proc/locks does: a FIFO a
 * child writes one table into per opening. Before the next table it waits
 * for the reader to close (else the reader would read on into it). Returns
 * the child. */
static pid_t serve_tables(const char *fifo, const char *const *tables)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct inotify_event ev;
		int in = inotify_init1(IN_CLOEXEC);

		if (in < 0 || inotify_add_watch(in, fifo, IN_CLOSE_NOWRITE) < 0)
			_exit(1);
		for (; *tables; tables++) {
			FILE *f = fopen(fifo, "w");
			if (!f)
				_exit(1);
			fputs(*tables, f);
			fclose(f);
			if (read(in, &ev, sizeof ev) != (ssize_t)sizeof ev)
				_exit(1);
		}
		_exit(0);
	}
	return pid;
}

#define WAITER "2: -> FLOCK  ADVISORY  WRITE 21 fe:00:42 0 EOF\n"
#define HOLDER "2: FLOCK  ADVISORY  WRITE 20 fe:00:42 0 EOF\n"

/* A read that misses the holder (a line skipped between two pages) is taken
 * again, three reads in all; gl_proc_locks_find takes what it reads. */
START_TEST(find_held_reads_again_when_no_holder_shows)
{
	char dir[200], fifo[220];
	const char *third[] = {WAITER, WAITER, HOLDER WAITER, NULL};
	const char *fourth[] = {WAITER, "", WAITER, HOLDER, NULL};
	const char *once[] = {HOLDER, "", NULL};
	struct gl_lock_entry e[4];
	size_t total;
	int status;
	pid_t child;

	tp_make_dir(dir, sizeof dir);
	snprintf(fifo, sizeof fifo, "%s/locks", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);

	child = serve_tables(fifo, third);
	ck_assert_int_eq(gl_proc_locks_find_held(fifo, makedev(0xfe, 0), 42, e, 4, &total), 0);
	ck_assert_uint_eq(total, 2);
	ck_assert_int_eq(e[0].pid, 20);
	ck_assert(!e[0].waiting);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0); /* all three tables were read */

	/* No holder in three reads: the last read stands; the fourth table is
	 * never read. */
	child = serve_tables(fifo, fourth);
	ck_assert_int_eq(gl_proc_locks_find_held(fifo, makedev(0xfe, 0), 42, e, 4, &total), 0);
	ck_assert_uint_eq(total, 1);
	ck_assert(e[0].waiting);
	kill(child, SIGKILL); /* blocked opening the FIFO for the fourth */
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));

	/* One read when the holder shows at once: the second table is not read. */
	child = serve_tables(fifo, once);
	ck_assert_int_eq(gl_proc_locks_find_held(fifo, makedev(0xfe, 0), 42, e, 4, &total), 0);
	ck_assert_uint_eq(total, 1);
	ck_assert(!e[0].waiting);
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));
	unlink(fifo);
	rmdir(dir);
}
END_TEST

START_TEST(reads_own_process)
{
	char cmd[256];
	double age = -1;
	uid_t uid;

	ck_assert_int_eq(gl_proc_cmdline(getpid(), cmd, sizeof cmd), 0);
	ck_assert_ptr_nonnull(strstr(cmd, "unit"));
	ck_assert_int_eq(gl_proc_age(getpid(), &age), 0);
	ck_assert(age >= 0 && age < 3600);
	ck_assert_int_eq(gl_proc_uid(getpid(), &uid), 0);
	ck_assert_int_eq(uid, geteuid());
	ck_assert_int_eq(gl_proc_cmdline(0x7ffffff0, cmd, sizeof cmd), -ENOENT);
}
END_TEST

/* Is pid listed on (dev, ino) in /proc/locks, as a waiter or a holder?
 * Polled with a deadline of 10 s. */
static bool shows_in_locks(dev_t dev, ino_t ino, pid_t pid, bool waiting)
{
	struct gl_lock_entry e[8];
	size_t total;

	for (int i = 0; i < 10000; i++) {
		if (gl_proc_locks_find("/proc/locks", dev, ino, e, 8, &total) == 0)
			for (size_t k = 0; k < total && k < 8; k++)
				if (e[k].pid == pid && e[k].waiting == waiting)
					return true;
		usleep(1000);
	}
	return false;
}

/* The lock taken by a process that has exited lives on in the processes
 * that inherited its fd, as gpu_run.sh's and cpu_run.sh's flock(1) leaves
 * it: the taker A forks B, B forks C, A exits. B is the holder named (C is
 * its child); a waiter with its own fd on the file is not. */
START_TEST(flock_holder_is_who_inherited_the_lock)
{
	char dir[4096], path[4200];
	int go[2], ready[2], fd, status;
	pid_t a, b_c[2], waiter;
	struct stat st;

	tp_make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/lock", dir);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ready), 0);
	a = fork();
	ck_assert_int_ge(a, 0);
	if (a == 0) {
		fd = open(path, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		close(go[1]);
		close(ready[0]);
		if (fork() == 0) { /* B */
			pid_t pids[2] = {getpid(), fork()};
			char c;

			if (pids[1] == 0) /* C */
				pids[0] = 0;
			else if (pids[1] < 0 || write(ready[1], pids, sizeof pids) != sizeof pids)
				_exit(1);
			close(ready[1]);
			while (read(go[0], &c, 1) > 0)
				;
			_exit(0);
		}
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(waitpid(a, &status, 0), a);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(read(ready[0], b_c, sizeof b_c), (ssize_t)sizeof b_c);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(shows_in_locks(st.st_dev, st.st_ino, a, false));

	waiter = fork();
	ck_assert_int_ge(waiter, 0);
	if (waiter == 0) {
		close(go[1]);
		fd = open(path, O_RDONLY);
		_exit(fd >= 0 && flock(fd, LOCK_EX) == 0 ? 0 : 1);
	}
	ck_assert(shows_in_locks(st.st_dev, st.st_ino, waiter, true));

	ck_assert_int_eq(gl_proc_flock_holder(st.st_dev, st.st_ino, a), b_c[0]);
	ck_assert_int_eq(gl_proc_flock_holder(st.st_dev, st.st_ino, b_c[0]), b_c[0]);
	ck_assert_int_eq(gl_proc_flock_holder(st.st_dev, st.st_ino, 0), b_c[0]);
	{ /* a file nobody locks: our directory */
		struct stat ds;
		ck_assert_int_eq(stat(dir, &ds), 0);
		ck_assert_int_eq(gl_proc_flock_holder(ds.st_dev, ds.st_ino, a), 0);
	}

	close(go[1]); /* B and C end; the waiter gets the lock and ends */
	ck_assert_int_eq(waitpid(waiter, &status, 0), waiter);
	ck_assert_int_eq(status, 0);
	close(ready[0]);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *proc_suite(void);
Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_add_test(tc, parses_holder_and_waiter_lines);
	tcase_add_test(tc, finds_holders_first_then_waiters);
	tcase_add_test(tc, a_line_read_twice_counts_once);
	tcase_add_test(tc, find_held_reads_again_when_no_holder_shows);
	tcase_add_test(tc, reads_own_process);
	tcase_add_test(tc, flock_holder_is_who_inherited_the_lock);
	suite_add_tcase(s, tc);
	return s;
}
