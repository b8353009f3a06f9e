/* Unit tests of the lock core. Each test runs in its own process (Check's
 * fork mode). */
#include "procs.h"

#include <check.h>

Suite *parse_suite(void);
Suite *lockfile_suite(void);
Suite *proc_suite(void);
Suite *text_suite(void);
Suite *wait_suite(void);
Suite *gpus_suite(void);

int main(void)
{
	return tp_run_suites(parse_suite(), lockfile_suite(), proc_suite(), text_suite(), wait_suite(), gpus_suite(),
	                     NULL);
}
