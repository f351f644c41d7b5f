/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-help.c — `help [CMD]`: the console's commands and the daemon's (from hello). */
#include "ccmd.h"
#include "table.h"

/* A console command that stands for a daemon command says what the daemon's
 * table says (hello), so the two cannot drift; its own summary is the fallback. */
static const char *summary_of(console *c, const ccmd_entry *e)
{
	const json_t *d = e->daemon ? schema_command(c, e->daemon) : NULL;
	return d && *schema_str(d, "summary") ? schema_str(d, "summary") : e->summary;
}

static int help_one(console *c, const char *name)
{
	const ccmd_entry *e = ccmd_find(name);
	/* The daemon's usage and summary come from its command table (hello). */
	const json_t *d = schema_command(c, e ? (e->daemon ? e->daemon : "") : name);
	if (!e && !d)
		return con_error(c, "help: no command \"%s\"%s", name,
		                 c->hello ? "" : " known offline (the daemon's own are listed once connected)");
	if (e)
		printf("usage: %s %s\n  %s\n", e->name, e->usage, summary_of(c, e));
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
		table_row(t, (*e)->name, summary_of(c, *e));
	table_print(t, stdout);
	/* Daemon commands this console has no entry for: sent as CMD {json body}. */
	size_t i, n = 0;
	json_t *d;
	t = table_new("ll");
	json_array_foreach(json_object_get(c->hello, "commands"), i, d) {
		const ccmd_entry *mine = ccmd_find(schema_str(d, "name"));
		if (mine && mine->daemon)
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
	if (!c->hello)
		printf("\nnot connected to steerd: this is the console's own list (each command's "
		       "syntax and summary);\nthe daemon's live command list and request bodies "
		       "come with a connection (CMD {json body} sends any).\n");
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
