/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-status.c — `status`: state, step, time and speed of the run. */
#include <string.h>

#include "ccmd.h"
#include "table.h"

static int status_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_status_entry);
	json_t *r;
	if (ccmd_request(c, "status", NULL, &r) < 0)
		return -1;
	const char *st = json_string_value(json_object_get(r, "state"));
	if (st)
		snprintf(c->state, sizeof c->state, "%s", st);
	if (json_is_integer(json_object_get(r, "step")))
		c->step = (unsigned long long)json_integer_value(json_object_get(r, "step"));
	if (!c->json) {
		table *t = table_new("ll");
		const char *key;
		json_t *v;
		/* Every key, so fields a newer daemon adds show up too. */
		json_object_foreach(r, key, v) {
			char buf[160];
			const char *unit = !strcmp(key, "time") ? "s"
			                   : !strcmp(key, "steps_per_second") ? "steps/s" : "";
			fmt_value_unit(v, unit, buf, sizeof buf);
			table_row(t, key, buf);
		}
		table_print(t, stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_status_entry = {
	.name = "status",
	.daemon = "status",
	.usage = "",
	.summary = "state (running/paused), step, simulated time, steps per second",
	.exec = status_exec,
};
