/* Memory sizes as users write them: "4G", "512MiB", "1.5g", "8589934592", or
 * a share of the machine's memory, "25%". Every unit is binary (K = 1024,
 * as in systemd's MemoryMax= and free -h); "GB" means GiB too, so that no
 * one's 4G quietly becomes 3.7 GiB. */
#ifndef GL_SIZE_H
#define GL_SIZE_H

#include <stdbool.h>
#include <stddef.h>

#define GL_SIZE_MAX (1ULL << 60) /* an exbibyte: anything larger is a typo */

struct gl_size {
	bool percent;             /* a share of MemTotal, not bytes */
	double pct;               /* 0..100 when percent */
	unsigned long long bytes; /* when !percent */
};

/* Parse SIZE or PCT: a decimal number (fractions allowed) with an optional
 * unit B, K, M, G, T, P (each optionally followed by "iB" or "B", any case),
 * or a number followed by '%'. "0" is valid (callers read it as "off").
 * Returns 0, -EINVAL (not a size) or -ERANGE (above GL_SIZE_MAX or 100%).
 * *out is untouched on error. */
int gl_size_parse(const char *s, struct gl_size *out);

/* The size in bytes, a percentage taken of total. */
unsigned long long gl_size_bytes(const struct gl_size *size, unsigned long long total);

/* "1.5 GiB", "512 MiB", "100 B": a size for humans. */
void gl_size_format(unsigned long long bytes, char *buf, size_t len);

#endif
