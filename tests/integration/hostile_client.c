/* A plain program for test_hostile.c, built with the compiler alone (no
 * sanitizer, none of the build's flags) so that it can run setuid, static
 * or 32-bit. Prints its word size, who it runs as and whether the gpulock
 * preload is mapped into it; built with -DHOSTILE_CUINIT it then dlopens
 * libcuda.so.1 and reports its cuInit. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef HOSTILE_CUINIT
#include <dlfcn.h>
#endif

static int preloaded(void)
{
	char line[4096];
	FILE *maps = fopen("/proc/self/maps", "r");
	int found = 0;

	while (maps && fgets(line, sizeof line, maps))
		if (strstr(line, "libgpulock_preload"))
			found = 1;
	if (maps)
		fclose(maps);
	return found;
}

int main(void)
{
	printf("bits=%d uid=%u euid=%u preloaded=%d\n", (int)(8 * sizeof(void *)),
	       (unsigned)getuid(), (unsigned)geteuid(), preloaded());
#ifdef HOSTILE_CUINIT
	{
		void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
		unsigned int (*init)(unsigned int);

		if (!driver) {
			fprintf(stderr, "hostile_client: %s\n", dlerror());
			return 2;
		}
		*(void **)&init = dlsym(driver, "cuInit");
		if (!init)
			return 2;
		printf("cuInit=%u\n", init(0));
	}
#endif
	return 0;
}
