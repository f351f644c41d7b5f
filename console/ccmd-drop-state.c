/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-drop-state.c — `drop-state NAME`: forget a state kept by snapshot-state. */
#include "ccmd.h"

static int drop_state_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	json_t *r;
	if (ccmd_named_request(c, &ccmd_drop_state_entry, true, argc, argv, &r) < 0)
		return -1;
	if (!c->json) {
		printf("dropped state %s (of step %lld), %lld kept\n", argv[1],
		       json_integer_value(json_object_get(r, "step")),
		       json_integer_value(json_object_get(r, "kept")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_drop_state_entry = {
	.name = "drop-state",
	.usage = "NAME",
	.summary = "forget the state kept by snapshot-state NAME (at most 8 are kept)",
	.exec = drop_state_exec,
	.daemon = "drop-state",
};
