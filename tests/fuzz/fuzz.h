/* Shared by the libFuzzer targets: a NUL-terminated copy of the input, and
 * an invariant check that aborts (libFuzzer then saves the input). */
#ifndef GL_FUZZ_H
#define GL_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                 \
	do {                                                                              \
		if (!(cond)) {                                                            \
			dprintf(2, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
			        #cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* The input as a C string: the parsers see what getenv or argv would give,
 * which ends at the first NUL. Free it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
