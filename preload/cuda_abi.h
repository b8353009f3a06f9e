/* The few CUDA types and codes the hooks need, declared here so the library
 * builds without the toolkit. cuda_sigcheck.c compares them with cuda.h
 * wherever the toolkit is installed. */
#ifndef GL_CUDA_ABI_H
#define GL_CUDA_ABI_H

#include <stdint.h>

/* CUresult and cudaError_t are enums without negative values: unsigned int. */
typedef unsigned int gl_cu_result;
typedef unsigned int gl_cuda_error;
typedef unsigned int gl_cu_query_result; /* CUdriverProcAddressQueryResult */

#define GL_CUDA_SUCCESS 0
#define GL_CUDA_ERROR_NOT_INITIALIZED 3
#define GL_CUDA_ERROR_DEVICE_UNAVAILABLE 46 /* also cudaErrorDevicesUnavailable */
#define GL_CUDA_ERROR_OPERATING_SYSTEM 304  /* also cudaErrorOperatingSystem */
#define GL_CUDA_ERROR_NOT_FOUND 500

typedef gl_cu_result (*gl_cuInit_fn)(unsigned int flags);
/* cuGetProcAddress as of CUDA 11.3 (4 arguments) and _v2 as of CUDA 12.0. */
typedef gl_cu_result (*gl_cuGetProcAddress_v1_fn)(const char *symbol, void **pfn,
                                                  int cudaVersion, uint64_t flags);
typedef gl_cu_result (*gl_cuGetProcAddress_v2_fn)(const char *symbol, void **pfn,
                                                  int cudaVersion, uint64_t flags,
                                                  gl_cu_query_result *symbolStatus);
typedef gl_cuda_error (*gl_cudaSetDevice_fn)(int device);

#endif
