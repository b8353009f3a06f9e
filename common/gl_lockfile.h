/* Opening the lock file safely. The file's content is never read or written;
 * only its open file description matters, because flock(2) locks belong to it. */
#ifndef GL_LOCKFILE_H
#define GL_LOCKFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Mode of a lock file we create, applied with fchmod so the umask cannot
 * narrow it: read-write for everyone, so that users of other accounts can
 * open it too, including with the original gpu_run.sh, which opens it for
 * writing. flock itself needs only read access. The content is never used. */
#define GL_LOCKFILE_MODE 0666

/* Open (or create) the lock file at path, close-on-exec, never truncating and
 * never following a symlink. An existing file is opened without O_CREAT first,
 * so a file created by another user in a sticky directory works even with
 * fs.protected_regular=1; a missing one is created with O_EXCL.
 * Returns 0 and the fd, or -errno:
 *   -ELOOP  the path is a symbolic link
 *   -EISDIR the path is a directory
 *   -EBADFD the path is something else that is not a regular file
 *   -ENOENT the directory does not exist; -EACCES, ... as open(2). */
int gl_lockfile_open(const char *path, int *fd_out);

/* Human text for an error from gl_lockfile_open. */
const char *gl_lockfile_strerror(int err);

/* The same, for a path that is not what it should be (-ELOOP, -EISDIR,
 * -EBADFD; -ENOTDIR for a directory's path), with what it is and who owns
 * it, as found now: "it is a FIFO, not a regular file (owned by mallory,
 * uid 1002)". In a sticky directory such as /tmp, another user may have
 * planted it. Other errors: gl_lockfile_strerror's text. */
void gl_lockfile_explain(const char *path, int err, char *buf, size_t len);

#endif
