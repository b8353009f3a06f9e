/* The floor for any launcher that execs its command: a program that does
 * nothing but exec its arguments. bench_exec CMD... */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
