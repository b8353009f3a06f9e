#include "stress_shared.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

#define PF_EXITING 0x4 /* include/linux/sched.h */

int referee_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags = 0;
	char state = 'X';
	FILE *f;

	if (kill(pid, 0) < 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags);
	if (f)
		fclose(f);
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}
