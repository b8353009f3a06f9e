/* cpu_run's tests: the real program against real processes, and the pieces
 * under it. Each test runs in its own process (Check's fork mode). */
#include <check.h>
#include <stdlib.h>

Suite *cpu_run_suite(void);
Suite *caps_suite(void);
Suite *units_suite(void);
Suite *settings_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(units_suite());
	int failed;

	srunner_add_suite(sr, cpu_run_suite());
	srunner_add_suite(sr, caps_suite());
	srunner_add_suite(sr, settings_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
