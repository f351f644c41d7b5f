/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-help.c — `help [CMD]`: the console's commands and the daemon's (from hello). */
#include "ccmd.h"
#include "table.h"

static int help_one(console *c, const char *name)
{
	const ccmd_entry *e = ccmd_find(name);
	const json_t *d = schema_command(c, name);
	if (!e && !d)
		return con_error(c, "help: no command \"%s\"", name);
	if (e)
		printf("usage: %s %s\n  %s\n", e->name, e->usage, e->summary);
	if (d && !e)
		printf("usage: %s %s\n  %s\n", name, schema_str(d, "usage"), schema_str(d, "summary"));
	else if (d)
		printf("  (daemon request body: %s)\n", schema_str(d, "usage"));
	fflush(stdout);
	return 0;
}

static int help_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc > 2)
		return ccmd_usage(c, &ccmd_help_entry);
	if (argc == 2)
		return help_one(c, argv[1]);
	table *t = table_new("ll");
	for (const ccmd_entry *const *e = ccmd_all(); *e; e++)
		table_row(t, (*e)->name, (*e)->summary);
	table_print(t, stdout);
	/* Daemon commands this console has no entry for: sent as CMD {json body}. */
	size_t i, n = 0;
	json_t *d;
	t = table_new("ll");
	json_array_foreach(json_object_get(c->hello, "commands"), i, d) {
		if (ccmd_find(schema_str(d, "name")))
			continue;
		char name[128];
		snprintf(name, sizeof name, "%s {...}", schema_str(d, "name"));
		table_row(t, name, schema_str(d, "summary"));
		n++;
	}
	if (n) {
		printf("\ndaemon commands, sent as CMD {json body}:\n");
		table_print(t, stdout);
	} else {
		table_print(t, stdout);
	}
	printf("\n`help CMD` shows the usage of one command.\n");
	fflush(stdout);
	return 0;
}

const ccmd_entry ccmd_help_entry = {
	.name = "help",
	.usage = "[CMD]",
	.summary = "list the commands, or show how to use one",
	.exec = help_exec,
	.complete = CC_COMMANDS,
};
