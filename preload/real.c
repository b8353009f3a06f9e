#include "real.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

/* dlsym moved into libc.so.6 at glibc 2.34 (GLIBC_2.34); older programs bind
 * the base version of their architecture. _dl_sym and __libc_dlsym, which
 * older interposers used, are gone from current glibc. */
static const char *const dlsym_versions[] = {
	"GLIBC_2.34",
#if defined(__x86_64__)
	"GLIBC_2.2.5",
#elif defined(__aarch64__)
	"GLIBC_2.17",
#elif defined(__i386__)
	"GLIBC_2.0",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	"GLIBC_2.17",
#elif defined(__powerpc64__)
	"GLIBC_2.3",
#elif defined(__riscv)
	"GLIBC_2.27",
#elif defined(__s390x__)
	"GLIBC_2.2",
#endif
};

_Atomic(gl_dlsym_fn) gl_real_dlsym_ptr;

GL_NO_SANITIZE gl_dlsym_fn gl_real_dlsym_resolve(void)
{
	gl_dlsym_fn fn = NULL;

	/* Racing threads find the same answer; a relaxed store is enough. */
	for (size_t i = 0; !fn && i < sizeof dlsym_versions / sizeof dlsym_versions[0]; i++) {
		fn = (gl_dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", dlsym_versions[i]);
		if (fn)
			atomic_store_explicit(&gl_real_dlsym_ptr, fn, memory_order_relaxed);
	}
	return fn;
}

void *gl_real_next(const char *name)
{
	gl_dlsym_fn fn = gl_real_dlsym();

	return fn ? fn(RTLD_NEXT, name) : NULL;
}
