/* Linked by meson at configure time to find musl's start files (cli/meson.build). */
int main(void)
{
	return 0;
}
