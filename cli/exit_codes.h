/* The exit codes of gpulock and cpu_run, as in gpulock(1) and cpu_run(1):
 * the shell's for a command that cannot run (126, 127), 125 for the
 * launcher's own errors (as env(1), nice(1) and timeout(1) have them), and
 * EX_TEMPFAIL for a wait that timed out. */
#ifndef EXIT_CODES_H
#define EXIT_CODES_H

#define EXIT_TIMED_OUT 75    /* a wait timed out: gpulock's for the lock (fail policy),
                              * cpu_run's for a slot with --on-timeout=fail */
#define EXIT_SETUP 125       /* our own usage or set-up error, before anything ran */
#define EXIT_CANNOT_EXEC 126 /* the command exists but cannot be executed */
#define EXIT_NOT_FOUND 127   /* the command was not found */

#endif
