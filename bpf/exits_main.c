// SPDX-License-Identifier: GPL-2.0
/*
 * `ftctl exits` as a program of its own, for tests on a tree whose ftctl is
 * not built: the same ctl/cmd_exits.c behind a main.
 */
int exits_main(int argc, char **argv);

int main(int argc, char **argv)
{
	return exits_main(argc, argv);
}
