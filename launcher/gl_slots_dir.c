/* The slot directory, checked and created, and the slot files in it. */
#include "gl_slots_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the directory ---- */

int slots_open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd >= 0)
		return fd;
	/* O_NOFOLLOW|O_DIRECTORY on a symlink gives ELOOP or ENOTDIR,
	 * depending on the kernel: look. */
	if ((errno == ELOOP || errno == ENOTDIR) && lstat(dir, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		errno = ELOOP; /* a loop further up the path */
	}
	return -errno;
}

/* Missing parents, as mkdir -p (the original) makes them: the umask's mode. */
static void make_parents(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof path)
		return;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		(void)mkdir(path, 0777);
		*p = '/';
	}
}

/* mkdir, then fchmod through a checked fd: the umask would narrow the mode,
 * and a chmod by path could be sent elsewhere by a swap. */
static int create_dir(const char *dir)
{
	struct stat st;
	int fd = mkdir(dir, 0700);

	if (fd < 0 && errno == ENOENT) {
		make_parents(dir);
		fd = mkdir(dir, 0700);
	}
	if (fd < 0)
		return errno == EEXIST ? -EAGAIN : -errno;
	fd = slots_open_dir(dir);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || fchmod(fd, GL_SLOTS_DIR_MODE) < 0) {
		close(fd);
		return -EAGAIN; /* replaced under us: look again */
	}
	return fd;
}

int gl_slots_open(struct gl_slots *s, const char *dir, unsigned nslots, bool create,
                  uid_t *owner, bool *created)
{
	struct stat st;
	int fd = -ENOENT;

	memset(s, 0, sizeof *s);
	s->dirfd = -1;
	s->ticket_fd = -1;
	*created = false;
	if (nslots == 0 || nslots > GL_SLOTS_MAX)
		return -EINVAL;
	for (int tries = 0; tries < 8; tries++) {
		fd = slots_open_dir(dir);
		if (fd != -ENOENT || !create)
			break;
		fd = create_dir(dir);
		if (fd >= 0)
			*created = true;
		if (fd != -EAGAIN)
			break;
	}
	if (fd < 0)
		return fd == -EAGAIN ? -EBUSY : fd;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*owner = st.st_uid;
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	/* Asked of the path, but the checks above hold for the same inode: a
	 * swap in between would have to come from root or ourselves. */
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
		int r = errno == EACCES || errno == EROFS ? -EACCES : -errno;
		close(fd);
		return r;
	}
	s->fds = nslots <= sizeof s->inline_fds / sizeof *s->inline_fds
	                 ? s->inline_fds
	                 : malloc(nslots * sizeof *s->fds);
	if (!s->fds) {
		close(fd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nslots; i++)
		s->fds[i] = -1;
	s->nslots = nslots;
	s->dirfd = fd;
	return 0;
}

void gl_slots_close(struct gl_slots *s)
{
	gl_slots_dequeue(s);
	for (unsigned i = 0; s->fds && i < s->nslots; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	if (s->fds != s->inline_fds)
		free(s->fds);
	free(s->ahead);
	if (s->dirfd >= 0)
		close(s->dirfd);
	memset(s, 0, sizeof *s);
	s->dirfd = -1;
	s->ticket_fd = -1;
}

const char *gl_slots_strerror(int err)
{
	switch (-err) {
	case ELOOP:
		return "it is a symbolic link (never followed)";
	case ENOTDIR:
		return "it is not a directory";
	case EPERM:
		return "it is owned by another user (only root's or your own are trusted)";
	case EACCES:
		return "permission denied";
	case ENOENT:
		return "it does not exist";
	case EISDIR:
		return "it is a directory, not a regular file";
	case EBADFD:
		return "it is not a regular file";
	case ENOLCK:
		return "the filesystem does not support flock";
	default:
		return strerror(-err);
	}
}

/* ---- slot files ---- */

int slots_check_regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return 0;
	return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
}

/* The fd of slot k, opening (or creating) its file on first use. An existing
 * file is opened without O_CREAT, so another user's slot in a sticky
 * directory works with fs.protected_regular=1; read-only where it is not
 * writable, which is all flock needs. O_NONBLOCK: opening a FIFO planted
 * under a slot's name never hangs. */
int slots_file_fd(struct gl_slots *s, unsigned k)
{
	char name[32];
	int fd = -1, r;

	if (s->fds[k - 1] >= 0)
		return s->fds[k - 1];
	snprintf(name, sizeof name, "slot%u", k);
	for (int tries = 0; tries < 8; tries++) {
		fd = openat(s->dirfd, name, O_RDWR | SLOTS_FILE_FLAGS);
		if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
			fd = openat(s->dirfd, name, O_RDONLY | SLOTS_FILE_FLAGS);
		if (fd < 0 && errno == ENOENT) {
			fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | SLOTS_FILE_FLAGS,
			            GL_SLOTS_FILE_MODE);
			if (fd >= 0)
				(void)fchmod(fd, GL_SLOTS_FILE_MODE);
			else if (errno == EEXIST)
				continue; /* someone else just made it */
		}
		break;
	}
	if (fd < 0) {
		r = errno == EMLINK ? -ELOOP : -errno;
		s->bad_slot = k;
		return r;
	}
	r = slots_check_regular(fd);
	if (r < 0) {
		close(fd);
		s->bad_slot = k;
		return r;
	}
	s->fds[k - 1] = fd;
	return fd;
}
