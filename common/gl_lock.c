#include "gl_lock.h"
#include "gl_lockfile.h"

#include <errno.h>
#include <sys/file.h>
#include <unistd.h>

static int take(int fd, int op, struct gl_wait *w, gl_lock_wait_fn on_wait, void *arg,
                bool *waited)
{
	int winner, r = gl_flock(fd, op | LOCK_NB);

	*waited = false;
	if (r != -EWOULDBLOCK)
		return r;
	*waited = true;
	if (!w)
		return -ETIMEDOUT;
	if (on_wait)
		on_wait(fd, arg);
	return gl_wait_first(&fd, 1, op, w, &winner);
}

int gl_lock_acquire(int fd, struct gl_wait *w, gl_lock_wait_fn on_wait, void *arg, bool *waited)
{
	return take(fd, LOCK_EX, w, on_wait, arg, waited);
}

int gl_lock_wait_until_free(int fd, struct gl_wait *w)
{
	bool waited;
	int r = take(fd, LOCK_SH, w, NULL, NULL, &waited);

	if (r == 0)
		flock(fd, LOCK_UN); /* our own description: nobody else shares it */
	return r;
}

int gl_lock_is_held(const char *path)
{
	int fd, r;

	r = gl_lockfile_open(path, &fd);
	if (r < 0)
		return r;
	r = gl_flock(fd, LOCK_SH | LOCK_NB);
	close(fd); /* closing drops the probe lock, if we got it */
	if (r == 0)
		return 0;
	return r == -EWOULDBLOCK ? 1 : r;
}
