/* SPDX-License-Identifier: GPL-3.0-or-later */
/* script.c — script mode: commands from -e, -f or a pipe; stop at the first error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "script.h"

int script_run_string(console *c, const char *cmds)
{
	c->where[0] = '\0';
	return ccmd_run_line(c, cmds);
}

int script_run_file(console *c, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	for (unsigned lineno = 1; !c->quit && getline(&line, &cap, f) >= 0; lineno++) {
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(c->where, sizeof c->where, "line %u", lineno);
		if (ccmd_run_line(c, line) < 0) {
			rc = -1;
			break;
		}
	}
	c->where[0] = '\0';
	free(line);
	return rc;
}
