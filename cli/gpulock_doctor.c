/* gpulock doctor: one verdict per line (OK, INFO, WARN, FAIL) on the lock
 * file, the shared directories, the preload, glibc and the CUDA driver; with a command, how that
 * command reaches the GPU, from the preload's own GPU_LOCK_DEBUG trace.
 * Exit status 0 without FAIL verdicts, 1 with. Nothing here takes the lock
 * or creates the lock file, except the command the user asked to run. */
#include "gpulock.h"
#include "gl_hardened.h"
#include "gl_lockfile.h"
#include "gl_slots.h"
#include "gl_status.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <gnu/libc-version.h>
#include <libgen.h>
#include <link.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFS_MAGIC 0x6969
#define TMPFS_MAGIC 0x01021994

extern char **environ;

static int failures;

static void verdict(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void verdict(const char *level, const char *fmt, ...)
{
	va_list ap;

	printf("%-4s ", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (strcmp(level, "FAIL") == 0)
		failures++;
}

static void check_filesystem(const char *dir)
{
	struct statfs fs;

	if (statfs(dir, &fs) < 0)
		return;
	if (fs.f_type == NFS_MAGIC)
		verdict("WARN", "%s is on NFS: flock there works across machines only where the "
		                "server supports locking; keep the lock on a local filesystem",
		        dir);
	else if (fs.f_type == TMPFS_MAGIC)
		verdict("OK", "%s is a local tmpfs (an age clean-up may delete an idle lock file: "
		              "harmless, it is recreated)",
		        dir);
	else
		verdict("OK", "%s is on a local filesystem", dir);
}

#define HARDEN                                                                                     \
	"harden with sudo gpulock setup (or enable its boot unit, gpulock-setup.service): "        \
	"root's " GL_HARDENED_DIR " then becomes every tool's default"

/* Can others than root create entries in dir (as in /tmp)? */
static bool shared_writable(const char *dir)
{
	struct stat sb;

	return stat(dir, &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH));
}

/* A lock in a directory every user writes: whoever creates the path first
 * decides what it is (a FIFO there fails every CUDA program). */
static void check_lock_dir(const char *path, const char *dir)
{
	if (shared_writable(dir))
		verdict("WARN", "the lock %s is in %s, which other users can write: any of them could "
		                "have planted it (or the per-GPU and slot directories beside it), "
		                "as a FIFO, a symbolic link or a file of their own; %s",
		        path, dir, HARDEN);
	else if (strncmp(path, GL_HARDENED_DIR "/", sizeof GL_HARDENED_DIR) == 0)
		verdict("OK", "the lock is in root's %s (hardened: gpulock setup)", GL_HARDENED_DIR);
}

/* A lock file another user (not root, not us) owns, in a directory others
 * write: its owner can replace it at any time. */
static void check_lock_owner(const char *path, const char *dir, const struct stat *sb)
{
	char who[96];

	if (sb->st_uid == 0 || sb->st_uid == geteuid() || !shared_writable(dir))
		return;
	gl_owner_text(sb->st_uid, who, sizeof who);
	verdict("WARN", "lock file %s is owned by %s, who can replace it (with a FIFO: every CUDA "
	                "program fails) or remove it at any time; %s",
	        path, who, HARDEN);
}

static void check_lock(const char *path)
{
	char dir[PATH_MAX];
	struct gl_status st;
	struct stat sb;

	snprintf(dir, sizeof dir, "%s", path);
	dirname(dir);
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		verdict("FAIL", "lock directory %s does not exist: CUDA programs would fail "
		                "(GPU_LOCK_ON_ERROR=fail)",
		        dir);
		return;
	}
	check_filesystem(dir);
	check_lock_dir(path, dir);
	if (lstat(path, &sb) < 0) {
		if (access(dir, W_OK) == 0)
			verdict("OK", "lock file %s does not exist yet; it will be created (mode 0666) "
			              "at the first GPU call",
			        path);
		else
			verdict("FAIL", "lock file %s does not exist and %s is not writable for us",
			        path, dir);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		char why[256];

		gl_lockfile_explain(path, S_ISLNK(sb.st_mode)   ? -ELOOP
		                          : S_ISDIR(sb.st_mode) ? -EISDIR
		                                                : -EBADFD,
		                    why, sizeof why);
		verdict("FAIL", "lock file %s: %s%s", path, why,
		        shared_writable(dir) ? " (planted by another user?)" : "");
		return;
	}
	check_lock_owner(path, dir, &sb);
	if (access(path, R_OK) < 0) {
		verdict("FAIL", "lock file %s (mode %04o, uid %u) is not readable for us: flock "
		                "needs read access",
		        path, (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		return;
	}
	verdict("OK", "lock file %s: regular file, mode %04o, uid %u%s", path,
	        (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid,
	        access(path, W_OK) == 0 ? ""
	                                : " (read-only for us: fine for gpulock, not for gpu_run.sh)");
	if (gl_status_read(path, &st) < 0)
		return;
	if (st.elsewhere)
		verdict("INFO", "the GPU lock is held by a process in another PID namespace");
	else if (st.held)
		verdict("INFO", "the GPU lock is held by pid %d", (int)st.holder.pid);
	else
		verdict("INFO", "the GPU lock is %s", st.nshared ? "shared by jobs on single GPUs"
		                                                 : "free");
	gl_status_free(&st);
}

/* A directory every account shares (cpu_run's slots, the per-GPU lock
 * files): it should be root's, mode 1777, as gpulock's tmpfiles.d entry
 * makes it at boot. One a user made is the user's, and cpu_run refuses a
 * slot directory owned by another user than root or the caller. Missing is
 * fine: it is created when first needed. Never FAIL: the GPU lock works. */
static void check_shared_dir(const char *what, const char *path)
{
	const char *fix;
	char problem[256];

	switch (cli_shared_dir_check(path, problem, sizeof problem, &fix)) {
	case CLI_DIR_MISSING:
		verdict("INFO", "%s %s does not exist yet: the first job that needs it creates it "
		                "and owns it (root-owned from boot with gpulock's tmpfiles.d entry)",
		        what, path);
		break;
	case CLI_DIR_WRONG:
		verdict("WARN", "%s %s %s; %s", what, path, problem, fix);
		break;
	case CLI_DIR_OK:
		verdict("OK", "%s %s: owned by root, mode %04o", what, path,
		        (unsigned)GL_SLOTS_DIR_MODE);
		break;
	}
}

/* The per-GPU lock directory (GPU_LOCK_DIR, else the lock path, --lock's
 * included, with .d added) and cpu_run's slot directory (CPU_RUN_SLOT_DIR,
 * as gpulock status finds it). */
static void check_shared_dirs(const struct gl_lock_settings *cfg)
{
	static struct gl_lock_settings lock;
	const char *slots = getenv("CPU_RUN_SLOT_DIR"), *dir = getenv("GPU_LOCK_DIR");

	lock = *cfg;
	if (!(dir && *dir) && !gl_lock_settings_default_gpu_dir(&lock))
		lock.gpu_dir[0] = '\0';
	if (lock.gpu_dir[0])
		check_shared_dir("per-GPU lock directory", lock.gpu_dir);
	check_shared_dir("cpu_run's slot directory", slots && *slots ? slots : gl_default_slot_dir());
}

/* Runs argv with lib added to LD_PRELOAD as gpulock run adds it, and
 * GPU_LOCK_DEBUG=1, its stderr into a pipe. Returns the read end, or -1. */
static int spawn_traced(char *const argv[], const char *lib, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	setenv("GPU_LOCK_DEBUG", "1", 1);
	if (lib && cli_preload_add(lib) < 0) {
		close(p[0]);
		close(p[1]);
		errno = ENOMEM;
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		errno = r;
		return -1;
	}
	return p[0];
}

/* The loader's line for an entry it cannot load, "ERROR: ld.so: object
 * 'ENTRY' from LD_PRELOAD cannot be preloaded (REASON): ignored.": the
 * entry as written, and the reason. */
static bool loader_error(const char *line, char *entry, size_t elen, char *reason, size_t rlen)
{
	static const char head[] = "ERROR: ld.so: object '";
	static const char mid[] = "' from LD_PRELOAD cannot be preloaded (";
	const char *e = line + sizeof head - 1, *m, *end;

	if (strncmp(line, head, sizeof head - 1) != 0 || !(m = strstr(e, mid)))
		return false;
	snprintf(entry, elen, "%.*s", (int)(m - e), e);
	m += sizeof mid - 1;
	end = strstr(m, "): ignored.");
	snprintf(reason, rlen, "%.*s", end ? (int)(end - m) : (int)strlen(m), m);
	return true;
}

/* Everything fd delivers, up to len - 1 bytes, as a string. */
static void read_text(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && ((r = read(fd, buf + n, len - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	buf[n] = '\0';
}

/* Each entry of LD_PRELOAD the loader cannot load is named: it is what the
 * loader complains about in every program, not our library. */
static void check_preload(const char *lib, const char *why)
{
	char *const argv[] = {"/bin/true", NULL};
	char buf[8192], entry[PATH_MAX], reason[256], own[256] = "", other[sizeof buf] = "";
	char *line, *save;
	pid_t pid;
	int status, fd;

	if (!lib) {
		verdict("FAIL", "%s", why);
		return;
	}
	if (cli_preload_listed(getenv("LD_PRELOAD"), lib))
		verdict("OK", "LD_PRELOAD names the preload: CUDA programs started from here take "
		              "the lock");
	else
		verdict("INFO", "LD_PRELOAD does not name the preload: CUDA programs take the lock "
		                "under gpulock run (for all of them: gpulock shell-init)");
	fd = spawn_traced(argv, lib, &pid);
	if (fd < 0) {
		verdict("FAIL", "cannot run /bin/true: %s", strerror(errno));
		return;
	}
	read_text(fd, buf, sizeof buf);
	close(fd);
	waitpid(pid, &status, 0);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!loader_error(line, entry, sizeof entry, reason, sizeof reason))
			snprintf(other + strlen(other), sizeof other - strlen(other), "%s%s",
			         other[0] ? "; " : "", line);
		else if (strcmp(entry, lib) == 0 || cli_preload_listed(entry, lib))
			snprintf(own, sizeof own, "%s", reason);
		else
			verdict("WARN", "LD_PRELOAD entry '%s' cannot be preloaded (%s): the loader says "
			                "so in every program; remove it%s",
			        entry, reason,
			        strstr(entry, PRELOAD_NAME) ? " (left by an old install?)" : "");
	}
	if (own[0])
		verdict("FAIL", "the preload %s cannot be preloaded (%s)", lib, own);
	else if (other[0] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		verdict("FAIL", "/bin/true with the preload %s does not run cleanly%s%s", lib,
		        other[0] ? ": " : "", other);
	else
		verdict("OK", "the preload %s loads cleanly (checked with /bin/true)", lib);
	verdict("OK", "glibc %s: dlsym is hooked, the real one found through dlvsym",
	        gnu_get_libc_version());
}

static void check_driver(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
	struct link_map *map = NULL;

	if (!h) {
		verdict("WARN", "no CUDA driver (libcuda.so.1) found: CUDA programs cannot start "
		                "here, and there is nothing to lock");
		return;
	}
	if (dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map)
		verdict("OK", "CUDA driver found: %s", map->l_name);
	else
		verdict("OK", "CUDA driver found (libcuda.so.1)");
	dlclose(h);
}

/* The preload's debug lines, as gl_gate and gl_gpu write them. */
static void judge_line(const char *line, const char *cmd, bool *reached)
{
	const char *p;

	if ((p = strstr(line, " reached through "))) {
		*reached = true;
		verdict("OK", "%s reached %s%s: the lock is taken there", cmd,
		        strstr(line, "cudaSetDevice reached") ? "cudaSetDevice" : "cuInit",
		        p + strlen(" reached"));
	} else if (strstr(line, "took the GPU lock") || strstr(line, "got the GPU lock")) {
		verdict("OK", "it took the GPU lock");
	} else if ((p = strstr(line, "is held by pid "))) {
		verdict("OK", "the lock was already held for its process tree (%.*s): it went "
		              "straight through",
		        (int)strcspn(p + 3, " "), p + 3);
	} else if (strstr(line, "not taking the GPU lock") || strstr(line, "an ancestor holds")) {
		verdict("INFO", "it did not lock: %s", strchr(line, ':') + 2);
	} else if (strstr(line, "cannot use the GPU lock") || strstr(line, "gave up waiting")) {
		verdict("FAIL", "%s", line + strlen("gpulock: "));
	}
}

static void check_command(char **cmd, const char *lib)
{
	char buf[8192], line[1024];
	size_t len = 0;
	bool reached = false;
	ssize_t n;
	pid_t pid;
	int status, fd = spawn_traced(cmd, lib, &pid);

	if (fd < 0) {
		verdict("FAIL", "cannot run %s: %s", cmd[0], strerror(errno));
		return;
	}
	/* Our lines are judged; the command's own stderr goes on to ours. */
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (len < sizeof line - 1)
				line[len++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[len - 1] = '\0';
			if (strncmp(line, "gpulock: ", 9) == 0)
				judge_line(line, cmd[0], &reached);
			else
				fprintf(stderr, "%s\n", line);
			len = 0;
		}
	}
	close(fd);
	waitpid(pid, &status, 0);
	if (!reached)
		verdict("INFO", "%s never reached cuInit: it takes no GPU lock (not a CUDA program, "
		                "or it uses the GPU another way: then use gpulock run --eager)",
		        cmd[0]);
	if (WIFEXITED(status))
		verdict("INFO", "%s exited with status %d", cmd[0], WEXITSTATUS(status));
	else
		verdict("INFO", "%s was killed by signal %d", cmd[0], WTERMSIG(status));
}

int cli_doctor(const struct gl_lock_settings *cfg, char **cmd)
{
	const char *why, *lib = cli_preload_path(&why);

	check_lock(cfg->lock_path);
	check_shared_dirs(cfg);
	check_preload(lib, why);
	check_driver();
	if (cmd && lib)
		check_command(cmd, lib);
	return failures ? 1 : 0;
}
