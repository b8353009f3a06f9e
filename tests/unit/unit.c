/* Unit tests of the lock core. Each test runs in its own process (Check's
 * fork mode). */
#include <check.h>
#include <stdlib.h>

Suite *parse_suite(void);
Suite *lockfile_suite(void);
Suite *proc_suite(void);
Suite *wait_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_add_suite(sr, lockfile_suite());
	srunner_add_suite(sr, proc_suite());
	srunner_add_suite(sr, wait_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
