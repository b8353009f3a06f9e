/* The CUDA entry points. Whichever way a program reaches cuInit (the PLT,
 * dlsym, cuGetProcAddress or cuGetProcAddress_v2) it lands in one of the
 * cuInit wrappers below, which pass the gate and then call the driver.
 * Each route has its own wrapper so that GPU_LOCK_DEBUG can say which one a
 * program took. */
#include "cuda_abi.h"
#include "gate.h"
#include "gl_log.h"
#include "hooks.h"
#include "real.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum route { ROUTE_PLT, ROUTE_DLSYM, ROUTE_GPA_V1, ROUTE_GPA_V2, ROUTE_SET_DEVICE, ROUTES };

static const char *const route_names[ROUTES] = {
	"through the PLT (linked with -lcuda)", "through dlsym",
	"through cuGetProcAddress", "through cuGetProcAddress_v2",
	"through cudaSetDevice",
};

/* The driver's functions, as the driver handed them out. */
static _Atomic(gl_cuInit_fn) real_cuInit;
static _Atomic(gl_cuGetProcAddress_v1_fn) real_gpa_v1;
static _Atomic(gl_cuGetProcAddress_v2_fn) real_gpa_v2;
static _Atomic(gl_cudaSetDevice_fn) real_cudaSetDevice;
/* Who asked for our wrapper on each route, for the debug trace. */
static _Atomic(const void *) route_caller[ROUTES];

static gl_cu_result cuInit_via_dlsym(unsigned int flags);
static gl_cu_result cuInit_via_gpa_v1(unsigned int flags);
static gl_cu_result cuInit_via_gpa_v2(unsigned int flags);

static bool is_ours(const void *p)
{
	return p == (void *)cuInit || p == (void *)cuInit_via_dlsym ||
	       p == (void *)cuInit_via_gpa_v1 || p == (void *)cuInit_via_gpa_v2 ||
	       p == (void *)cuGetProcAddress || p == (void *)cuGetProcAddress_v2 ||
	       p == (void *)cudaSetDevice;
}

static const char *object_name(const void *addr)
{
	Dl_info info;
	const char *slash;

	if (!addr || !dladdr(addr, &info) || !info.dli_fname || !*info.dli_fname)
		return "the program";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

/* Passes the gate; returns 0, or the error the entry point must return. */
static unsigned int gate_pass(const char *point, enum route route)
{
	char how[256];
	enum gl_gpu_result r;

	snprintf(how, sizeof how, "%s, asked by %s", route_names[route],
	         object_name(atomic_load(&route_caller[route])));
	r = gl_gate_enter(point, how);
	/* Interrupted: the host's handler has run; an error makes the CUDA call
	 * return at once, so the host acts on it (Python raises
	 * KeyboardInterrupt). A later call waits again. */
	if (r == GL_GPU_TIMED_OUT || r == GL_GPU_INTERRUPTED)
		return GL_CUDA_ERROR_DEVICE_UNAVAILABLE;
	if (r == GL_GPU_FAILED)
		return GL_CUDA_ERROR_OPERATING_SYSTEM;
	return 0;
}

/* Resolves a real function we have not been handed: the next definition
 * after us, as the loader would have bound it without the preload. */
static void *next_unless_ours(const char *name)
{
	void *p = gl_real_next(name);

	return is_ours(p) ? NULL : p;
}

static gl_cu_result cuinit_route(unsigned int flags, enum route route)
{
	gl_cuInit_fn fn;

	if (!gl_gate_open()) {
		unsigned int err = gate_pass("cuInit", route);
		if (err)
			return err;
	}
	fn = atomic_load_explicit(&real_cuInit, memory_order_relaxed);
	if (!fn) {
		fn = (gl_cuInit_fn)next_unless_ours("cuInit");
		if (!fn)
			return GL_CUDA_ERROR_NOT_INITIALIZED;
		atomic_store(&real_cuInit, fn);
	}
	return fn(flags);
}

GL_EXPORT gl_cu_result cuInit(unsigned int flags)
{
	return cuinit_route(flags, ROUTE_PLT);
}

static gl_cu_result cuInit_via_dlsym(unsigned int flags)
{
	return cuinit_route(flags, ROUTE_DLSYM);
}

static gl_cu_result cuInit_via_gpa_v1(unsigned int flags)
{
	return cuinit_route(flags, ROUTE_GPA_V1);
}

static gl_cu_result cuInit_via_gpa_v2(unsigned int flags)
{
	return cuinit_route(flags, ROUTE_GPA_V2);
}

/* Which cuGetProcAddress the driver returned for "cuGetProcAddress": the one
 * we know, else the exported name at that address, else the rule the driver
 * documents (the 5-argument form from version 12000 on). */
static bool returned_gpa_is_v2(void *p, int version)
{
	Dl_info info;

	if (p == (void *)atomic_load(&real_gpa_v2))
		return true;
	if (p == (void *)atomic_load(&real_gpa_v1))
		return false;
	if (dladdr(p, &info) && info.dli_saddr == p && info.dli_sname) {
		if (strcmp(info.dli_sname, "cuGetProcAddress_v2") == 0)
			return true;
		if (strcmp(info.dli_sname, "cuGetProcAddress") == 0)
			return false;
	}
	return version >= 12000;
}

/* Swap the driver's answer for our wrapper where it is an entry point we
 * guard. Version, flags and symbolStatus were the driver's to decide. */
static void wrap_gpa_result(const char *symbol, void **pfn, int version, enum route route,
                            const void *caller)
{
	void *p = *pfn;
	const char *what = NULL;

	if (is_ours(p))
		return;
	if (strcmp(symbol, "cuInit") == 0) {
		enum route to = route == ROUTE_GPA_V2 ? ROUTE_GPA_V2 : ROUTE_GPA_V1;
		atomic_store(&real_cuInit, (gl_cuInit_fn)p);
		atomic_store(&route_caller[to], caller);
		*pfn = to == ROUTE_GPA_V2 ? (void *)cuInit_via_gpa_v2 : (void *)cuInit_via_gpa_v1;
		what = "cuInit";
	} else if (strcmp(symbol, "cuGetProcAddress") == 0) {
		if (returned_gpa_is_v2(p, version)) {
			gl_cuGetProcAddress_v2_fn expect = NULL;
			atomic_compare_exchange_strong(&real_gpa_v2, &expect,
			                               (gl_cuGetProcAddress_v2_fn)p);
			*pfn = (void *)cuGetProcAddress_v2;
			what = "cuGetProcAddress_v2";
		} else {
			gl_cuGetProcAddress_v1_fn expect = NULL;
			atomic_compare_exchange_strong(&real_gpa_v1, &expect,
			                               (gl_cuGetProcAddress_v1_fn)p);
			*pfn = (void *)cuGetProcAddress;
			what = "cuGetProcAddress (4 arguments)";
		}
	}
	if (what && gl_gate_config() && gl_gate_config()->debug)
		gl_log("pid %d: %s(\"%s\", version %d) asked by %s: handing out our %s",
		       (int)getpid(), route == ROUTE_GPA_V2 ? "cuGetProcAddress_v2" : "cuGetProcAddress",
		       symbol, version,
		       object_name(caller), what);
}

GL_EXPORT gl_cu_result cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
                                           uint64_t flags, gl_cu_query_result *symbolStatus)
{
	gl_cuGetProcAddress_v2_fn fn = atomic_load(&real_gpa_v2);
	gl_cu_result r;

	if (!fn) {
		fn = (gl_cuGetProcAddress_v2_fn)next_unless_ours("cuGetProcAddress_v2");
		if (!fn)
			return GL_CUDA_ERROR_NOT_FOUND;
		atomic_store(&real_gpa_v2, fn);
	}
	r = fn(symbol, pfn, cudaVersion, flags, symbolStatus);
	if (r == GL_CUDA_SUCCESS && symbol && pfn && *pfn)
		wrap_gpa_result(symbol, pfn, cudaVersion, ROUTE_GPA_V2,
		                __builtin_return_address(0));
	return r;
}

GL_EXPORT gl_cu_result cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
                                        uint64_t flags)
{
	gl_cuGetProcAddress_v1_fn fn = atomic_load(&real_gpa_v1);
	gl_cu_result r;

	if (!fn) {
		fn = (gl_cuGetProcAddress_v1_fn)next_unless_ours("cuGetProcAddress");
		if (!fn)
			return GL_CUDA_ERROR_NOT_FOUND;
		atomic_store(&real_gpa_v1, fn);
	}
	r = fn(symbol, pfn, cudaVersion, flags);
	if (r == GL_CUDA_SUCCESS && symbol && pfn && *pfn)
		wrap_gpa_result(symbol, pfn, cudaVersion, ROUTE_GPA_V1,
		                __builtin_return_address(0));
	return r;
}

/* Programs that link cudart dynamically; cudart then reaches cuInit through
 * cuGetProcAddress anyway, which passes the open gate. */
GL_EXPORT gl_cuda_error cudaSetDevice(int device)
{
	gl_cudaSetDevice_fn fn;

	if (!gl_gate_open()) {
		unsigned int err = gate_pass("cudaSetDevice", ROUTE_SET_DEVICE);
		if (err)
			return err;
	}
	fn = atomic_load_explicit(&real_cudaSetDevice, memory_order_relaxed);
	if (!fn) {
		fn = (gl_cudaSetDevice_fn)next_unless_ours("cudaSetDevice");
		if (!fn)
			return GL_CUDA_ERROR_NOT_INITIALIZED; /* cudaErrorInitializationError */
		atomic_store(&real_cudaSetDevice, fn);
	}
	return fn(device);
}

/* Same object: libcuda looking up its own symbols passes straight through. */
static bool same_object(const void *a, const void *b)
{
	Dl_info ia, ib;

	return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

void *gl_hook_dlsym_lookup(void *handle, const char *name, const void *caller)
{
	void *p = gl_real_dlsym()(handle, name);

	if (!p || is_ours(p) || same_object(caller, p))
		return p;
	if (strcmp(name, "cuInit") == 0) {
		atomic_store(&real_cuInit, (gl_cuInit_fn)p);
		atomic_store(&route_caller[ROUTE_DLSYM], caller);
		return (void *)cuInit_via_dlsym;
	}
	if (strcmp(name, "cuGetProcAddress_v2") == 0) {
		atomic_store(&real_gpa_v2, (gl_cuGetProcAddress_v2_fn)p);
		return (void *)cuGetProcAddress_v2;
	}
	if (strcmp(name, "cuGetProcAddress") == 0) {
		atomic_store(&real_gpa_v1, (gl_cuGetProcAddress_v1_fn)p);
		return (void *)cuGetProcAddress;
	}
	return p;
}
