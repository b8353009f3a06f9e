/* The kernel's floor for any launcher that execs its command: exec_only.c
 * without a C library, so without its start-up (CPU feature probing, TLS,
 * stdio, the first page faults of its data). x86-64 Linux only.
 * bench_exec_nolibc CMD... */
	.globl _start
_start:
	mov (%rsp), %rdi         /* argc */
	lea 16(%rsp), %rsi       /* argv + 1 */
	lea 16(%rsp,%rdi,8), %rdx /* envp: past argv's NULL */
	mov (%rsi), %rdi         /* argv[1] */
	mov $59, %eax            /* execve */
	syscall
	mov $127, %edi
	mov $60, %eax            /* exit */
	syscall
	.section .note.GNU-stack, "", @progbits
