/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-quit.c — `quit` (or `exit`, or Ctrl-D): leave the console; the run goes on. */
#include "ccmd.h"

static int quit_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argc, (void)argv, (void)rest;
	c->quit = true;
	return 0;
}

const ccmd_entry ccmd_quit_entry = {
	.name = "quit",
	.usage = "",
	.summary = "leave the console (also exit, Ctrl-D); the run goes on",
	.exec = quit_exec,
};
