/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-rewind.c — `rewind NAME`: go back to the state kept by `snapshot-state NAME`. */
#include "ccmd.h"

static int rewind_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	json_t *r;
	if (ccmd_named_request(c, &ccmd_rewind_entry, true, argc, argv, &r) < 0)
		return -1;
	if (!c->json) {
		printf("rewound to %s: step %lld -> %lld\n", schema_str(r, "name"),
		       json_integer_value(json_object_get(r, "from_step")),
		       json_integer_value(json_object_get(r, "step")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_rewind_entry = {
	.name = "rewind",
	.daemon = "rewind",
	.usage = "NAME   (kept by snapshot-state NAME)",
	.summary = "go back to the state kept by snapshot-state NAME (step, knobs, ramps, particles)",
	.exec = rewind_exec,
};
