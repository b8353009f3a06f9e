// A minimal CUDA runtime program for scripts/gpu-check, built with static and
// with shared cudart: it must take the GPU lock under the preload, and run.
#include <cstdio>

__global__ void k(int *p) { *p = 42; }

int main()
{
	int *d, h = 0;
	cudaError_t e = cudaMalloc(&d, sizeof h);
	if (e != cudaSuccess) {
		printf("cudaMalloc: %s (%d)\n", cudaGetErrorString(e), (int)e);
		return 3;
	}
	k<<<1, 1>>>(d);
	e = cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost);
	if (e != cudaSuccess) {
		printf("kernel or copy: %s (%d)\n", cudaGetErrorString(e), (int)e);
		return 4;
	}
	printf("the kernel wrote %d\n", h);
	return h == 42 ? 0 : 5;
}
