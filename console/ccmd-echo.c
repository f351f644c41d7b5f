/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-echo.c — `echo TEXT`: print a line (scripts mark their progress with it). */
#include "ccmd.h"

static int echo_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)c, (void)rest;
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? " " : "", argv[i]);
	printf("\n");
	fflush(stdout);
	return 0;
}

const ccmd_entry ccmd_echo_entry = {
	.name = "echo",
	.usage = "TEXT",
	.summary = "print TEXT",
	.exec = echo_exec,
};
