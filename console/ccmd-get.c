/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-get.c — `get NAME...`: current values of knobs and scalar diagnostics. */
#include "ccmd.h"
#include "table.h"

static int get_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 2)
		return ccmd_usage(c, &ccmd_get_entry);
	json_t *names = json_array();
	for (int i = 1; i < argc; i++)
		json_array_append_new(names, json_string(argv[i]));
	json_t *r;
	if (ccmd_request(c, "get", json_pack("{s:o}", "names", names), &r) < 0)
		return -1;
	if (!c->json) {
		table *t = table_new("lrl");
		json_t *values = json_object_get(r, "values");
		for (int i = 1; i < argc; i++) {
			char val[128];
			json_t *v = json_object_get(values, argv[i]);
			fmt_value(v, val, sizeof val);
			table_row(t, argv[i], val, json_is_number(v) ? schema_unit(c, argv[i]) : "");
		}
		table_print(t, stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_get_entry = {
	.name = "get",
	.daemon = "get",
	.usage = "NAME...",
	.summary = "current values of knobs and scalar diagnostics",
	.exec = get_exec,
	.complete = CC_NAMES,
};
