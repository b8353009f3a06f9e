/* The hardened layout (gpulock setup): a directory only root can write,
 * holding the machine's lock, the per-GPU lock directory and cpu_run's slot
 * directory, each made by root. Where it exists, it is every tool's
 * default (explicit settings still win); elsewhere the defaults stay in
 * /tmp, where whoever creates a path first decides what it is. */
#ifndef GL_HARDENED_H
#define GL_HARDENED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GL_HARDENED_DIR "/run/gpulock"
#define GL_HARDENED_LOCK_PATH GL_HARDENED_DIR "/gpu.lock"
#define GL_HARDENED_SLOT_DIR GL_HARDENED_DIR "/cpu_run_slots"
/* The defaults without it (and in older set-ups). */
#define GL_TMP_LOCK_PATH "/tmp/gpu.lock"
#define GL_TMP_SLOT_DIR "/tmp/cpu_run_slots"

/* Is dir a directory (not a symlink) owned by root that neither its group
 * nor others may write? One lstat. */
bool gl_hardened_dir_ok(const char *dir);

/* GL_HARDENED_LOCK_PATH where GL_HARDENED_DIR is in place, else
 * GL_TMP_LOCK_PATH; the same for cpu_run's slot directory. Each call looks
 * again (one lstat): call once. */
const char *gl_default_lock_path(void);
const char *gl_default_slot_dir(void);

/* "mallory, uid 1002", or "uid 1002" where /etc/passwd has no such entry.
 * /etc/passwd is read by hand, not through getpwuid: the preload runs
 * inside other programs, where NSS modules must not be loaded, and
 * cpu_run is static. */
void gl_owner_text(uid_t uid, char *buf, size_t len);

/* "a FIFO", "a socket", "a directory", "a symbolic link", ... */
const char *gl_file_kind(mode_t mode);

#endif
