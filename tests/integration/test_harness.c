/* The harness's own promises, checked by check_harness.sh, which runs this
 * program one test case at a time (CK_RUN_CASE) with a TMPDIR of its own:
 * a test program removes its temporary directory whatever its tests did
 * (passed, failed, hung, ran as nobody, were interrupted), without
 * following links out of it; and a program whose tests all skip exits 77.
 * Some of these tests fail on purpose: run alone, this program fails. */
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void make_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s", path);
	close(fd);
}

/* What tests leave in h_dir: files, a directory its owner cannot write to
 * (with a file in it), and links to what must stay (GL_KEEP, a directory
 * outside, with a file in it). */
static void fill(void)
{
	const char *keep = getenv("GL_KEEP");
	char path[PATH_MAX], target[PATH_MAX];

	h_setup();
	ck_assert_msg(strncmp(h_dir, tp_tmpdir(), strlen(tp_tmpdir())) == 0, "%s is not in TMPDIR %s",
	              h_dir, tp_tmpdir());
	make_file(h_dir, "file");
	snprintf(path, sizeof path, "%s/read-only", h_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	make_file(path, "file");
	ck_assert_int_eq(chmod(path, 0555), 0);
	ck_assert_msg(keep && *keep, "GL_KEEP is not set: run check_harness.sh");
	snprintf(path, sizeof path, "%s/link-to-dir", h_dir);
	ck_assert_int_eq(symlink(keep, path), 0);
	snprintf(path, sizeof path, "%s/link-to-file", h_dir);
	snprintf(target, sizeof target, "%s/file", keep);
	ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(passes)
{
	fill();
}
END_TEST

START_TEST(fails)
{
	fill();
	ck_abort_msg("fails on purpose");
}
END_TEST

START_TEST(hangs)
{
	fill();
	pause(); /* until Check's timeout kills it */
}
END_TEST

/* What nobody makes, in h_dir and in the TMPDIR it is given. */
START_TEST(runs_as_nobody)
{
	char tmp[PATH_MAX];

	h_setup();
	if (!h_need_nobody("runs_as_nobody"))
		return;
	ck_assert_int_eq(chmod(h_dir, 0777), 0);
	h_become_nobody();
	make_file(h_dir, "nobody's");
	snprintf(tmp, sizeof tmp, "%s", getenv("TMPDIR"));
	ck_assert_msg(strncmp(tmp, h_dir, strlen(h_dir)) == 0, "TMPDIR %s is outside %s", tmp,
	              h_dir);
	make_file(tmp, "nobody's");
}
END_TEST

START_TEST(skips)
{
	tp_skip("skips", "on purpose");
}
END_TEST

/* Says it is ready (the file "ready" in h_dir), then waits for the SIGTERM
 * that check_harness.sh sends the program. */
START_TEST(waits_to_be_interrupted)
{
	fill();
	make_file(h_dir, "ready");
	pause();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("harness");
	TCase *leaves = tcase_create("leaves"), *hang = tcase_create("hang"),
	      *skip = tcase_create("skip"), *mixed = tcase_create("mixed"),
	      *interrupted = tcase_create("interrupted");

	tcase_add_test(leaves, passes);
	tcase_add_test(leaves, fails);
	tcase_add_test(leaves, runs_as_nobody);
	tcase_set_timeout(leaves, 60);
	tcase_add_test(hang, hangs);
	tcase_set_timeout(hang, 1);
	tcase_add_test(skip, skips);
	tcase_add_test(mixed, passes);
	tcase_add_test(mixed, skips);
	tcase_add_test(interrupted, waits_to_be_interrupted);
	tcase_set_timeout(interrupted, 120);
	suite_add_tcase(s, leaves);
	suite_add_tcase(s, hang);
	suite_add_tcase(s, skip);
	suite_add_tcase(s, mixed);
	suite_add_tcase(s, interrupted);
	return tp_run_suite(s);
}
