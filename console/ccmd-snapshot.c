/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-snapshot.c — `snapshot`: knobs, ramps and last scalars at one sequence number. */
#include "ccmd.h"
#include "table.h"

static void values_table(console *c, const char *title, const json_t *obj)
{
	printf("%s:\n", title);
	table *t = table_new("llrl");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		char val[128];
		fmt_value(v, val, sizeof val);
		table_row(t, " ", key, val, json_is_number(v) ? schema_unit(c, key) : "");
	}
	table_print(t, stdout);
}

static int snapshot_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_snapshot_entry);
	json_t *r;
	if (ccmd_request(c, "snapshot", NULL, &r) < 0)
		return -1;
	if (!c->json) {
		char tm[64];
		fmt_value(json_object_get(r, "time"), tm, sizeof tm);
		printf("seq %lld, %s at step %lld (t = %s s), %lld steps left\n",
		       json_integer_value(json_object_get(r, "seq")), schema_str(r, "state"),
		       json_integer_value(json_object_get(r, "step")), tm,
		       json_integer_value(json_object_get(r, "steps_left")));
		values_table(c, "knobs", json_object_get(r, "knobs"));
		values_table(c, "scalars", json_object_get(r, "scalars"));
		ccmd_ramps_table(c, json_object_get(r, "ramps"));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_snapshot_entry = {
	.name = "snapshot",
	.daemon = "snapshot",
	.usage = "",
	.summary = "knobs, active ramps and last scalars, consistent with one sequence number",
	.exec = snapshot_exec,
};
