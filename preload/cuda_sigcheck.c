/* Built only where the CUDA toolkit is installed: fails the build if a hook's
 * signature or an error code drifts from the toolkit's cuda.h. Nothing from
 * here is linked. */
/* cuda.h's own switch that declares the 4-argument cuGetProcAddress.
 * NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>
#include <cuda_runtime_api.h>

#include "cuda_abi.h"

#define SAME_TYPE(ours, theirs)                                                                \
	_Static_assert(__builtin_types_compatible_p(ours, __typeof__(theirs)),                 \
	               #ours " does not match the toolkit's " #theirs)

SAME_TYPE(gl_cuInit_fn, &cuInit);
SAME_TYPE(gl_cuGetProcAddress_v1_fn, &cuGetProcAddress);
SAME_TYPE(gl_cuGetProcAddress_v2_fn, &cuGetProcAddress_v2);
SAME_TYPE(gl_cudaSetDevice_fn, &cudaSetDevice);
SAME_TYPE(gl_cu_result, CUresult);
SAME_TYPE(gl_cuda_error, cudaError_t);
SAME_TYPE(gl_cu_query_result, CUdriverProcAddressQueryResult);

_Static_assert(GL_CUDA_SUCCESS == CUDA_SUCCESS, "CUDA_SUCCESS");
_Static_assert(GL_CUDA_ERROR_NOT_INITIALIZED == CUDA_ERROR_NOT_INITIALIZED, "NOT_INITIALIZED");
_Static_assert(GL_CUDA_ERROR_NOT_INITIALIZED == cudaErrorInitializationError, "Initialization");
_Static_assert(GL_CUDA_ERROR_DEVICE_UNAVAILABLE == CUDA_ERROR_DEVICE_UNAVAILABLE, "46");
_Static_assert(GL_CUDA_ERROR_DEVICE_UNAVAILABLE == cudaErrorDevicesUnavailable, "46");
_Static_assert(GL_CUDA_ERROR_OPERATING_SYSTEM == CUDA_ERROR_OPERATING_SYSTEM, "304");
_Static_assert(GL_CUDA_ERROR_OPERATING_SYSTEM == cudaErrorOperatingSystem, "304");
_Static_assert(GL_CUDA_ERROR_NOT_FOUND == CUDA_ERROR_NOT_FOUND, "500");
