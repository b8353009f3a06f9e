/* The directories every user shares (the per-GPU lock directory, cpu_run's
 * slot directory): are they root's, as gpulock's tmpfiles.d entry or
 * gpulock setup make them? One test, for doctor's verdicts and status's
 * notes. */
#include "gpulock.h"
#include "gl_hardened.h"
#include "gl_slots.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum cli_dir_state cli_shared_dir_check(const char *path, char *buf, size_t len,
                                        const char **fix)
{
	char who[96];
	struct stat sb;

	/* In the hardened layout, setup makes and repairs it. */
	*fix = strncmp(path, GL_HARDENED_DIR "/", sizeof GL_HARDENED_DIR) == 0
	               ? "as root: gpulock setup"
	               : "as root: systemd-tmpfiles --create gpulock.conf (which the gpulock "
	                 "package runs at boot), or rm -r it while unused";
	buf[0] = '\0';
	if (lstat(path, &sb) < 0)
		return CLI_DIR_MISSING;
	gl_owner_text(sb.st_uid, who, sizeof who);
	if (!S_ISDIR(sb.st_mode))
		snprintf(buf, len, "is not a directory (%s, owned by %s)", gl_file_kind(sb.st_mode),
		         who);
	else if (sb.st_uid != 0)
		snprintf(buf, len, "is owned by %s, not root: other users' jobs may be refused it",
		         who);
	else if ((sb.st_mode & 07777) != GL_SLOTS_DIR_MODE)
		snprintf(buf, len, "has mode %04o, not %04o", (unsigned)(sb.st_mode & 07777),
		         (unsigned)GL_SLOTS_DIR_MODE);
	return buf[0] ? CLI_DIR_WRONG : CLI_DIR_OK;
}
