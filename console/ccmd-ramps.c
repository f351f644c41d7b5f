/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-ramps.c — `ramps`: the active ramps and their progress. */
#include "ccmd.h"
#include "table.h"

void ccmd_ramps_table(console *c, const json_t *ramps)
{
	if (json_array_size(ramps) == 0) {
		printf("no active ramps\n");
		return;
	}
	table *t = table_new("rlrrlrrrl");
	table_row(t, "ID", "KNOB", "FROM", "TO", "UNIT", "START", "END", "DONE", "CLIENT");
	size_t i;
	json_t *rp;
	json_array_foreach(ramps, i, rp) {
		char id[32], from[64], to[64], s0[32], s1[32], pr[32];
		const char *knob = schema_str(rp, "knob");
		fmt_value(json_object_get(rp, "id"), id, sizeof id);
		fmt_value(json_object_get(rp, "from"), from, sizeof from);
		fmt_value(json_object_get(rp, "to"), to, sizeof to);
		fmt_value(json_object_get(rp, "start_step"), s0, sizeof s0);
		fmt_value(json_object_get(rp, "end_step"), s1, sizeof s1);
		snprintf(pr, sizeof pr, "%.0f%%", 100 * json_number_value(json_object_get(rp, "progress")));
		table_row(t, id, knob, from, to, schema_unit(c, knob), s0, s1, pr,
		          schema_str(rp, "client"));
	}
	table_print(t, stdout);
}

static int ramps_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_ramps_entry);
	json_t *r;
	if (ccmd_request(c, "ramps", NULL, &r) < 0)
		return -1;
	if (!c->json)
		ccmd_ramps_table(c, json_object_get(r, "ramps"));
	fflush(stdout);
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_ramps_entry = {
	.name = "ramps",
	.daemon = "ramps",
	.usage = "",
	.summary = "list the active ramps with their progress",
	.exec = ramps_exec,
};
