/* gpulock's help: the overview, and one text per subcommand, for
 * "gpulock help CMD" and "gpulock CMD --help" alike. gpulock(1) is the
 * reference; these say what a user needs at the prompt. */
#include "gpulock.h"
#include "gl_slots.h"

#include <string.h>

static const char overview[] =
	"Usage: gpulock COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  run [OPTIONS] -- CMD...    run CMD under the GPU lock: it takes the lock at\n"
	"                             its first CUDA call, or before it starts (--eager)\n"
	"  status [OPTIONS]           who holds the GPU lock and who waits; cpu_run slots\n"
	"  wait [OPTIONS]             block until the GPU lock is free, without taking it\n"
	"  shell-init [bash|zsh|sh|fish|systemd]\n"
	"                             print profile lines that preload gpulock\n"
	"                             everywhere, or a systemd drop-in for services\n"
	"  preload-path               print the preload library's path\n"
	"  doctor [OPTIONS] [-- CMD...]\n"
	"                             check the set-up; with CMD, how CMD reaches the GPU\n"
	"  setup [OPTIONS]            (root) make the hardened lock directory\n"
	"                             " GL_HARDENED_DIR ", every tool's default once it exists\n"
	"  help [COMMAND]             this text, or COMMAND's\n"
	"\n"
	"Options:\n"
	"  -h, --help                 this text\n"
	"  -V, --version              the version\n"
	"\n"
	"'gpulock COMMAND --help' or 'gpulock help COMMAND' shows a command's options.\n"
	"\n"
	"Exit status: CMD's own for run; 0 free, 1 held for status; 75 when a wait for\n"
	"the lock timed out (run --eager, wait); 125 for gpulock's own errors; 126 CMD\n"
	"cannot be executed; 127 CMD not found.\n";

static const char run[] =
	"Usage: gpulock run [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"Run CMD with the GPU lock's preload library added last to LD_PRELOAD (unless\n"
	"that file is listed already): CMD takes the lock at its first CUDA call and\n"
	"holds it until it exits; the rest of what it does runs freely. gpulock execs\n"
	"CMD: the exit status, signals and pid are CMD's own.\n"
	"\n"
	"  -e, --eager          take the lock before CMD starts and hold it for CMD's\n"
	"                       whole process tree (launchers, GPU work without CUDA)\n"
	"  -g, --gpus K         take K free GPUs (1 to the number of GPUs, or all)\n"
	"                       before CMD starts, first come first served, and give\n"
	"                       CMD their UUIDs in CUDA_VISIBLE_DEVICES\n"
	"  -t, --timeout DUR    wait at most DUR for the lock (30, 0.5, 1m30s, forever)\n"
	"  -n, --no-wait        do not wait: the lock must be free now (--timeout 0)\n"
	"  -q, --quiet          do not announce waits\n"
	"  -l, --lock PATH      the lock file ($GPU_LOCK_PATH, else " GL_HARDENED_LOCK_PATH "\n"
	"                       where gpulock setup made it, else " GL_DEFAULT_LOCK_PATH ")\n"
	"  -h, --help           this text\n"
	"\n"
	"Each option reaches CMD's environment, in both modes, as GPU_LOCK_TIMEOUT\n"
	"(-t, -n: 0), GPU_LOCK_QUIET=1 (-q) and GPU_LOCK_PATH (-l).\n"
	"\n"
	"Exit status: CMD's own (128+N when signal N killed it). Without --eager, a\n"
	"wait that times out (-t, -n) makes CMD's first CUDA call fail (error 46,\n"
	"CUDA_ERROR_DEVICE_UNAVAILABLE) and CMD decides its exit status: gpulock\n"
	"cannot exit 75 for it. With --eager or --gpus, a timed-out wait exits 75 and\n"
	"CMD never runs: GPU_LOCK_ON_TIMEOUT=run does not apply to that wait (CMD\n"
	"still gets it, for its own CUDA calls). 125 gpulock's own errors, before CMD\n"
	"runs (--gpus K above the number of GPUs); 126 CMD cannot be executed; 127 CMD\n"
	"not found.\n";

static const char status[] =
	"Usage: gpulock status [OPTIONS]\n"
	"\n"
	"Show the GPU lock, its holder and every waiter, each GPU's (where GPUs are\n"
	"found) and the run --gpus queue, and the cpu_run slots and queue, read\n"
	"from /proc/locks and /proc; nothing is taken.\n"
	"\n"
	"  -j, --json           one JSON object (its fields: gpulock(1), JSON OUTPUT)\n"
	"  -l, --lock PATH      the lock file ($GPU_LOCK_PATH, else " GL_HARDENED_LOCK_PATH "\n"
	"                       where gpulock setup made it, else " GL_DEFAULT_LOCK_PATH ")\n"
	"  -d, --slot-dir DIR   the cpu_run slot directory (default $CPU_RUN_SLOT_DIR,\n"
	"                       else " GL_HARDENED_SLOT_DIR " where gpulock setup\n"
	"                       made it, else " GL_SLOTS_DEFAULT_DIR ")\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 when the GPUs are free, 1 when any is held, 125 on errors.\n";

static const char wait_text[] =
	"Usage: gpulock wait [OPTIONS]\n"
	"\n"
	"Block until nobody holds the GPU lock, without taking it. A wait is announced\n"
	"on stderr with the holder, and so is a timeout.\n"
	"\n"
	"  -t, --timeout DUR    wait at most DUR (30, 0.5, 1m30s, 2h, forever)\n"
	"  -q, --quiet          do not announce the wait\n"
	"  -l, --lock PATH      the lock file ($GPU_LOCK_PATH, else " GL_HARDENED_LOCK_PATH "\n"
	"                       where gpulock setup made it, else " GL_DEFAULT_LOCK_PATH ")\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 once the lock is free, 75 when it is still held after DUR, 125\n"
	"on errors.\n";

static const char shell_init[] =
	"Usage: gpulock shell-init [bash|zsh|sh|fish|systemd]\n"
	"\n"
	"Print profile lines that add the preload library last to LD_PRELOAD, for every\n"
	"process of the user, unless that very file is listed already; they do nothing\n"
	"once the library is gone. The shell defaults to the one $SHELL names.\n"
	"\n"
	"  In ~/.bashrc (zsh: ~/.zshrc; sh: ~/.profile):\n"
	"    command -v gpulock >/dev/null && eval \"$(gpulock shell-init bash)\"\n"
	"  In ~/.config/fish/config.fish:\n"
	"    command -q gpulock; and gpulock shell-init fish | source\n"
	"\n"
	"With systemd, print a drop-in that sets LD_PRELOAD to the library for a\n"
	"service, which reads no profile; its comment says where to save it.\n"
	"\n"
	"  -h, --help           this text\n";

static const char preload_path[] =
	"Usage: gpulock preload-path\n"
	"\n"
	"Print the absolute path of the preload library that gpulock run adds to\n"
	"LD_PRELOAD ($GPULOCK_PRELOAD when set), for scripts and container recipes.\n"
	"\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0, or 125 when the library is not found.\n";

static const char doctor[] =
	"Usage: gpulock doctor [OPTIONS] [-- CMD [ARGS...]]\n"
	"\n"
	"Check the set-up, one verdict per line (OK, INFO, WARN, FAIL): the lock file\n"
	"and its directory, the per-GPU lock and cpu_run slot directories (root's,\n"
	"mode 1777), the preload library and every LD_PRELOAD entry that does not\n"
	"load, the C library, the CUDA driver. With CMD, run it with\n"
	"GPU_LOCK_DEBUG=1 and report how it reaches the GPU.\n"
	"\n"
	"  -l, --lock PATH      the lock file ($GPU_LOCK_PATH, else " GL_HARDENED_LOCK_PATH "\n"
	"                       where gpulock setup made it, else " GL_DEFAULT_LOCK_PATH ")\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 1 with any FAIL verdict, else 0; 125 on usage errors.\n";

static const char setup[] =
	"Usage: gpulock setup [OPTIONS]\n"
	"\n"
	"As root, make or repair the hardened layout: DIR (root's, mode 0755) with the\n"
	"machine's lock gpu.lock, the per-GPU lock directory gpu.lock.d (mode 1777)\n"
	"with a lock file and a turnstile for every GPU present and machine.turn, and\n"
	"cpu_run's slot directory cpu_run_slots (mode 1777) with slot1..slotN; every\n"
	"file root's, mode 0666. Users can lock them but not replace or remove them.\n"
	"Existing entries get their owner and mode fixed; a symbolic link or a file of\n"
	"the wrong type is refused, never followed. Once " GL_HARDENED_DIR " exists,\n"
	"every tool and the preload use it by default. Run it at boot (after the\n"
	"driver: new GPUs get their files) with the gpulock-setup service.\n"
	"\n"
	"  -d, --dir DIR        where (default " GL_HARDENED_DIR ")\n"
	"  -s, --slots N        slot files to make (default 3, cpu_run's default; a\n"
	"                       CPU_RUN_SLOTS above N uses slots a user could plant)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 when the layout is ready; 125 when not root, on usage errors,\n"
	"or when an entry was refused (each is named on stderr).\n";

static const char help[] = "Usage: gpulock help [COMMAND]\n"
                           "\n"
                           "Show the help of COMMAND, or the overview.\n";

bool cli_help(FILE *out, const char *cmd)
{
	static const struct {
		const char *name, *text;
	} texts[] = {{"run", run},         {"status", status},   {"wait", wait_text},
	             {"shell-init", shell_init}, {"preload-path", preload_path},
	             {"doctor", doctor},         {"setup", setup},
	             {"help", help}};

	if (!cmd) {
		fputs(overview, out);
		return true;
	}
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (strcmp(cmd, texts[i].name) == 0) {
			fputs(texts[i].text, out);
			return true;
		}
	return false;
}
