/* gpulock setup: root makes (or repairs) the hardened layout, by default
 * in /run/gpulock (gl_hardened.h):
 *
 *   DIR/                 0755 root  only root creates, replaces or removes here
 *   DIR/gpu.lock         0666 root  the whole-machine lock
 *   DIR/gpu.lock.d/      1777 root  per-GPU locks; users add tickets and job files
 *     GPU-<uuid>         0666 root  one per GPU present, and its turnstile
 *     GPU-<uuid>.turn    0666 root
 *     machine.turn       0666 root
 *   DIR/cpu_run_slots/   1777 root  cpu_run's slots; users add tickets
 *     slot1..slotN       0666 root
 *
 * Users can open and lock these files, not replace or remove them: they are
 * root's, in a directory only root writes or in a sticky one. Nothing is
 * followed: each entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW),
 * opened with O_NOFOLLOW beside the directory's fd, checked again on the
 * fd, and fixed with fchown and fchmod on that fd. A symbolic link, or a
 * file of the wrong type, is refused, never removed: it is named, with its
 * owner, for root to look at. */
#include "gpulock.h"
#include "gl_gpus.h"
#include "gl_hardened.h"
#include "gl_lockfile.h"
#include "gl_parse.h"
#include "gl_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETUP_DIR_MODE 0755
#define DEFAULT_SETUP_SLOTS 3 /* cpu_run's default CPU_RUN_SLOTS */

struct setup {
	int refused, created, fixed, checked;
};

static void refuse(struct setup *su, const char *path, const struct stat *st, const char *want)
{
	char who[96];

	gl_owner_text(st->st_uid, who, sizeof who);
	fprintf(stderr, "gpulock setup: refusing %s: it is %s (owned by %s), not %s; remove it "
	                "and run gpulock setup again\n",
	        path, gl_file_kind(st->st_mode), who, want);
	su->refused++;
}

/* Owner root:root and mode on the open fd; says what changed. */
static int fix(struct setup *su, int fd, const char *path, const struct stat *st, mode_t mode)
{
	char was[96];
	bool owner = st->st_uid != 0 || st->st_gid != 0, perm = (st->st_mode & 07777) != mode;

	su->checked++;
	if (!owner && !perm)
		return 0;
	gl_owner_text(st->st_uid, was, sizeof was);
	if ((owner && fchown(fd, 0, 0) < 0) || fchmod(fd, mode) < 0) {
		fprintf(stderr, "gpulock setup: cannot fix %s: %s\n", path, strerror(errno));
		su->refused++;
		return -1;
	}
	printf("fixed   %s:", path);
	if (owner)
		printf(" owner %s, group %u -> root", was, (unsigned)st->st_gid);
	if (perm)
		printf("%s mode %04o -> %04o", owner ? "," : "", (unsigned)(st->st_mode & 07777),
		       (unsigned)mode);
	printf("\n");
	su->fixed++;
	return 0;
}

/* The directory name in dirfd (AT_FDCWD: a path), made or repaired: its fd,
 * or -1 (said). */
static int ensure_dir(struct setup *su, int dirfd, const char *name, const char *path, mode_t mode)
{
	struct stat st, fst;
	bool made = false;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || mkdirat(dirfd, name, 0700) < 0) {
			fprintf(stderr, "gpulock setup: cannot create %s: %s\n", path, strerror(errno));
			su->refused++;
			return -1;
		}
		made = true;
	} else if (!S_ISDIR(st.st_mode)) {
		refuse(su, path, &st, "a directory");
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &fst) < 0) {
		fprintf(stderr, "gpulock setup: cannot open %s: %s\n", path, strerror(errno));
		su->refused++;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (made) {
		if (fchown(fd, 0, 0) < 0 || fchmod(fd, mode) < 0) {
			fprintf(stderr, "gpulock setup: cannot set up %s: %s\n", path, strerror(errno));
			su->refused++;
			close(fd);
			return -1;
		}
		printf("created %s (directory, root, mode %04o)\n", path, (unsigned)mode);
		su->created++;
		su->checked++;
	} else if (fix(su, fd, path, &fst, mode) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The lock file name in dirfd, made or repaired. A regular file with other
 * links is refused: fixing it would change the file it is linked to. */
static void ensure_file(struct setup *su, int dirfd, const char *dirpath, const char *name)
{
	char path[PATH_MAX];
	struct stat st, fst;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dirpath, name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fd = errno == ENOENT ? openat(dirfd, name,
		                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                              0600)
		                     : -1;
		if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, GL_LOCKFILE_MODE) < 0) {
			fprintf(stderr, "gpulock setup: cannot create %s: %s\n", path, strerror(errno));
			su->refused++;
		} else {
			printf("created %s (root, mode %04o)\n", path, (unsigned)GL_LOCKFILE_MODE);
			su->created++;
			su->checked++;
		}
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		refuse(su, path, &st, "a regular file");
		return;
	}
	/* O_NONBLOCK: should it have become a FIFO since, opening it must not hang. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &fst) < 0) {
		fprintf(stderr, "gpulock setup: cannot open %s: %s\n", path, strerror(errno));
		su->refused++;
	} else if (!S_ISREG(fst.st_mode)) {
		refuse(su, path, &fst, "a regular file");
	} else if (fst.st_nlink != 1) {
		fprintf(stderr, "gpulock setup: refusing %s: it has %lu links (a hard link to another "
		                "file?); remove it and run gpulock setup again\n",
		        path, (unsigned long)fst.st_nlink);
		su->refused++;
	} else {
		(void)fix(su, fd, path, &fst, GL_LOCKFILE_MODE);
	}
	if (fd >= 0)
		close(fd);
}

/* The per-GPU directory's files: each GPU's lock and turnstile, and the
 * machine lock's turnstile (gl_gpu_group.c). */
static void ensure_gpu_files(struct setup *su, int gpudir, const char *path)
{
	struct gl_gpu_list list;
	char name[GL_GPU_UUID_LEN + 8];

	gl_gpus_find(&list);
	for (unsigned i = 0; i < list.n; i++) {
		if (!list.gpu[i].uuid[0])
			continue;
		ensure_file(su, gpudir, path, list.gpu[i].uuid);
		snprintf(name, sizeof name, "%s.turn", list.gpu[i].uuid);
		ensure_file(su, gpudir, path, name);
	}
	ensure_file(su, gpudir, path, "machine.turn");
	if (!list.n)
		printf("no GPUs found: %s has no per-GPU lock files (run gpulock setup again once "
		       "the driver is loaded)\n",
		       path);
}

/* dir itself: its parent is opened by path (root chose it), the last
 * component never followed. */
static int ensure_top(struct setup *su, const char *dir)
{
	char parent[PATH_MAX], *slash;
	int pfd, fd;

	snprintf(parent, sizeof parent, "%s", dir);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (!slash || !slash[1]) {
		fprintf(stderr, "gpulock setup: --dir '%s': expected an absolute path below /\n", dir);
		return -1;
	}
	*slash = '\0';
	pfd = open(slash == parent ? "/" : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		fprintf(stderr, "gpulock setup: cannot open %s: %s\n", slash == parent ? "/" : parent,
		        strerror(errno));
		return -1;
	}
	fd = ensure_dir(su, pfd, slash + 1, dir, SETUP_DIR_MODE);
	close(pfd);
	return fd;
}

static int setup(const char *dir, unsigned slots)
{
	struct setup su = {0};
	char path[PATH_MAX], name[32];
	int top, sub;

	if ((top = ensure_top(&su, dir)) < 0)
		return EXIT_SETUP;
	ensure_file(&su, top, dir, "gpu.lock");
	snprintf(path, sizeof path, "%s/gpu.lock" GL_GPU_DIR_SUFFIX, dir);
	if ((sub = ensure_dir(&su, top, "gpu.lock" GL_GPU_DIR_SUFFIX, path, GL_SLOTS_DIR_MODE)) >= 0) {
		ensure_gpu_files(&su, sub, path);
		close(sub);
	}
	snprintf(path, sizeof path, "%s/cpu_run_slots", dir);
	if ((sub = ensure_dir(&su, top, "cpu_run_slots", path, GL_SLOTS_DIR_MODE)) >= 0) {
		for (unsigned k = 1; k <= slots; k++) {
			snprintf(name, sizeof name, "slot%u", k);
			ensure_file(&su, sub, path, name);
		}
		close(sub);
	}
	close(top);
	if (su.refused) {
		fprintf(stderr, "gpulock setup: %s is not ready: %d entr%s refused\n", dir, su.refused,
		        su.refused == 1 ? "y" : "ies");
		return EXIT_SETUP;
	}
	printf("%s is ready: %d entries, %d created, %d fixed\n", dir, su.checked, su.created,
	       su.fixed);
	return 0;
}

int cli_setup(int argc, char **argv)
{
	static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
	                                         {"slots", required_argument, NULL, 's'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	const char *dir = GL_HARDENED_DIR, *word;
	unsigned slots = DEFAULT_SETUP_SLOTS;
	long n;
	int c;

	while ((c = cli_next_option(argc, argv, "+:d:s:h", longopts, &word)) != -1) {
		if (c == 'd') {
			if (optarg[0] != '/' || strlen(optarg) >= PATH_MAX - 64)
				return cli_usage_error("--dir '%s': expected an absolute path", optarg);
			dir = optarg;
		} else if (c == 's') {
			if (gl_parse_long(optarg, 1, GL_SLOTS_MAX, &n) < 0)
				return cli_usage_error("--slots '%s': expected a number of slots from 1 to %d",
				                       optarg, GL_SLOTS_MAX);
			slots = (unsigned)n;
		} else if (c == 'h') {
			cli_help(stdout, "setup");
			return 0;
		} else {
			return cli_option_error(c, word);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (geteuid() != 0) {
		fprintf(stderr, "gpulock setup: must run as root: it makes root's files, which "
		                "users can lock but not replace (sudo gpulock setup)\n");
		return EXIT_SETUP;
	}
	umask(022);
	return setup(dir, slots);
}
