#include "gl_env.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where environ is, found when first needed: a reference to the variable
 * itself would make the loader look it up in every process that loads the
 * preload, GPU or not. Inside the preload, dlsym is our hook, which passes
 * RTLD_DEFAULT straight through. */
static char ***environ_location(void)
{
	return (char ***)dlsym(RTLD_DEFAULT, "environ");
}

int gl_env_publish(const char *name, const char *value)
{
	char ***where = environ_location();
	size_t name_len = strlen(name), n = 0;
	char **old, **env;
	char *entry;

	if (!where)
		return -ENOSYS;
	old = __atomic_load_n(where, __ATOMIC_ACQUIRE);
	if (asprintf(&entry, "%s=%s", name, value) < 0)
		return -ENOMEM;
	for (; old && old[n]; n++) {
		if (strncmp(old[n], name, name_len) == 0 && old[n][name_len] == '=') {
			__atomic_store_n(&old[n], entry, __ATOMIC_RELEASE);
			return 0;
		}
	}
	env = malloc((n + 2) * sizeof *env);
	if (!env) {
		free(entry);
		return -ENOMEM;
	}
	/* A loop, not memcpy: its symbol version (GLIBC_2.14) would be checked
	 * in every process that loads the preload. */
	for (size_t i = 0; i < n; i++)
		env[i] = old[i];
	env[n] = entry;
	env[n + 1] = NULL;
	__atomic_store_n(where, env, __ATOMIC_RELEASE);
	return 0;
}
