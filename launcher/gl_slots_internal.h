/* What the parts of the slot semaphore share, and nothing else includes:
 * gl_slots_dir.c (the directory and the slot files), gl_slots_queue.c (the
 * tickets), gl_slots_semaphore.c (taking and giving back slots) and
 * gl_slots_inspect.c (reading the state for gpulock status). */
#ifndef GL_SLOTS_INTERNAL_H
#define GL_SLOTS_INTERNAL_H

#include "gl_slots.h"

#include <fcntl.h>
#include <stddef.h>

/* How every slot and ticket file is opened. */
#define SLOTS_FILE_FLAGS (O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* The directory dir as a checked fd: -ELOOP for a symlink, -ENOTDIR, -errno. */
int slots_open_dir(const char *dir);
/* 0 for a regular file, -EISDIR, -EBADFD or -errno. */
int slots_check_regular(int fd);
/* The fd of slot k (1-based), its file opened or created on first use;
 * -errno, and s->bad_slot = k, when it cannot be used. */
int slots_file_fd(struct gl_slots *s, unsigned k);

/* The name of ticket num, GL_SLOTS_TICKET_PREFIX and the number. */
void slots_ticket_name(char *buf, size_t len, unsigned long long num);
/* The ticket numbers in the directory, ascending (malloc'd), and the highest
 * slotK present (max_slot may be NULL). 0 or -errno. */
int slots_scan(int dirfd, unsigned long long **out, size_t *n, unsigned *max_slot);
/* Is anyone queued? 1 when a live ticket is found, 0 when none, -errno;
 * dead tickets found on the way are removed. */
int slots_any_ticket(int dirfd);

#endif
