/* dlsym: how most CUDA programs reach the driver. cudart (static and shared,
 * so PyTorch and CuPy), numba and JAX dlopen libcuda.so.1 and dlsym their way
 * in; only programs linked with -lcuda call cuInit through the PLT. */
#include "hooks.h"
#include "real.h"

#include <dlfcn.h>
#include <stdbool.h>

/* cuInit, cuGetProcAddress, cuGetProcAddress_v2: one compare rejects almost
 * every other name. */
GL_NO_SANITIZE static inline bool may_be_ours(const char *name)
{
	return name && name[0] == 'c' && name[1] == 'u' && (name[2] == 'I' || name[2] == 'G');
}

GL_EXPORT GL_NO_SANITIZE void *dlsym(void *handle, const char *name)
{
	gl_dlsym_fn real = gl_real_dlsym();

	/* glibc resolves RTLD_NEXT, and picks the namespace, from its caller's
	 * return address. Forwarding as a tail call keeps that address the
	 * original caller's, so lookups by other libraries are unchanged. The
	 * preload is built optimised so this is a jump; a test checks it.
	 * RTLD_DEFAULT needs no wrapping: our exports already come first. */
	if (__builtin_expect(!may_be_ours(name) || handle == RTLD_NEXT || handle == RTLD_DEFAULT, 1))
		return real ? real(handle, name) : NULL;
	return gl_hook_dlsym_lookup(handle, name, __builtin_return_address(0));
}
