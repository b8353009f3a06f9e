#include "stress_shared.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

struct referee *referee_map(const char *path, int create)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0666);
	void *p;

	if (fd < 0 || (create && ftruncate(fd, sizeof(struct referee)) < 0))
		return NULL;
	p = mmap(NULL, sizeof(struct referee), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}
