/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-snapshot-state.c — `snapshot-state NAME`: keep the run's whole state in memory. */
#include "ccmd.h"

static int snapshot_state_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	json_t *r;
	if (ccmd_named_request(c, &ccmd_snapshot_state_entry, true, argc, argv, &r) < 0)
		return -1;
	if (!c->json) {
		printf("state kept as %s at step %lld (%lld bytes); `rewind %s` goes back to it\n",
		       schema_str(r, "name"), json_integer_value(json_object_get(r, "step")),
		       json_integer_value(json_object_get(r, "bytes")), schema_str(r, "name"));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_snapshot_state_entry = {
	.name = "snapshot-state",
	.daemon = "snapshot-state",
	.usage = "NAME",
	.summary = "keep the complete run state in memory under NAME (replaces an older one)",
	.exec = snapshot_state_exec,
};
