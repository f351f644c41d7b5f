/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-params.c — `params`: every knob with value, unit, and whether it may change. */
#include <string.h>

#include "ccmd.h"
#include "table.h"

/* "0 .. 1e+09" or "beam|scl", from hello's schema. */
static void knob_range(const json_t *k, char *buf, size_t len)
{
	buf[0] = '\0';
	const json_t *choices = json_object_get(k, "choices");
	if (json_is_array(choices)) {
		size_t i, off = 0;
		json_t *ch;
		json_array_foreach(choices, i, ch)
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "|" : "",
				                        json_string_value(ch));
		return;
	}
	if (json_object_get(k, "min") && json_object_get(k, "max")) {
		char a[64], b[64];
		fmt_value(json_object_get(k, "min"), a, sizeof a);
		fmt_value(json_object_get(k, "max"), b, sizeof b);
		snprintf(buf, len, "%s .. %s", a, b);
	}
}

static int params_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_params_entry);
	json_t *r;
	if (ccmd_request(c, "params", NULL, &r) < 0)
		return -1;
	if (!c->json) {
		table *t = table_new("lrlll");
		table_row(t, "KNOB", "VALUE", "UNIT", "CHANGE", "RANGE");
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(r, "knobs"), i, k) {
			char val[128], range[256];
			fmt_value(json_object_get(k, "value"), val, sizeof val);
			knob_range(schema_knob(c, schema_str(k, "name")), range, sizeof range);
			table_row(t, schema_str(k, "name"), val, schema_str(k, "unit"),
			          json_is_true(json_object_get(k, "runtime")) ? "runtime" : "fixed", range);
		}
		table_print(t, stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_params_entry = {
	.name = "params",
	.daemon = "params",
	.usage = "",
	.summary = "every knob with its value, unit, range and whether it may change while running",
	.exec = params_exec,
};
