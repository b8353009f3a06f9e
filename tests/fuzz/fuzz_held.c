/* gl_held_parse on any GPU_LOCK_HELD value. What it accepts must name a
 * positive pid, must format into the buffer the preload uses (96 bytes)
 * without truncation, and must read back as the same holder. */
#include "fuzz.h"
#include "gl_held.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	char formatted[96];
	struct gl_held h, again;
	int n;

	memset(&h, 0, sizeof h);
	if (gl_held_parse(s, &h)) {
		FUZZ_ASSERT(strncmp(s, "gpulock:", 8) == 0);
		FUZZ_ASSERT(h.pid > 0);
		gl_held_format(&h, formatted, sizeof formatted);
		n = (int)strlen(formatted);
		FUZZ_ASSERT(n > 8 && n < (int)sizeof formatted - 1);
		memset(&again, 0xff, sizeof again);
		FUZZ_ASSERT(gl_held_parse(formatted, &again));
		FUZZ_ASSERT(again.pid == h.pid && again.maj == h.maj && again.min == h.min &&
		            again.ino == h.ino);
	}
	free(s);
	return 0;
}
