/* A libcuda.so.1 whose cuInit does nothing, so that bench_cuinit measures the
 * preload's hook and not the driver. (The test fake's cuInit probes the lock
 * file with open+flock+close on every call.) */
__attribute__((visibility("default"))) unsigned int cuInit(unsigned int flags);

unsigned int cuInit(unsigned int flags)
{
	(void)flags;
	return 0;
}
