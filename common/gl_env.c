#include "gl_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int gl_env_publish(const char *name, const char *value)
{
	size_t name_len = strlen(name), n = 0;
	char **old = __atomic_load_n(&environ, __ATOMIC_ACQUIRE), **env;
	char *entry;

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
	if (n)
		memcpy(env, old, n * sizeof *env);
	env[n] = entry;
	env[n + 1] = NULL;
	__atomic_store_n(&environ, env, __ATOMIC_RELEASE);
	return 0;
}
