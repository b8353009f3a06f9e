#include "gl_lockfile.h"
#include "gl_hardened.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPEN_FLAGS (O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)

static int kind_error(mode_t mode)
{
	if (S_ISREG(mode))
		return 0;
	if (S_ISLNK(mode))
		return -ELOOP;
	if (S_ISDIR(mode))
		return -EISDIR;
	return -EBADFD;
}

/* Open an existing file read-write, or read-only where we may not write:
 * flock works on either, and read-write lets us mark the acquisition time. */
static int open_existing(const char *path)
{
	int fd = open(path, O_RDWR | OPEN_FLAGS);

	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fd = open(path, O_RDONLY | OPEN_FLAGS);
	return fd;
}

/* One attempt; -EAGAIN when the file appeared or vanished under us. */
static int open_once(const char *path, int *fd_out)
{
	struct stat st;
	int fd, err;

	/* Look before opening: opening a FIFO or a device can have effects. */
	if (lstat(path, &st) == 0) {
		err = kind_error(st.st_mode);
		if (err)
			return err;
		fd = open_existing(path);
		if (fd < 0 && errno == ENOENT)
			return -EAGAIN;
	} else if (errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, GL_LOCKFILE_MODE);
		if (fd >= 0)
			(void)fchmod(fd, GL_LOCKFILE_MODE);
		else if (errno == EEXIST)
			return -EAGAIN;
	} else {
		return -errno;
	}
	if (fd < 0)
		return errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
	/* The path may have been swapped between lstat and open. */
	if (fstat(fd, &st) < 0)
		err = -errno;
	else
		err = kind_error(st.st_mode);
	if (err) {
		close(fd);
		return err;
	}
	/* O_NONBLOCK only guarded the open; flock does not look at it. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fd_out = fd;
	return 0;
}

int gl_lockfile_open(const char *path, int *fd_out)
{
	int err = -EAGAIN;

	/* Another process may create or remove the file between our steps. */
	for (int tries = 0; err == -EAGAIN && tries < 8; tries++)
		err = open_once(path, fd_out);
	return err;
}

const char *gl_lockfile_strerror(int err)
{
	switch (-err) {
	case ELOOP:
		return "it is a symbolic link (a lock path is never followed)";
	case EISDIR:
		return "it is a directory, not a regular file";
	case EBADFD:
		return "it is not a regular file (a FIFO, socket or device)";
	case ENOENT:
		return "its directory does not exist";
	case EACCES:
		return "permission denied";
	case ENOLCK:
		return "the filesystem does not support flock (NFS without lock support?)";
	default:
		return strerror(-err);
	}
}

void gl_lockfile_explain(const char *path, int err, char *buf, size_t len)
{
	char owner[96];
	struct stat st;

	if ((err != -ELOOP && err != -EISDIR && err != -EBADFD && err != -ENOTDIR) ||
	    lstat(path, &st) < 0 || (S_ISREG(st.st_mode) && err != -ENOTDIR) ||
	    (S_ISDIR(st.st_mode) && err == -ENOTDIR)) {
		snprintf(buf, len, "%s", gl_lockfile_strerror(err));
		return;
	}
	gl_owner_text(st.st_uid, owner, sizeof owner);
	if (S_ISLNK(st.st_mode))
		snprintf(buf, len, "it is a symbolic link, never followed (owned by %s)", owner);
	else
		snprintf(buf, len, "it is %s, not a %s (owned by %s)", gl_file_kind(st.st_mode),
		         err == -ENOTDIR ? "directory" : "regular file", owner);
}
