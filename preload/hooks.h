/* Shared between the dlsym hook and the CUDA hooks. */
#ifndef GL_HOOKS_H
#define GL_HOOKS_H

#include "cuda_abi.h"

#include <stdint.h>

#define GL_EXPORT __attribute__((visibility("default")))

/* The exported hook table (exports.map); signatures checked against cuda.h
 * by cuda_sigcheck.c. */
GL_EXPORT void *dlsym(void *handle, const char *name);
GL_EXPORT gl_cu_result cuInit(unsigned int flags);
GL_EXPORT gl_cu_result cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
                                        uint64_t flags);
GL_EXPORT gl_cu_result cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
                                           uint64_t flags, gl_cu_query_result *symbolStatus);
GL_EXPORT gl_cuda_error cudaSetDevice(int device);

/* The slow path of the dlsym hook, for names that start like ours: look the
 * name up and, when it is a CUDA entry point we guard, hand out our wrapper.
 * No locking, allocation or I/O: it runs inside the loader's dlsym. */
void *gl_hook_dlsym_lookup(void *handle, const char *name, const void *caller);

#endif
