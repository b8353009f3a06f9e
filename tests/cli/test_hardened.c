/* The hardened layout: gpulock setup makes /run/gpulock as root, and then
 * it is every tool's default; another user can use its locks but not
 * replace, remove or plant them. And in /tmp mode, what another user
 * planted is named, with its owner.
 *
 * The cases that need root (case "root") run in a mount namespace of their
 * own with a tmpfs over /run, so /run/gpulock is the test's own, never the
 * machine's; nobody (uid 65534) plays the other user. */
#include "fake_gpus.h"
#include "preload_harness.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534
#define RUN_DIR "/run/gpulock"
#define LOCK RUN_DIR "/gpu.lock"
#define GPU_DIR RUN_DIR "/gpu.lock.d"
#define SLOTS RUN_DIR "/cpu_run_slots"

/* The test's own /run, and a /tmp of its own that has every entry of the
 * machine's /tmp (bind-mounted: the build tree and the test's directory
 * may be there) but the defaults of /tmp mode: the machine's /run/gpulock,
 * /tmp/gpu.lock, /tmp/gpu.lock.d and /tmp/cpu_run_slots are never touched,
 * even by code that gets its defaults wrong. In a mount namespace of its
 * own. */
static bool private_run(const char *test)
{
	static const char *const hidden[] = {".", "..", "gpu.lock", "gpu.lock.d", "cpu_run_slots",
	                                     NULL};
	struct dirent *e;
	DIR *d;

	if (geteuid() != 0) {
		tp_skip(test, "needs root: a mount namespace with a /run of its own");
		return false;
	}
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_msg(mount("gl-test", "/run", "tmpfs", 0, "mode=0755") == 0, "mount /run: %s",
	              strerror(errno));
	ck_assert_int_eq(mkdir("/run/gl-tmp", 0700), 0);
	ck_assert_int_eq(mount("/tmp", "/run/gl-tmp", "none", MS_BIND, NULL), 0);
	ck_assert_msg(mount("gl-test", "/tmp", "tmpfs", 0, "mode=1777") == 0, "mount /tmp: %s",
	              strerror(errno));
	d = opendir("/run/gl-tmp");
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		char from[300], to[300], link[300];
		struct stat st;
		bool skip = false;
		ssize_t n;

		for (int i = 0; hidden[i]; i++)
			skip = skip || strcmp(e->d_name, hidden[i]) == 0;
		snprintf(from, sizeof from, "/run/gl-tmp/%s", e->d_name);
		snprintf(to, sizeof to, "/tmp/%s", e->d_name);
		if (skip || lstat(from, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(from, link, sizeof link - 1);
			if (n > 0) {
				link[n] = '\0';
				(void)symlink(link, to);
			}
			continue;
		}
		if (S_ISDIR(st.st_mode) ? mkdir(to, 0700) : mknod(to, S_IFREG | 0600, 0))
			continue;
		(void)mount(from, to, "none", MS_BIND, NULL);
	}
	closedir(d);
	ck_assert_int_eq(umount2("/run/gl-tmp", MNT_DETACH), 0);
	ck_assert_int_eq(rmdir("/run/gl-tmp"), 0);
	return true;
}

/* gpulock setup as root, with its output. */
static int setup(const char *const *extra_args, char **out, char **err)
{
	const char *argv[8] = {h_artifact("GL_GPULOCK"), "setup"};
	int n = 2;

	for (int i = 0; extra_args && extra_args[i] && n < 7; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	return h_run(argv, NULL, false, out, err);
}

static void setup_ok(void)
{
	char *out, *err;

	ck_assert_msg(setup(NULL, &out, &err) == 0, "%s%s", out, err);
	free(out);
	free(err);
}

static void assert_entry(const char *path, mode_t type_mode)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(st.st_mode == type_mode, "%s: mode %o, not %o", path, (unsigned)st.st_mode,
	              (unsigned)type_mode);
	ck_assert_msg(st.st_uid == 0 && st.st_gid == 0, "%s: owned by %u:%u", path,
	              (unsigned)st.st_uid, (unsigned)st.st_gid);
}

static int count_entries(const char *dir)
{
	char cmd[300], *out, *err;
	const char *argv[] = {"sh", "-c", cmd, NULL};
	int n;

	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	ck_assert_int_eq(h_run(argv, NULL, false, &out, &err), 0);
	n = atoi(out);
	free(out);
	free(err);
	return n;
}

static void assert_layout(unsigned ngpus, unsigned nslots)
{
	char path[300];

	assert_entry(RUN_DIR, S_IFDIR | 0755);
	assert_entry(LOCK, S_IFREG | 0666);
	assert_entry(GPU_DIR, S_IFDIR | 01777);
	assert_entry(SLOTS, S_IFDIR | 01777);
	assert_entry(GPU_DIR "/machine.turn", S_IFREG | 0666);
	for (unsigned i = 0; i < ngpus; i++) {
		snprintf(path, sizeof path, GPU_DIR "/%s", fake_gpu_uuid(i));
		assert_entry(path, S_IFREG | 0666);
		snprintf(path, sizeof path, GPU_DIR "/%s.turn", fake_gpu_uuid(i));
		assert_entry(path, S_IFREG | 0666);
	}
	for (unsigned k = 1; k <= nslots; k++) {
		snprintf(path, sizeof path, SLOTS "/slot%u", k);
		assert_entry(path, S_IFREG | 0666);
	}
	ck_assert_int_eq(count_entries(RUN_DIR), 3);
	ck_assert_int_eq(count_entries(GPU_DIR), 2 * (int)ngpus + 1);
	ck_assert_int_eq(count_entries(SLOTS), (int)nslots);
}

/* "nobody, uid 65534" as /etc/passwd has it. */
static const char *nobody_text(void)
{
	static char buf[96];
	struct passwd *pw = getpwuid(NOBODY);

	if (pw)
		snprintf(buf, sizeof buf, "%s, uid %d", pw->pw_name, NOBODY);
	else
		snprintf(buf, sizeof buf, "uid %d", NOBODY);
	return buf;
}

START_TEST(setup_refuses_without_root)
{
	char *out, *err;
	const char *argv[] = {NULL, "setup", "--dir", NULL, NULL};

	h_setup();
	if (geteuid() == 0) {
		if (!h_need_nobody("setup_refuses_without_root"))
			return;
		h_become_nobody();
	}
	argv[0] = h_artifact("GL_GPULOCK");
	argv[3] = h_dir;
	ck_assert_int_eq(h_run(argv, NULL, false, &out, &err), 125);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(err, "gpulock setup: must run as root"), "%s", err);
	free(out);
	free(err);
}
END_TEST

/* Exactly the layout, idempotent, repairs owners and modes, and refuses a
 * symlink or a FIFO where a file goes without touching what it names. */
START_TEST(setup_makes_exactly_the_layout)
{
	const char *slots5[] = {"--slots", "5", NULL};
	char *out, *err;
	struct stat st;

	h_setup();
	if (!private_run("setup_makes_exactly_the_layout") ||
	    !fake_gpus("setup_makes_exactly_the_layout", 2, NULL))
		return;
	ck_assert_int_eq(setup(NULL, &out, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(tp_count(out, "created /run/gpulock (directory, root, mode 0755)\n"), 1);
	ck_assert_int_eq(tp_count(out, "created /run/gpulock/gpu.lock (root, mode 0666)\n"), 1);
	ck_assert_int_eq(tp_count(out, "created "), 3 + 2 * 2 + 1 + 1 + 3);
	ck_assert_int_eq(tp_count(out, "/run/gpulock is ready: 12 entries, 12 created, 0 fixed\n"),
	                 1);
	free(out);
	free(err);
	assert_layout(2, 3);

	ck_assert_int_eq(setup(NULL, &out, &err), 0); /* again: nothing to do */
	ck_assert_str_eq(out, "/run/gpulock is ready: 12 entries, 0 created, 0 fixed\n");
	free(out);
	free(err);
	assert_layout(2, 3);

	ck_assert_int_eq(chmod(LOCK, 0600), 0);
	ck_assert_int_eq(chown(SLOTS "/slot1", NOBODY, NOBODY), 0);
	ck_assert_int_eq(chmod(GPU_DIR, 0777), 0);
	ck_assert_int_eq(setup(slots5, &out, &err), 0);
	ck_assert_int_eq(tp_count(out, "fixed   /run/gpulock/gpu.lock: mode 0600 -> 0666\n"), 1);
	ck_assert_int_eq(tp_count(out, "fixed   /run/gpulock/gpu.lock.d: mode 0777 -> 1777\n"), 1);
	ck_assert_msg(strstr(out, "fixed   /run/gpulock/cpu_run_slots/slot1: owner "), "%s", out);
	ck_assert_int_eq(tp_count(out, "created "), 2);
	free(out);
	free(err);
	assert_layout(2, 5);

	/* Planted (here by root, as another user could in a sticky directory
	 * before setup): refused, named, never followed. */
	ck_assert_int_eq(unlink(GPU_DIR "/machine.turn"), 0);
	ck_assert_int_eq(symlink("/etc/passwd", GPU_DIR "/machine.turn"), 0);
	ck_assert_int_eq(lchown(GPU_DIR "/machine.turn", NOBODY, NOBODY), 0);
	ck_assert_int_eq(unlink(SLOTS "/slot2"), 0);
	ck_assert_int_eq(mkfifo(SLOTS "/slot2", 0600), 0);
	ck_assert_int_eq(stat("/etc/passwd", &st), 0);
	ck_assert_int_eq(setup(NULL, &out, &err), 125);
	ck_assert_msg(tp_count(err, "gpulock setup: refusing /run/gpulock/gpu.lock.d/machine.turn: it "
	                            "is a symbolic link (owned by ") == 1,
	              "%s", err);
	ck_assert_msg(strstr(err, nobody_text()), "%s", err);
	ck_assert_msg(tp_count(err, "gpulock setup: refusing /run/gpulock/cpu_run_slots/slot2: it "
	                            "is a FIFO (owned by root, uid 0), not a regular file") == 1,
	              "%s", err);
	ck_assert_int_eq(tp_count(err, "gpulock setup: /run/gpulock is not ready: 2 entries refused"),
	                 1);
	free(out);
	free(err);
	{
		struct stat now;

		ck_assert_int_eq(stat("/etc/passwd", &now), 0);
		ck_assert_int_eq(now.st_mode, st.st_mode);
		ck_assert_int_eq(now.st_uid, st.st_uid);
	}
}
END_TEST

/* The lock path a preloaded client takes with GPU_LOCK_PATH unset. */
static void assert_default_lock(const char *want_path)
{
	const char *env[] = {"GPU_LOCK_PATH=", "GPU_LOCK_DEBUG=1", NULL};
	const char *argv[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	char want[300], *out, *err;

	ck_assert_int_eq(h_run(argv, env, true, &out, &err), 0);
	snprintf(want, sizeof want, "took the GPU lock %s\n", want_path);
	ck_assert_msg(tp_count(err, want) == 1, "want %s in:\n%s", want, err);
	free(out);
	free(err);
}

/* /run/gpulock is the default only when it is a directory of root's that
 * neither group nor others can write: not a symlink to one, not one a user
 * owns, not a writable one. (In the test's private /run and /tmp.) */
START_TEST(only_a_root_directory_others_cannot_write_is_the_default)
{
	h_setup();
	if (!private_run("only_a_root_directory_others_cannot_write_is_the_default"))
		return;
	tp_write_file(h_trace, "");
	assert_default_lock("/tmp/gpu.lock"); /* none */
	ck_assert_int_eq(mkdir("/run/real", 0755), 0);
	ck_assert_int_eq(symlink("/run/real", RUN_DIR), 0);
	assert_default_lock("/tmp/gpu.lock");
	ck_assert_int_eq(unlink(RUN_DIR), 0);
	ck_assert_int_eq(mkdir(RUN_DIR, 0755), 0);
	ck_assert_int_eq(chown(RUN_DIR, NOBODY, NOBODY), 0);
	assert_default_lock("/tmp/gpu.lock");
	ck_assert_int_eq(chown(RUN_DIR, 0, 0), 0);
	ck_assert_int_eq(chmod(RUN_DIR, 0775), 0);
	assert_default_lock("/tmp/gpu.lock");
	ck_assert_int_eq(chmod(RUN_DIR, 0757), 0);
	assert_default_lock("/tmp/gpu.lock");
	ck_assert_int_eq(chmod(RUN_DIR, 0755), 0);
	assert_default_lock(LOCK);
}
END_TEST

/* What nobody may not do to root's lock and slot files. */
static void assert_untouchable(const char *path, const char *own)
{
	errno = 0;
	ck_assert_msg(unlink(path) < 0 && (errno == EPERM || errno == EACCES), "unlink %s: %s", path,
	              strerror(errno));
	errno = 0;
	ck_assert_msg(rename(own, path) < 0 && (errno == EPERM || errno == EACCES),
	              "rename over %s: %s", path, strerror(errno));
	errno = 0;
	ck_assert_msg(chmod(path, 0600) < 0 && errno == EPERM, "chmod %s: %s", path,
	              strerror(errno));
	errno = 0;
	ck_assert_msg(chown(path, NOBODY, NOBODY) < 0 && errno == EPERM, "chown %s: %s", path,
	              strerror(errno));
	errno = 0;
	ck_assert_msg(mkfifo(path, 0666) < 0 && errno == EEXIST, "mkfifo %s: %s", path,
	              strerror(errno));
	assert_entry(path, S_IFREG | 0666);
}

START_TEST(nobody_cannot_replace_remove_or_plant)
{
	char path[300], own[300];
	int fd;

	h_setup();
	if (!private_run("nobody_cannot_replace_remove_or_plant") ||
	    !fake_gpus("nobody_cannot_replace_remove_or_plant", 1, NULL) ||
	    !h_need_nobody("nobody_cannot_replace_remove_or_plant"))
		return;
	setup_ok();
	h_become_nobody();

	/* Nothing new in /run/gpulock itself. */
	errno = 0;
	ck_assert_msg(open(RUN_DIR "/new", O_RDWR | O_CREAT | O_EXCL, 0666) < 0 && errno == EACCES,
	              "%s", strerror(errno));
	ck_assert_msg(mkfifo(RUN_DIR "/new", 0666) < 0 && errno == EACCES, "%s", strerror(errno));
	ck_assert_msg(rename(GPU_DIR, RUN_DIR "/moved") < 0 && errno == EACCES, "%s",
	              strerror(errno));
	ck_assert_msg(rmdir(SLOTS) < 0 && errno == EACCES, "%s", strerror(errno));

	/* Our own file, on the same filesystem, to rename over theirs. */
	snprintf(own, sizeof own, GPU_DIR "/mine");
	fd = open(own, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	assert_untouchable(LOCK, own);
	snprintf(path, sizeof path, GPU_DIR "/%s", fake_gpu_uuid(0));
	assert_untouchable(path, own);
	snprintf(path, sizeof path, GPU_DIR "/%s.turn", fake_gpu_uuid(0));
	assert_untouchable(path, own);
	assert_untouchable(GPU_DIR "/machine.turn", own);
	snprintf(own, sizeof own, SLOTS "/mine");
	fd = open(own, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	for (unsigned k = 1; k <= 3; k++) {
		snprintf(path, sizeof path, SLOTS "/slot%u", k);
		assert_untouchable(path, own);
	}
	/* Users may still open and lock them, for writing too (gpu_run.sh). */
	fd = open(LOCK, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

/* A root job holding the default lock (GPU_LOCK_PATH unset: /run/gpulock's)
 * excludes nobody's preloaded client, which waits, then gets it. */
START_TEST(root_job_excludes_nobody_who_waits_then_gets_it)
{
	const char *hold[] = {"CLIENT_HOLD=1", "GPU_LOCK_PATH=", NULL};
	const char *unset[] = {"GPU_LOCK_PATH=", NULL};
	const char *argv[] = {NULL, NULL};
	struct tp_proc holder, client;
	char line[32] = {0}, *out, *err;

	h_setup();
	if (!private_run("root_job_excludes_nobody_who_waits_then_gets_it") ||
	    !h_need_nobody("root_job_excludes_nobody_who_waits_then_gets_it"))
		return;
	setup_ok();
	tp_write_file(h_trace, "");
	ck_assert_int_eq(chmod(h_trace, 0666), 0);
	argv[0] = h_artifact("GL_CLIENT_DLSYM");
	h_spawn(&holder, argv, hold, true);
	ck_assert_int_gt(read(holder.out, line, sizeof line - 1), 0);
	ck_assert_str_eq(line, "cuInit=0\n");
	h_wait_holder(LOCK, holder.pid); /* the default: /run/gpulock's */
	h_become_nobody();
	argv[0] = h_artifact("GL_CLIENT_DLSYM");
	h_spawn(&client, argv, unset, true);
	close(client.in);
	h_wait_waiter(LOCK, client.pid);
	close(holder.in); /* the root job ends */
	tp_collect(client.out, client.err, &out, &err);
	ck_assert_int_eq(tp_wait(client.pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_msg(strstr(err, "got the GPU lock " LOCK " after"), "%s", err);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	free(out);
	free(err);
	close(client.out);
	close(client.err);
	close(holder.out);
	close(holder.err);
}
END_TEST

/* nobody takes GPUs (run --gpus: the queue and the GPU files in
 * /run/gpulock/gpu.lock.d) and a cpu_run slot (CPU_RUN_SLOT_DIR unset:
 * /run/gpulock/cpu_run_slots) as usual; an explicit GPU_LOCK_PATH wins. */
START_TEST(nobody_uses_the_locks_and_the_defaults_switch)
{
	const char *unset[] = {"GPU_LOCK_PATH=", "CPU_RUN_SLOT_DIR=", NULL};
	const char *gpus[] = {NULL, "run", "--gpus", "1", "--", "sh", "-c",
	                      "echo $CUDA_VISIBLE_DEVICES; readlink /proc/$$/fd/*; true", NULL};
	const char *cpu[] = {NULL, "-q", "--", "sh", "-c", "readlink /proc/$$/fd/*; true", NULL};
	const char *client[] = {NULL, NULL};
	char want[200], *out, *err;

	h_setup();
	if (!private_run("nobody_uses_the_locks_and_the_defaults_switch") ||
	    !fake_gpus("nobody_uses_the_locks_and_the_defaults_switch", 2, NULL) ||
	    !h_need_nobody("nobody_uses_the_locks_and_the_defaults_switch"))
		return;
	setup_ok();
	tp_write_file(h_trace, "");
	ck_assert_int_eq(chmod(h_trace, 0666), 0);
	tp_write_file(h_lock, ""); /* the explicit one, in h_dir, which nobody cannot write */
	ck_assert_int_eq(chmod(h_lock, 0666), 0);
	h_become_nobody();

	gpus[0] = h_artifact("GL_GPULOCK");
	ck_assert_msg(h_run(gpus, unset, false, &out, &err) == 0, "%s\n%s", out, err);
	snprintf(want, sizeof want, "%s\n", fake_gpu_uuid(0)); /* the first in PCI order */
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s\n%s", out, err);
	snprintf(want, sizeof want, GPU_DIR "/%s\n", fake_gpu_uuid(0));
	ck_assert_msg(tp_count(out, want) == 1, "%s", out);
	ck_assert_msg(tp_count(out, LOCK "\n") == 1, "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(count_entries(GPU_DIR), 5); /* its ticket is gone */

	cpu[0] = h_artifact("GL_CPU_RUN");
	ck_assert_int_eq(h_run(cpu, unset, false, &out, &err), 0);
	ck_assert_msg(tp_count(out, SLOTS "/slot1\n") == 1, "%s\n%s", out, err);
	free(out);
	free(err);
	ck_assert_int_eq(count_entries(SLOTS), 3);

	/* The preload, GPU_LOCK_PATH unset and set. */
	client[0] = h_artifact("GL_CLIENT_DLSYM");
	{
		const char *debug[] = {"GPU_LOCK_PATH=", "GPU_LOCK_DEBUG=1", NULL};
		const char *mine[] = {"GPU_LOCK_DEBUG=1", NULL}; /* h_spawn's h_lock */

		ck_assert_int_eq(h_run(client, debug, true, &out, &err), 0);
		ck_assert_str_eq(out, "cuInit=0\n");
		ck_assert_msg(strstr(err, "took the GPU lock " LOCK), "%s", err);
		free(out);
		free(err);
		ck_assert_msg(h_run(client, mine, true, &out, &err) == 0, "%s", err);
		snprintf(want, sizeof want, "took the GPU lock %s", h_lock);
		ck_assert_msg(strstr(err, want), "%s", err);
		free(out);
		free(err);
	}
}
END_TEST

/* /tmp mode (a sticky 1777 directory standing in for /tmp, no
 * /run/gpulock): a FIFO another user planted at the lock path, or at the
 * slot directory, is named with its type and owner by the preload, gpulock
 * run --eager, doctor and cpu_run; doctor warns of the shared directory. */
START_TEST(tmp_mode_names_what_was_planted_and_by_whom)
{
	char tmp[200], lock[220], slots[220], env_lock[240], env_slots[240], want[1024];
	const char *env[] = {env_lock, env_slots, NULL};
	const char *client[] = {NULL, NULL};
	const char *eager[] = {NULL, "run", "--eager", "--", "true", NULL};
	const char *doctor[] = {NULL, "doctor", NULL};
	const char *cpu[] = {NULL, "-q", "--", "true", NULL};
	char *out, *err;

	h_setup();
	if (!private_run("tmp_mode_names_what_was_planted_and_by_whom"))
		return;
	snprintf(tmp, sizeof tmp, "%s/tmp", h_dir);
	ck_assert_int_eq(mkdir(tmp, 01777), 0);
	ck_assert_int_eq(chmod(tmp, 01777), 0);
	snprintf(lock, sizeof lock, "%s/gpu.lock", tmp);
	snprintf(slots, sizeof slots, "%s/cpu_run_slots", tmp);
	ck_assert_int_eq(mkfifo(lock, 0600), 0);
	ck_assert_int_eq(chown(lock, NOBODY, NOBODY), 0);
	ck_assert_int_eq(mkfifo(slots, 0600), 0);
	ck_assert_int_eq(chown(slots, NOBODY, NOBODY), 0);
	snprintf(env_lock, sizeof env_lock, "GPU_LOCK_PATH=%s", lock);
	snprintf(env_slots, sizeof env_slots, "CPU_RUN_SLOT_DIR=%s", slots);
	snprintf(want, sizeof want,
	         "cannot use the GPU lock %s: it is a FIFO, not a regular file (owned by %s)\n", lock,
	         nobody_text());

	client[0] = h_artifact("GL_CLIENT_DLSYM");
	ck_assert_int_eq(h_run(client, env, true, &out, &err), 1);
	ck_assert_str_eq(out, "cuInit=304\n");
	ck_assert_msg(tp_count(err, want) == 1, "want %s in:\n%s", want, err);
	free(out);
	free(err);

	eager[0] = h_artifact("GL_GPULOCK");
	ck_assert_int_eq(h_run(eager, env, false, &out, &err), 125);
	ck_assert_msg(tp_count(err, want) == 1, "want %s in:\n%s", want, err);
	free(out);
	free(err);

	doctor[0] = h_artifact("GL_GPULOCK");
	ck_assert_int_eq(h_run(doctor, env, false, &out, &err), 1);
	snprintf(want, sizeof want,
	         "FAIL lock file %s: it is a FIFO, not a regular file (owned by %s) (planted by "
	         "another user?)\n",
	         lock, nobody_text());
	ck_assert_msg(tp_count(out, want) == 1, "want %s in:\n%s", want, out);
	snprintf(want, sizeof want, "WARN the lock %s is in %s, which other users can write", lock,
	         tmp);
	ck_assert_msg(tp_count(out, want) == 1, "want %s in:\n%s", want, out);
	ck_assert_msg(strstr(out, "sudo gpulock setup"), "%s", out);
	snprintf(want, sizeof want,
	         "WARN cpu_run's slot directory %s is not a directory (a FIFO, owned by %s)", slots,
	         nobody_text());
	ck_assert_msg(tp_count(out, want) == 1, "want %s in:\n%s", want, out);
	free(out);
	free(err);

	cpu[0] = h_artifact("GL_CPU_RUN");
	ck_assert_int_eq(h_run(cpu, env, false, &out, &err), 125);
	snprintf(want, sizeof want,
	         "cannot use slot directory %s: it is a FIFO, not a directory (owned by %s)\n", slots,
	         nobody_text());
	ck_assert_msg(tp_count(err, want) == 1, "want %s in:\n%s", want, err);
	free(out);
	free(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hardened");
	TCase *tc = tcase_create("hardened");
	TCase *root = tcase_create("root");

	tcase_add_test(tc, setup_refuses_without_root);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(root, setup_makes_exactly_the_layout);
	tcase_add_test(root, nobody_cannot_replace_remove_or_plant);
	tcase_add_test(root, root_job_excludes_nobody_who_waits_then_gets_it);
	tcase_add_test(root, nobody_uses_the_locks_and_the_defaults_switch);
	tcase_add_test(root, tmp_mode_names_what_was_planted_and_by_whom);
	tcase_add_test(root, only_a_root_directory_others_cannot_write_is_the_default);
	tcase_set_tags(root, "conditional");
	tcase_set_timeout(root, 60);
	suite_add_tcase(s, root);
	return tp_run_suite(s);
}
