/* The real symbols behind our hooks. */
#ifndef GL_REAL_H
#define GL_REAL_H

#include <stdatomic.h>
#include <stddef.h>

typedef void *(*gl_dlsym_fn)(void *handle, const char *name);

/* dlsym is called by sanitizer runtimes while they start, before their
 * shadow memory exists: the code on its path must not be instrumented. */
#if defined(__clang__) || __GNUC__ >= 8
#define GL_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))
#else
#define GL_NO_SANITIZE
#endif

extern _Atomic(gl_dlsym_fn) gl_real_dlsym_ptr;
GL_NO_SANITIZE gl_dlsym_fn gl_real_dlsym_resolve(void);

/* glibc's dlsym, found with dlvsym so that looking it up never enters our own
 * hook. NULL only on a libc without these versions. Inline: it sits on the
 * path of every dlsym call in the process. */
GL_NO_SANITIZE static inline gl_dlsym_fn gl_real_dlsym(void)
{
	gl_dlsym_fn fn = atomic_load_explicit(&gl_real_dlsym_ptr, memory_order_relaxed);

	return __builtin_expect(fn != NULL, 1) ? fn : gl_real_dlsym_resolve();
}

/* The definition of name that comes after this library in the search order
 * (dlsym(RTLD_NEXT) relative to us), or NULL. */
void *gl_real_next(const char *name);

#endif
