/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-set.c — `set KNOB VALUE [KNOB VALUE ...]`: one atomic `set` request. */
#include "ccmd.h"
#include "table.h"

static int set_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 3)
		return ccmd_usage(c, &ccmd_set_entry);
	json_t *values = json_object();
	for (int i = 1; i < argc; i++) {
		const json_t *k = ccmd_knob(c, argv[i]);
		if (!k || i + 1 >= argc) {
			json_decref(values);
			return k ? ccmd_usage(c, &ccmd_set_entry) : -1;
		}
		const char *name = argv[i++];
		json_t *v = ccmd_knob_value(c, k, argc, argv, &i);
		if (!v) {
			json_decref(values);
			return -1;
		}
		json_object_set_new(values, name, v);
	}
	json_t *r;
	if (ccmd_request(c, "set", json_pack("{s:o}", "values", values), &r) < 0)
		return -1;
	if (!c->json) {
		table *t = table_new("llrl");
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(r, "applied"), key, v) {
			char val[128];
			fmt_value(v, val, sizeof val);
			table_row(t, key, "=", val, json_is_number(v) ? schema_unit(c, key) : "");
		}
		table_print(t, stdout);
		printf("applied at step %lld\n", json_integer_value(json_object_get(r, "step")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_set_entry = {
	.name = "set",
	.daemon = "set",
	.usage = "KNOB VALUE [KNOB VALUE ...]   (VALUE: 1.2k, 1.2 kA/m^2, 500m, 2e3, true, a choice)",
	.summary = "change knobs together at the next step boundary",
	.exec = set_exec,
	.complete = CC_KNOBS,
};
