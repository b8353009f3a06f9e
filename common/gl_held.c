#include "gl_held.h"

#include <stdio.h>
#include <string.h>

bool gl_held_parse(const char *value, struct gl_held *out)
{
	int pid, end = 0;

	if (strncmp(value, "gpulock:", 8) != 0)
		return false;
	if (sscanf(value + 8, "%d:%x:%x:%llu%n", &pid, &out->maj, &out->min, &out->ino, &end) != 4 ||
	    value[8 + end] != '\0' || pid <= 0)
		return false;
	out->pid = pid;
	return true;
}

void gl_held_format(const struct gl_held *h, char *buf, size_t len)
{
	snprintf(buf, len, "gpulock:%d:%x:%x:%llu", (int)h->pid, h->maj, h->min, h->ino);
}
