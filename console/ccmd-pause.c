/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-pause.c — `pause`: stop stepping at the next boundary (reads and changes still work). */
#include "ccmd.h"

static int pause_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_pause_entry);
	json_t *r;
	if (ccmd_request(c, "pause", NULL, &r) < 0)
		return -1;
	const char *st = json_string_value(json_object_get(r, "state"));
	if (st)
		snprintf(c->state, sizeof c->state, "%s", st);
	if (!c->json) {
		printf("%s at step %lld\n", st ? st : "?", json_integer_value(json_object_get(r, "step")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_pause_entry = {
	.name = "pause",
	.usage = "",
	.summary = "stop stepping at the next boundary (reads and changes still work)",
	.exec = pause_exec,
};
