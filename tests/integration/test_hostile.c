/* Hostile and unusual environments: a lock file of another user, LD_PRELOAD
 * naming the library twice or through a relative path, setuid programs,
 * static and 32-bit programs under the lines `gpulock shell-init` prints,
 * and a filesystem without flock. Each shows a clear message and no
 * unlocked run, or runs normally where the preload does not apply.
 * Tests that need root or a toolchain the machine lacks skip, saying why;
 * each kind is a test case of its own, which meson runs as a test of its
 * own (doc/HACKING.md). Every test runs in its own process (Check's fork
 * mode): some drop to nobody, some change directory. */
#include "preload_harness.h"
#include "procs.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static void skip(const char *what, const char *why)
{
	tp_skip(what, why);
}

static void create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0); /* the umask must not narrow it */
	close(fd);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	ck_assert_msg(in >= 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(out >= 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(fchmod(out, mode), 0);
	close(in);
	close(out);
}

/* mkdir -p for a path under h_dir. */
static void make_dirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "%s: %s", p, strerror(errno));
}

/* A test program from the build, or NULL (with a SKIP line) where the
 * toolchain could not build it. */
static const char *optional_artifact(const char *var, const char *test, const char *why)
{
	const char *v = getenv(var);

	if (!v || !*v) {
		skip(test, why);
		return NULL;
	}
	return v;
}

/* Spawns, collects everything, waits. Returns the exit status; *pid is set. */
static int run(const char *const argv[], const char *const extra[], bool preload, pid_t *pid,
               char **out, char **err)
{
	struct tp_proc c;
	int status;

	h_spawn(&c, argv, extra, preload);
	close(c.in);
	*out = tp_read_all(c.out);
	*err = tp_read_all(c.err);
	status = tp_wait(c.pid, 30);
	close(c.out);
	close(c.err);
	if (pid)
		*pid = c.pid;
	return status;
}

/* Lines of the fake driver's trace for pid: "cuInit pid=P held=H". */
static int traced(pid_t pid, int held)
{
	char want[64], *trace = tp_slurp(h_trace);
	int n;

	if (held < 0)
		snprintf(want, sizeof want, "cuInit pid=%d held=", (int)pid);
	else
		snprintf(want, sizeof want, "cuInit pid=%d held=%d", (int)pid, held);
	n = tp_count(trace, want);
	free(trace);
	return n;
}

static int lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* ---- (a) a lock file of another user ---------------------------------- */

/* Root's lock file, mode 0600: nobody can open it at all. The client says
 * so and cuInit fails with 304, without waiting and without reaching the
 * driver; GPU_LOCK_ON_ERROR=run goes on unlocked, saying so. A holder is
 * present the whole time: the failure must not depend on the lock's state. */
START_TEST(lock_file_of_another_user_mode_0600)
{
	const char *argv[] = {NULL, NULL};
	const char *run_env[] = {"GPU_LOCK_ON_ERROR=run", NULL};
	struct tp_proc holder;
	char want[1024], *out, *err;
	struct stat st;
	pid_t pid;

	h_setup();
	if (!h_need_nobody("lock_file_of_another_user_mode_0600"))
		return;
	create_file(h_trace, 0666); /* the fake driver's, for root and nobody */
	create_file(h_lock, 0600);
	h_start_gpu_holder(&holder); /* root */
	h_become_nobody();
	argv[0] = h_artifact("GL_CLIENT_DLSYM");

	ck_assert_int_eq(run(argv, NULL, true, &pid, &out, &err), 1);
	ck_assert_str_eq(out, "cuInit=304\n");
	snprintf(want, sizeof want,
	         "gpulock: pid %d: cannot use the GPU lock %s: permission denied\n"
	         "gpulock: pid %d: cuInit fails; set GPU_LOCK_ON_ERROR=run to go on without the lock\n",
	         (int)pid, h_lock, (int)pid);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(traced(pid, -1), 0); /* never reached the driver */
	free(out);
	free(err);

	ck_assert_int_eq(run(argv, run_env, true, &pid, &out, &err), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	snprintf(want, sizeof want,
	         "gpulock: pid %d: cannot use the GPU lock %s: permission denied\n"
	         "gpulock: pid %d running without the GPU lock (GPU_LOCK_ON_ERROR=run)\n",
	         (int)pid, h_lock, (int)pid);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(traced(pid, 0), 1); /* unlocked: the user's choice */
	free(out);
	free(err);

	/* The file is still root's, mode 0600: nothing was changed or replaced. */
	ck_assert_int_eq(lstat(h_lock, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
}
END_TEST

/* Root's lock file, mode 0644: flock needs only read access, so nobody
 * opens it read-only and really waits for root's holder, then takes it. */
START_TEST(lock_file_of_another_user_mode_0644_is_locked_read_only)
{
	const char *argv[] = {NULL, NULL};
	struct tp_proc holder, c;
	char *out, *err;
	struct stat st;

	h_setup();
	if (!h_need_nobody("lock_file_of_another_user_mode_0644_is_locked_read_only"))
		return;
	create_file(h_trace, 0666);
	create_file(h_lock, 0644);
	h_start_gpu_holder(&holder);
	h_become_nobody();
	argv[0] = h_artifact("GL_CLIENT_DLSYM");

	h_spawn(&c, argv, NULL, true);
	close(c.in);
	h_wait_waiter(h_lock, c.pid); /* excluded by root's lock */
	ck_assert_int_eq(traced(c.pid, -1), 0);
	close(holder.in);
	ck_assert_int_eq(tp_wait(holder.pid, 30), 0);
	out = tp_read_all(c.out);
	err = tp_read_all(c.err);
	ck_assert_int_eq(tp_wait(c.pid, 30), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_int_eq(tp_count(err, "waiting for the GPU lock"), 1);
	ck_assert_int_eq(tp_count(err, "got the GPU lock"), 1);
	ck_assert_int_eq(lines(err), 2); /* nothing else */
	ck_assert_int_eq(traced(c.pid, 1), 1);
	ck_assert_int_eq(lstat(h_lock, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	free(out);
	free(err);
}
END_TEST

/* ---- (b) LD_PRELOAD naming the library twice, or relatively ----------- */

/* Open fds of pid on our lock file. */
static int lock_fds_of(pid_t pid)
{
	char dir[64], link[400], target[PATH_MAX];
	struct dirent *d;
	DIR *fds;
	int n = 0;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	fds = opendir(dir);
	ck_assert_ptr_nonnull(fds);
	while ((d = readdir(fds)) != NULL) {
		ssize_t len;
		snprintf(link, sizeof link, "%s/%s", dir, d->d_name);
		len = readlink(link, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, h_lock) == 0)
			n++;
	}
	closedir(fds);
	return n;
}

/* Distinct files mapped into pid under the preload's name. */
static int preload_copies_in(pid_t pid)
{
	char path[64], line[4096], seen[4][PATH_MAX];
	int n = 0;
	FILE *maps;

	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	ck_assert_ptr_nonnull(maps);
	while (fgets(line, sizeof line, maps)) {
		char *file = strchr(line, '/');
		bool known = false;
		if (!file || !strstr(file, "libgpulock_preload.so"))
			continue;
		file[strcspn(file, "\n")] = '\0';
		for (int i = 0; i < n; i++)
			known = known || strcmp(seen[i], file) == 0;
		if (!known && n < 4)
			snprintf(seen[n++], sizeof seen[0], "%s", file);
	}
	fclose(maps);
	return n;
}

/* Runs a holding client with LD_PRELOAD=value (after the sanitizer runtime
 * where there is one): it must hold the lock once, through one fd, print
 * nothing, and have the number of copies of the library mapped that the
 * loader should map (it loads one file once, whatever the names). */
static void preload_variant(const char *client, const char *value, int copies)
{
	char env_preload[PATH_MAX * 3], line[32] = {0};
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX");
	const char *extra[] = {env_preload, "CLIENT_HOLD=1", NULL};
	const char *argv[] = {client, NULL};
	struct tp_proc c;
	char *err;

	ck_assert_int_lt(snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s%s%s",
	                          prefix ? prefix : "", prefix ? ":" : "", value),
	                 sizeof env_preload);
	h_spawn(&c, argv, extra, false);
	ck_assert_int_gt(read(c.out, line, sizeof line - 1), 0);
	ck_assert_msg(strcmp(line, "cuInit=0\n") == 0, "LD_PRELOAD='%s' %s: %s", value, client,
	              line);
	h_wait_holder(h_lock, c.pid);
	/* One fd: one open file description, one flock. (Counting /proc/locks
	 * entries instead is unreliable while other tests lock and unlock: the
	 * kernel lists the table consistently only within one page of it.) */
	ck_assert_msg(lock_fds_of(c.pid) == 1, "LD_PRELOAD='%s': %d fds on the lock", value,
	              lock_fds_of(c.pid));
	ck_assert_int_eq(preload_copies_in(c.pid), copies);
	close(c.in);
	free(tp_read_all(c.out));
	err = tp_read_all(c.err);
	ck_assert_int_eq(tp_wait(c.pid, 30), 0);
	ck_assert_msg(strcmp(err, "") == 0, "LD_PRELOAD='%s' %s: stderr:\n%s", value, client, err);
	ck_assert_int_eq(traced(c.pid, 1), 1);
	ck_assert_int_eq(traced(c.pid, -1), 1);
	free(err);
}

START_TEST(preload_named_twice_or_relatively)
{
	const char *lib = h_artifact("GL_PRELOAD");
	const char *clients[] = {h_artifact("GL_CLIENT_PLT"), h_artifact("GL_CLIENT_GPA"), NULL};
	char dir[PATH_MAX], parent_rel[PATH_MAX], copy[PATH_MAX], v[5][PATH_MAX * 2 + 8];
	const int copies[5] = {1, 1, 1, 1, 2};

	h_setup();
	snprintf(dir, sizeof dir, "%s", lib);
	dirname(dir);
	/* Relative paths are relative to the process's directory: the library's. */
	ck_assert_int_eq(chdir(dir), 0);
	snprintf(parent_rel, sizeof parent_rel, "../%s/libgpulock_preload.so", basename(dir));
	snprintf(copy, sizeof copy, "%s/copy", h_dir);
	make_dirs(copy);
	strcat(copy, "/libgpulock_preload.so");
	copy_file(lib, copy, 0755);

	snprintf(v[0], sizeof v[0], "%s:%s", lib, lib);            /* the same path twice */
	snprintf(v[1], sizeof v[1], "%s %s", lib, lib);            /* spaces separate too */
	snprintf(v[2], sizeof v[2], "./libgpulock_preload.so");    /* relative */
	snprintf(v[3], sizeof v[3], "%s:%s", parent_rel, lib);     /* relative and absolute */
	snprintf(v[4], sizeof v[4], "%s:%s", lib, copy);           /* two copies of the library */
	for (int i = 0; i < 5; i++)
		for (int j = 0; clients[j]; j++)
			preload_variant(clients[j], v[i], copies[i]);
}
END_TEST

/* ---- (c) setuid programs ---------------------------------------------- */

/* The loader runs a setuid program in secure mode and ignores LD_PRELOAD
 * entries with a slash: the program runs as usual, silently, unlocked. */
START_TEST(setuid_program_runs_normally_without_the_preload)
{
	const char *plain = optional_artifact("GL_HOSTILE_SETUID", "setuid", "not built");
	char path[200], *out, *err;
	const char *argv[] = {path, NULL};
	struct statvfs vfs;
	pid_t pid;

	if (!plain)
		return;
	if (getenv("GL_UNDER_VALGRIND")) {
		skip("setuid_program_runs_normally_without_the_preload",
		     "valgrind cannot run a program with its setuid privileges");
		return;
	}
	h_setup();
	if (!h_need_nobody("setuid_program_runs_normally_without_the_preload"))
		return;
	ck_assert_int_eq(statvfs(h_dir, &vfs), 0);
	if (vfs.f_flag & ST_NOSUID) {
		skip("setuid_program_runs_normally_without_the_preload",
		     "the temporary directory (TMPDIR) is on a filesystem mounted nosuid");
		return;
	}
	snprintf(path, sizeof path, "%s/setuid_client", h_dir);
	copy_file(plain, path, 0755);
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(chmod(path, 04755), 0);
	h_become_nobody();

	ck_assert_int_eq(run(argv, NULL, true, &pid, &out, &err), 0);
	ck_assert_str_eq(out, "bits=64 uid=65534 euid=0 preloaded=0\ncuInit=0\n");
	ck_assert_str_eq(err, ""); /* no loader message */
	ck_assert_int_eq(traced(pid, 0), 1);
	ck_assert_int_eq(access(h_lock, F_OK), -1); /* the preload never ran */
	free(out);
	free(err);
}
END_TEST

/* ---- (d) static and 32-bit programs under `gpulock shell-init bash` ---- */

/* An installed layout under h_dir/NAME: bin/gpulock, and lib (a file to
 * install as the preload) at LIBDIR/libgpulock_preload.so. Returns the
 * lines `gpulock shell-init bash` prints there, saved in h_dir/NAME.sh. */
static char *install_and_init(const char *name, const char *libdir, const char *lib,
                              char *script, size_t len)
{
	const char *const no_override[] = {"GPULOCK_PRELOAD=", NULL};
	char prefix[PATH_MAX], path[PATH_MAX * 2], *out, *err;
	const char *argv[] = {path, "shell-init", "bash", NULL};
	FILE *f;

	snprintf(prefix, sizeof prefix, "%s/%s", h_dir, name);
	snprintf(path, sizeof path, "%s/%s", prefix, libdir);
	make_dirs(path);
	strcat(path, "/libgpulock_preload.so");
	copy_file(lib, path, 0755);
	snprintf(path, sizeof path, "%s/bin", prefix);
	make_dirs(path);
	strcat(path, "/gpulock");
	copy_file(h_artifact("GL_GPULOCK"), path, 0755);
	ck_assert_int_eq(run(argv, no_override, false, NULL, &out, &err), 0);
	ck_assert_str_eq(err, "");
	snprintf(script, len, "%s/%s.sh", h_dir, name);
	f = fopen(script, "we");
	ck_assert_ptr_nonnull(f);
	fputs(out, f);
	ck_assert_int_eq(fclose(f), 0);
	free(err);
	return out;
}

/* bash sources the lines, then execs argv (at most 4 words) with them. */
static int run_under_init(const char *script, const char *const cmd[], const char *const extra[],
                          char **out, char **err)
{
	const char *argv[8] = {"bash", "-c", ". \"$0\" && exec \"$@\"", script};
	int n = 4;

	for (int i = 0; cmd[i] && n < 7; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	return run(argv, extra, false, NULL, out, err);
}

/* "lib/x86_64-linux-gnu": the multiarch directory where shell-init writes
 * $LIB; NULL (with a SKIP line) where meson's libdir is not one. */
static const char *multiarch_libdir(const char *test)
{
	const char *libdir = h_artifact("GL_LIBDIR_NAME");

	if (strncmp(libdir, "lib/", 4) != 0) {
		skip(test, "libdir is not a multiarch directory: shell-init prints no $LIB");
		return NULL;
	}
	return libdir;
}

/* A static program has no loader: the lines change nothing for it, in the
 * $LIB form and in the plain form. The same lines do lock a 64-bit CUDA
 * program: the $LIB path is live, not silently ignored. */
START_TEST(static_program_under_shell_init)
{
	const char *bin = optional_artifact("GL_HOSTILE_STATIC", "static_program_under_shell_init",
	                                    "the compiler cannot link -static");
	const char *libdir = multiarch_libdir("static_program_under_shell_init");
	const char *prefix = getenv("GL_TEST_PRELOAD_PREFIX");
	char script[PATH_MAX], plain[PATH_MAX], want[128], env_preload[PATH_MAX + 16];
	const char *cmd[] = {bin, NULL};
	const char *cuda[] = {h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *sanitizer_first[] = {env_preload, NULL};
	char *lines, *out, *err;

	if (!bin || !libdir)
		return;
	h_setup();
	lines = install_and_init("prefix", libdir, h_artifact("GL_PRELOAD"), script, sizeof script);
	ck_assert_msg(strstr(lines, "/prefix/$LIB/libgpulock_preload.so'"), "%s", lines);
	free(lines);
	lines = install_and_init("plain", "lib", h_artifact("GL_PRELOAD"), plain, sizeof plain);
	ck_assert_msg(strstr(lines, "/plain/lib/libgpulock_preload.so'"), "%s", lines);
	free(lines);

	snprintf(want, sizeof want, "bits=64 uid=%u euid=%u preloaded=0\n", (unsigned)getuid(),
	         (unsigned)geteuid());
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(run_under_init(i ? plain : script, cmd, NULL, &out, &err), 0);
		ck_assert_str_eq(out, want);
		ck_assert_str_eq(err, "");
		free(out);
		free(err);
	}

	/* A sanitizer runtime must come first: the lines append after it. */
	snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", prefix ? prefix : "");
	ck_assert_int_eq(run_under_init(script, cuda, prefix ? sanitizer_first : NULL, &out, &err), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(tp_count(tp_slurp(h_trace), "held=1"), 1);
	free(out);
	free(err);
}
END_TEST

/* Does the program run here, as it is? Some x86-64 kernels have no 32-bit
 * support (exec fails with ENOEXEC), and valgrind cannot run a 32-bit
 * program on them either. */
static bool kernel_runs(const char *path)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		char *const argv[] = {(char *)path, NULL};
		dup2(null, 1);
		dup2(null, 2);
		execv(path, argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static const char *find_in_path(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* A 32-bit program under the lines: its loader expands $LIB to its own
 * directory (lib/i386-linux-gnu with Debian's multiarch libc6:i386, lib32
 * with the libc6-i386 that gcc-multilib installs), where no gpulock exists:
 * one loader warning and a normal run. A 32-bit library (an empty one) in
 * those directories silences it. The plain form names the 64-bit library:
 * "wrong ELF class", and a normal run. The 64-bit library here is an empty
 * one, built without the build's flags, so that qemu can load it under a
 * sanitizer build too. */
START_TEST(m32_program_under_shell_init)
{
	const char *test = "m32_program_under_shell_init";
	const char *bin = optional_artifact("GL_HOSTILE_M32", test,
	                                    "the compiler cannot build -m32 programs "
	                                    "(apt-get install gcc-multilib)");
	const char *empty32 = getenv("GL_HOSTILE_EMPTY32_SO"); /* built where bin is */
	const char *empty64 = h_artifact("GL_HOSTILE_EMPTY64_SO");
	const char *libdir = multiarch_libdir(test);
	char script[PATH_MAX], plain[PATH_MAX], qemu[PATH_MAX], want[PATH_MAX * 2], path[PATH_MAX];
	char ids[64], want_out[128];
	const char *native[] = {bin, NULL}, *emulated[] = {qemu, bin, NULL}, **cmd = native;
	char *lines, *out, *err;

	if (!bin || !libdir)
		return;
	if (!kernel_runs(bin)) {
		if (!find_in_path("qemu-i386", qemu, sizeof qemu)) {
			skip(test, "32-bit programs cannot run here, and qemu-i386 "
			           "(apt-get install qemu-user) is not installed");
			return;
		}
		/* qemu-user runs the program with its own i386 loader, which reads
		 * LD_PRELOAD from the environment as the kernel-started one would. */
		fprintf(stderr, "NOTE %s: 32-bit programs cannot run here: using %s\n", test, qemu);
		cmd = emulated;
	}
	h_setup();
	lines = install_and_init("prefix", libdir, empty64, script, sizeof script);
	free(lines);
	lines = install_and_init("plain", "lib", empty64, plain, sizeof plain);
	free(lines);

	snprintf(ids, sizeof ids, "uid=%u euid=%u", (unsigned)getuid(), (unsigned)geteuid());
	snprintf(want_out, sizeof want_out, "bits=32 %s preloaded=0\n", ids);
	ck_assert_int_eq(run_under_init(script, cmd, NULL, &out, &err), 0);
	ck_assert_str_eq(out, want_out);
	snprintf(want, sizeof want,
	         "ERROR: ld.so: object '%s/prefix/$LIB/libgpulock_preload.so' from LD_PRELOAD "
	         "cannot be preloaded (cannot open shared object file): ignored.\n",
	         h_dir);
	ck_assert_str_eq(err, want);
	free(out);
	free(err);

	ck_assert_int_eq(run_under_init(plain, cmd, NULL, &out, &err), 0);
	ck_assert_str_eq(out, want_out);
	snprintf(want, sizeof want,
	         "ERROR: ld.so: object '%s/plain/lib/libgpulock_preload.so' from LD_PRELOAD "
	         "cannot be preloaded (wrong ELF class: ELFCLASS64): ignored.\n",
	         h_dir);
	ck_assert_str_eq(err, want);
	free(out);
	free(err);

	ck_assert_msg(empty32 && *empty32, "GL_HOSTILE_EMPTY32_SO is not set: run the tests through "
	                                   "meson test");
	snprintf(path, sizeof path, "%s/prefix/lib/i386-linux-gnu", h_dir);
	make_dirs(path);
	strcat(path, "/libgpulock_preload.so");
	copy_file(empty32, path, 0755);
	snprintf(path, sizeof path, "%s/prefix/lib32", h_dir);
	make_dirs(path);
	strcat(path, "/libgpulock_preload.so");
	copy_file(empty32, path, 0755);
	ck_assert_int_eq(run_under_init(script, cmd, NULL, &out, &err), 0);
	snprintf(want_out, sizeof want_out, "bits=32 %s preloaded=1\n", ids);
	ck_assert_str_eq(out, want_out);
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
}
END_TEST

/* ---- (e) a filesystem without flock ----------------------------------- */

/* flock fails with ENOLCK (NFS mounted without locking) or EOPNOTSUPP: a
 * clear message and cuInit 304, the driver never reached; with
 * GPU_LOCK_ON_ERROR=run, an unlocked run that says so. gpulock run --eager
 * refuses with 125 before the command starts. */
static void no_flock_test(int err_no, const char *reason)
{
	char errstr[16], want[1024], *out, *err;
	const char *argv[] = {h_artifact("GL_NO_FLOCK"), errstr, h_artifact("GL_CLIENT_DLSYM"), NULL};
	const char *eager[] = {h_artifact("GL_NO_FLOCK"), errstr, h_artifact("GL_GPULOCK"), "run",
	                       "--eager", "--", "echo", "ran", NULL};
	const char *run_env[] = {"GPU_LOCK_ON_ERROR=run", NULL};
	pid_t pid;

	h_setup();
	snprintf(errstr, sizeof errstr, "%d", err_no);
	ck_assert_int_eq(run(argv, NULL, true, &pid, &out, &err), 1);
	ck_assert_str_eq(out, "cuInit=304\n");
	snprintf(want, sizeof want,
	         "gpulock: pid %d: cannot use the GPU lock %s: %s\n"
	         "gpulock: pid %d: cuInit fails; set GPU_LOCK_ON_ERROR=run to go on without the lock\n",
	         (int)pid, h_lock, reason, (int)pid);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(traced(pid, -1), 0);
	free(out);
	free(err);

	ck_assert_int_eq(run(argv, run_env, true, &pid, &out, &err), 0);
	ck_assert_str_eq(out, "cuInit=0\n");
	snprintf(want, sizeof want,
	         "gpulock: pid %d: cannot use the GPU lock %s: %s\n"
	         "gpulock: pid %d running without the GPU lock (GPU_LOCK_ON_ERROR=run)\n",
	         (int)pid, h_lock, reason, (int)pid);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(traced(pid, 0), 1);
	free(out);
	free(err);

	ck_assert_int_eq(run(eager, NULL, false, &pid, &out, &err), 125);
	ck_assert_str_eq(out, "");
	snprintf(want, sizeof want, "cannot use the GPU lock %s: %s", h_lock, reason);
	ck_assert_msg(tp_count(err, want) == 1, "stderr:\n%s", err);
	free(out);
	free(err);
}

START_TEST(filesystem_without_flock_enolck)
{
	no_flock_test(ENOLCK, "the filesystem does not support flock (NFS without lock support?)");
}
END_TEST

START_TEST(filesystem_without_flock_eopnotsupp)
{
	no_flock_test(EOPNOTSUPP, strerror(EOPNOTSUPP));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");
	/* Tests that skip where the machine lacks something: meson runs each
	 * of these cases as a test of its own (tag "conditional"). */
	TCase *root = tcase_create("root"), *setuid = tcase_create("setuid"),
	      *stat = tcase_create("static"), *m32 = tcase_create("m32");
	TCase *conditional[] = {root, setuid, stat, m32};

	tcase_add_test(root, lock_file_of_another_user_mode_0600);
	tcase_add_test(root, lock_file_of_another_user_mode_0644_is_locked_read_only);
	tcase_add_test(tc, preload_named_twice_or_relatively);
	tcase_add_test(setuid, setuid_program_runs_normally_without_the_preload);
	tcase_add_test(stat, static_program_under_shell_init);
	tcase_add_test(m32, m32_program_under_shell_init);
	tcase_add_test(tc, filesystem_without_flock_enolck);
	tcase_add_test(tc, filesystem_without_flock_eopnotsupp);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	for (size_t i = 0; i < sizeof conditional / sizeof conditional[0]; i++) {
		tcase_set_tags(conditional[i], "conditional");
		tcase_set_timeout(conditional[i], 120);
		suite_add_tcase(s, conditional[i]);
	}
	return tp_run_suite(s);
}
