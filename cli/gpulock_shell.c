/* gpulock shell-init: profile lines that add the preload to LD_PRELOAD.
 *
 * They decide when the profile runs, in the shell: the library is added last
 * (sanitizer runtimes must stay first) unless an entry is that very file
 * (test -ef) or the same text; a stale entry of an old install does not stop
 * it. They add nothing once the library file is gone, so a profile line
 * outlives an uninstall silently (the loader would complain in every
 * process about a missing entry). The loader expands $LIB per process
 * (lib/x86_64-linux-gnu, lib/i386-linux-gnu, ...), so where the library is
 * installed in the multiarch directory, each process looks in the one of
 * its own kind.
 *
 * systemd starts services without a profile: "shell-init systemd" prints a
 * drop-in that sets LD_PRELOAD. Environment= just sets the value, so there
 * is nothing to decide: no check for the file or for entries already
 * listed; its comment says what it replaces. */
#include "gpulock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s in single quotes for sh (' as '\'') or fish (\' and \\). */
static void put_quoted(const char *s, bool fish)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs(fish ? "\\'" : "'\\''", stdout);
		else if (*s == '\\' && fish)
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static void print_posix(const char *value, const char *file)
{
	fputs("_gl_lib=", stdout);
	put_quoted(value, false);
	fputs("\n_gl_file=", stdout);
	put_quoted(file, false);
	fputs("\n_gl_rest=${LD_PRELOAD:-}\n"
	      "while [ -n \"$_gl_rest\" ] && [ -f \"$_gl_file\" ]; do\n"
	      "\t_gl_e=${_gl_rest%%[ :]*}\n"
	      "\t_gl_rest=${_gl_rest#\"$_gl_e\"}\n"
	      "\t_gl_rest=${_gl_rest#?}\n"
	      "\tif [ \"$_gl_e\" = \"$_gl_lib\" ] || [ \"$_gl_e\" -ef \"$_gl_file\" ]; then _gl_file=; fi\n"
	      "done\n"
	      "if [ -f \"$_gl_file\" ]; then export LD_PRELOAD=\"${LD_PRELOAD:+$LD_PRELOAD:}$_gl_lib\"; "
	      "fi\n"
	      "unset _gl_lib _gl_file _gl_rest _gl_e\n",
	      stdout);
}

/* test -ef needs fish 3.5; an older one says nothing (2>/dev/null) and adds
 * the library a second time, which the loader takes as once. */
static void print_fish(const char *value, const char *file)
{
	fputs("begin\n    set -l lib ", stdout);
	put_quoted(value, true);
	fputs("\n    set -l file ", stdout);
	put_quoted(file, true);
	fputs("\n    for e in (string split -- : (string replace -a -- ' ' : \"$LD_PRELOAD\"))\n"
	      "        if test \"$e\" = \"$lib\"; or test \"$e\" -ef \"$file\" 2>/dev/null\n"
	      "            set file ''\n"
	      "        end\n"
	      "    end\n"
	      "    if test -f \"$file\"\n"
	      "        set -gx LD_PRELOAD (string join : -- $LD_PRELOAD $lib | string trim -c :)\n"
	      "    end\n"
	      "end\n",
	      stdout);
}

/* systemd unquotes and unescapes an Environment= word and expands %
 * specifiers; $ means nothing there, so the loader gets $LIB as written. */
static void print_systemd(const char *value)
{
	fputs("# As a drop-in for one service: /etc/systemd/system/UNIT.service.d/gpulock.conf\n"
	      "# (systemctl edit UNIT opens one there); for every service, systemd 246 and\n"
	      "# later: /etc/systemd/system/service.d/gpulock.conf; for user units, the same\n"
	      "# under ~/.config/systemd/user/. Then systemctl [--user] daemon-reload, and\n"
	      "# restart the services. It replaces the LD_PRELOAD a unit sets with\n"
	      "# Environment= (one set with EnvironmentFile= wins over it): list both there.\n"
	      "# Remove it when gpulock is uninstalled: the loader would complain about the\n"
	      "# missing library in every process.\n"
	      "[Service]\n"
	      "Environment=LD_PRELOAD=",
	      stdout);
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if (*c == '%')
			fputs("%%", stdout);
		else if (*c == '\\' || *c == '"' || *c == '\'')
			printf("\\%c", *c);
		else if (*c <= ' ' || *c == 0x7f)
			printf("\\x%02x", *c);
		else
			putchar(*c);
	}
	putchar('\n');
}

int cli_shell_init(int argc, char **argv)
{
	static const char *const shells[] = {"bash", "zsh", "sh", "fish", "systemd", NULL};
	const char *shell = argc > 1 ? argv[1] : NULL, *lib, *base, *why;
	const char *libdir_suffix = "/" GL_LIBDIR_NAME "/" PRELOAD_NAME;
	char value[PATH_MAX + 16];
	size_t n, m = strlen(libdir_suffix);
	bool known = false;

	if (shell && (strcmp(shell, "-h") == 0 || strcmp(shell, "--help") == 0)) {
		cli_help(stdout, "shell-init");
		return 0;
	}
	if (shell && shell[0] == '-')
		return cli_usage_error("unknown option '%s'", shell);
	if (argc > 2)
		return cli_usage_error("unexpected argument '%s'", argv[2]);
	if (!shell) {
		const char *sh = getenv("SHELL");
		shell = sh && (base = strrchr(sh, '/')) ? base + 1 : "bash";
	}
	for (int i = 0; shells[i]; i++)
		known = known || strcmp(shell, shells[i]) == 0;
	if (!known)
		return cli_usage_error("unknown shell '%s': expected bash, zsh, sh, fish or systemd",
		                       shell);
	lib = cli_preload_path(&why);
	if (!lib) {
		fprintf(stderr, "gpulock: %s\n", why);
		return EXIT_SETUP;
	}
	n = strlen(lib);
	if (strncmp(GL_LIBDIR_NAME, "lib/", 4) == 0 && n > m &&
	    strcmp(lib + n - m, libdir_suffix) == 0)
		snprintf(value, sizeof value, "%.*s/$LIB/%s", (int)(n - m), lib, PRELOAD_NAME);
	else
		snprintf(value, sizeof value, "%s", lib);

	if (strcmp(shell, "systemd") == 0)
		printf("# gpulock: take the GPU lock at the first CUDA call of every program that\n"
		       "# a service starts.\n");
	else
		printf("# gpulock: take the GPU lock at the first CUDA call of every program. Adds\n"
		       "# the library last to LD_PRELOAD unless that file is listed; nothing once\n"
		       "# it is uninstalled.\n");
	if (!strstr(value, "$LIB") && !strchr(lib, '\n')) /* a comment is one line */
		printf("# %s is not in a multiarch directory:\n"
		       "# 32-bit programs will print a loader warning and run normally\n"
		       "# (gpulock-preload(7), EXPORTING IT EVERYWHERE, says how to silence it).\n",
		       lib);
	if (strcmp(shell, "systemd") == 0)
		print_systemd(value);
	else if (strcmp(shell, "fish") == 0)
		print_fish(value, lib);
	else
		print_posix(value, lib);
	return 0;
}
