#include "cli_harness.h"
#include "preload_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gpulock(void)
{
	return h_artifact("GL_GPULOCK");
}

void preload_value(char *buf, size_t len, const char *entries)
{
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX"); /* e.g. libasan */

	snprintf(buf, len, "%s%s%s", prefix ? prefix : "", prefix && *entries ? ":" : "", entries);
}

void preload_env(char *buf, size_t len, const char *entries)
{
	char value[4200];

	preload_value(value, sizeof value, entries);
	snprintf(buf, len, "LD_PRELOAD=%s", value);
}

void expect(const char *const argv[], int want_status, const char *want_out, const char *want_err)
{
	char env_preload[4300], *out, *err;
	const char *extra[] = {env_preload, NULL};
	int status;

	preload_env(env_preload, sizeof env_preload, "");
	status = h_run(argv, getenv("GL_TEST_PRELOAD_PREFIX") ? extra : NULL, false, &out, &err);

	ck_assert_msg(status == want_status, "%s %s: exit %d, not %d; stderr:\n%s", argv[1],
	              argv[2] ? argv[2] : "", status, want_status, err);
	if (want_out)
		ck_assert_msg(strstr(out, want_out), "stdout lacks '%s':\n%s", want_out, out);
	if (want_err)
		ck_assert_msg(strstr(err, want_err), "stderr lacks '%s':\n%s", want_err, err);
	free(out);
	free(err);
}

void expect_exact(const char *const argv[], const char *const extra[], int want_status,
                  const char *want_out, const char *want_err)
{
	char *out, *err;
	int status = h_run(argv, extra, false, &out, &err);

	ck_assert_msg(status == want_status, "%s %s: exit %d, not %d; stderr:\n%s",
	              argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "", status, want_status,
	              err);
	ck_assert_str_eq(out, want_out);
	ck_assert_str_eq(err, want_err);
	free(out);
	free(err);
}
