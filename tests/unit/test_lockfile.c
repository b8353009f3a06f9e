#include "gl_hardened.h"
#include "gl_lock.h"
#include "gl_lockfile.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[200];
static char path[220];

static void make_dir(void)
{
	tp_make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/gpu.lock", dir);
}

START_TEST(creates_with_documented_mode_despite_umask)
{
	struct stat st;
	int fd = -1;

	make_dir();
	umask(077);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, GL_LOCKFILE_MODE);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}
END_TEST

START_TEST(opens_existing_without_truncating)
{
	char buf[16] = {0};
	int fd = -1, w;

	make_dir();
	w = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(w, "keep me", 7), 7);
	close(w);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	ck_assert_int_eq(pread(fd, buf, sizeof buf - 1, 0), 7);
	ck_assert_str_eq(buf, "keep me");
}
END_TEST

START_TEST(falls_back_to_read_only)
{
	int fd = -1;

	make_dir();
	close(open(path, O_WRONLY | O_CREAT, 0444));
	/* Root may write anything: become nobody (this test has its own process). */
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(dir, 0755), 0);
		ck_assert_int_eq(setresuid(65534, 65534, 65534), 0);
	}
	ck_assert_int_eq(access(path, W_OK), -1);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
}
END_TEST

START_TEST(refuses_symlinks_without_touching_target)
{
	char target[260];
	struct stat st;
	int fd = -1;

	make_dir();
	snprintf(target, sizeof target, "%s/target", dir);
	close(open(target, O_WRONLY | O_CREAT, 0600));
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), -ELOOP);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	unlink(path);
	ck_assert_int_eq(symlink("/dev/null", path), 0);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), -ELOOP);

	unlink(path); /* dangling: must not create the target */
	snprintf(target, sizeof target, "%s/nothing-here", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), -ELOOP);
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(refuses_directories_fifos_and_devices)
{
	int fd = -1;

	make_dir();
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), -EISDIR);
	rmdir(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), -EBADFD); /* and did not block */
	ck_assert_int_eq(gl_lockfile_open("/dev/null", &fd), -EBADFD);
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_nonnull(strstr(gl_lockfile_strerror(-EBADFD), "not a regular file"));
	ck_assert_ptr_nonnull(strstr(gl_lockfile_strerror(-ELOOP), "symbolic link"));
}
END_TEST

/* What a planted path is and who owns it: the owner's name as /etc/passwd
 * has it (read by hand), or the uid alone. */
START_TEST(explains_what_a_path_is_and_its_owner)
{
	char want[300], got[300], name[96];
	struct passwd *pw = getpwuid(geteuid());

	make_dir();
	if (pw)
		snprintf(name, sizeof name, "%s, uid %u", pw->pw_name, (unsigned)geteuid());
	else
		snprintf(name, sizeof name, "uid %u", (unsigned)geteuid());
	gl_owner_text(geteuid(), got, sizeof got);
	ck_assert_str_eq(got, name);
	gl_owner_text(4000000000u, got, sizeof got); /* no such user */
	ck_assert_str_eq(got, "uid 4000000000");
	gl_owner_text(0, got, sizeof got);
	ck_assert_str_eq(got, "root, uid 0");

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	gl_lockfile_explain(path, -EBADFD, got, sizeof got);
	snprintf(want, sizeof want, "it is a FIFO, not a regular file (owned by %s)", name);
	ck_assert_str_eq(got, want);
	gl_lockfile_explain(path, -ENOTDIR, got, sizeof got); /* where a directory goes */
	snprintf(want, sizeof want, "it is a FIFO, not a directory (owned by %s)", name);
	ck_assert_str_eq(got, want);
	unlink(path);
	ck_assert_int_eq(symlink("/nonexistent", path), 0);
	gl_lockfile_explain(path, -ELOOP, got, sizeof got);
	snprintf(want, sizeof want, "it is a symbolic link, never followed (owned by %s)", name);
	ck_assert_str_eq(got, want);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	gl_lockfile_explain(path, -EISDIR, got, sizeof got);
	snprintf(want, sizeof want, "it is a directory, not a regular file (owned by %s)", name);
	ck_assert_str_eq(got, want);
	rmdir(path);
	/* Gone by now, or another error: the error's own text. */
	gl_lockfile_explain(path, -EBADFD, got, sizeof got);
	ck_assert_str_eq(got, gl_lockfile_strerror(-EBADFD));
	gl_lockfile_explain("/dev/null", -EACCES, got, sizeof got);
	ck_assert_str_eq(got, "permission denied");
	ck_assert_str_eq(gl_file_kind(S_IFSOCK), "a socket");
	ck_assert_str_eq(gl_file_kind(S_IFCHR), "a character device");
}
END_TEST

/* The hardened directory counts only when root's, a real directory, and
 * not writable by group or others. */
START_TEST(hardened_dir_must_be_roots_and_not_writable_by_others)
{
	char link[240];

	make_dir();
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	ck_assert(gl_hardened_dir_ok(path) == (geteuid() == 0));
	ck_assert_int_eq(chmod(path, 0775), 0);
	ck_assert(!gl_hardened_dir_ok(path));
	ck_assert_int_eq(chmod(path, 0757), 0);
	ck_assert(!gl_hardened_dir_ok(path));
	ck_assert_int_eq(chmod(path, 0700), 0);
	ck_assert(gl_hardened_dir_ok(path) == (geteuid() == 0));
	snprintf(link, sizeof link, "%s/link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert(!gl_hardened_dir_ok(link));
	ck_assert(!gl_hardened_dir_ok("/nonexistent-gl-dir"));
	ck_assert(!gl_hardened_dir_ok("/dev/null"));
}
END_TEST

START_TEST(missing_directory_is_enoent)
{
	int fd = -1;

	ck_assert_int_eq(gl_lockfile_open("/nonexistent-gl-dir/gpu.lock", &fd), -ENOENT);
	ck_assert_ptr_nonnull(strstr(gl_lockfile_strerror(-ENOENT), "directory does not exist"));
}
END_TEST

/* A child process holds the lock until the test writes to its pipe. */
static pid_t hold_in_child(int *release_fd)
{
	int ready[2], release[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CREAT, 0666);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1 || read(release[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release_fd = release[1];
	return pid;
}

static void on_wait_release(int fd, void *arg)
{
	(void)fd;
	/* The release comes only after we announced the wait: the blocking
	 * path, not the first try, must get the lock. */
	ck_assert_int_eq(write(*(int *)arg, "x", 1), 1);
}

/* A wait of timeout seconds from now (GL_WAIT_FOREVER: no deadline). */
static struct gl_wait within(double timeout)
{
	struct gl_wait w = {.start = gl_wait_now(), .deadline = -1};

	if (timeout >= 0)
		w.deadline = w.start + timeout;
	return w;
}

START_TEST(acquire_free_lock_does_not_wait)
{
	struct gl_wait w;
	bool waited = true;
	int fd;

	make_dir();
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	w = within(GL_WAIT_FOREVER);
	ck_assert_int_eq(gl_lock_acquire(fd, &w, NULL, NULL, &waited), 0);
	ck_assert(!waited);
	ck_assert_int_eq(gl_lock_is_held(path), 1);
	close(fd);
	ck_assert_int_eq(gl_lock_is_held(path), 0);
}
END_TEST

START_TEST(acquire_waits_for_release)
{
	struct gl_wait w;
	int fd, release, status;
	bool waited = false;
	pid_t pid;

	make_dir();
	pid = hold_in_child(&release);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	w = within(GL_WAIT_FOREVER);
	ck_assert_int_eq(gl_lock_acquire(fd, &w, on_wait_release, &release, &waited), 0);
	ck_assert(waited);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
}
END_TEST

START_TEST(bounded_wait_gets_lock_released_in_time)
{
	struct gl_wait w;
	int fd, release;
	bool waited = false;

	make_dir();
	hold_in_child(&release);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	w = within(30);
	ck_assert_int_eq(gl_lock_acquire(fd, &w, on_wait_release, &release, &waited), 0);
	ck_assert(waited);
	ck_assert_int_eq(gl_lock_is_held(path), 1);
}
END_TEST

START_TEST(bounded_wait_times_out_and_leaves_no_lock_behind)
{
	struct gl_wait w;
	int fd, release, status;
	bool waited = false;
	pid_t pid;

	make_dir();
	pid = hold_in_child(&release);
	ck_assert_int_eq(gl_lockfile_open(path, &fd), 0);
	ck_assert_int_eq(gl_lock_acquire(fd, NULL, NULL, NULL, &waited), -ETIMEDOUT);
	ck_assert(waited);
	w = within(0.2);
	ck_assert_int_eq(gl_lock_acquire(fd, &w, NULL, NULL, &waited), -ETIMEDOUT);
	close(fd);
	/* The abandoned helper thread gets the lock once the holder goes, and
	 * must drop it at once: the lock becomes free. */
	ck_assert_int_eq(write(release, "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	for (int i = 0; i < 20000 && gl_lock_is_held(path) != 0; i++)
		usleep(1000); /* generous: valgrind runs threads one at a time */
	ck_assert_int_eq(gl_lock_is_held(path), 0);
}
END_TEST

Suite *lockfile_suite(void);
Suite *lockfile_suite(void)
{
	Suite *s = suite_create("lockfile");
	TCase *tc = tcase_create("lockfile");

	tcase_add_test(tc, creates_with_documented_mode_despite_umask);
	tcase_add_test(tc, opens_existing_without_truncating);
	tcase_add_test(tc, falls_back_to_read_only);
	tcase_add_test(tc, refuses_symlinks_without_touching_target);
	tcase_add_test(tc, refuses_directories_fifos_and_devices);
	tcase_add_test(tc, missing_directory_is_enoent);
	tcase_add_test(tc, explains_what_a_path_is_and_its_owner);
	tcase_add_test(tc, hardened_dir_must_be_roots_and_not_writable_by_others);
	tcase_add_test(tc, acquire_free_lock_does_not_wait);
	tcase_add_test(tc, acquire_waits_for_release);
	tcase_add_test(tc, bounded_wait_gets_lock_released_in_time);
	tcase_add_test(tc, bounded_wait_times_out_and_leaves_no_lock_behind);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
