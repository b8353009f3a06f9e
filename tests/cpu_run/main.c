/* cpu_run's tests: the real program against real processes, and the pieces
 * under it. Each test runs in its own process (Check's fork mode). */
#include "procs.h"

#include <check.h>

Suite *cpu_run_suite(void);
Suite *caps_suite(void);
Suite *units_suite(void);
Suite *settings_suite(void);

int main(void)
{
	return tp_run_suites(units_suite(), cpu_run_suite(), caps_suite(), settings_suite(), NULL);
}
