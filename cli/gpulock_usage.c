/* Usage errors, for every subcommand of gpulock: what is wrong, then where
 * to read more. */
#include "gpulock.h"

#include <stdarg.h>
#include <stdio.h>

/* The subcommand being run, for "Try 'gpulock CMD --help'."; NULL before. */
static const char *subcommand;

void cli_usage_subcommand(const char *name)
{
	subcommand = name;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gpulock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'gpulock%s%s --help'.\n", subcommand ? " " : "",
	        subcommand ? subcommand : "");
	return EXIT_SETUP;
}
