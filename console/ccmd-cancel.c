/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-cancel.c — `cancel [ID|KNOB|search|steps]`: stop one ramp, a knob's ramp, all, the
 * search, or the steps `step` queued. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"

static int cancel_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc > 2)
		return ccmd_usage(c, &ccmd_cancel_entry);
	json_t *body = json_object();
	if (argc == 2) {
		char *e;
		long long id = strtoll(argv[1], &e, 10);
		if (isdigit((unsigned char)argv[1][0]) && !*e)
			json_object_set_new(body, "id", json_integer(id));
		else if (strcmp(argv[1], "search") == 0 || strcmp(argv[1], "steps") == 0)
			json_object_set_new(body, argv[1], json_true());
		else
			json_object_set_new(body, "knob", json_string(argv[1]));
	}
	json_t *r;
	if (ccmd_request(c, "cancel", body, &r) < 0)
		return -1;
	if (!c->json) {
		json_t *ids = json_object_get(r, "cancelled");
		if (json_is_string(ids) && !strcmp(json_string_value(ids), "steps")) {
			printf("cancelled %lld queued steps; paused at step %lld\n",
			       json_integer_value(json_object_get(r, "steps")),
			       json_integer_value(json_object_get(r, "step")));
		} else if (json_is_string(ids)) {
			printf("cancelled the %s\n", json_string_value(ids));
		} else if (json_array_size(ids) == 0) {
			printf("no ramps to cancel (queued steps: `cancel steps`; a search: `cancel search`)\n");
		} else {
			printf("cancelled ramp%s", json_array_size(ids) > 1 ? "s" : "");
			size_t i;
			json_t *id;
			json_array_foreach(ids, i, id)
				printf("%s %lld", i ? "," : "", json_integer_value(id));
			printf(" at step %lld\n", json_integer_value(json_object_get(r, "step")));
		}
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_cancel_entry = {
	.name = "cancel",
	.daemon = "cancel",
	.usage = "[RAMP_ID | KNOB | search | steps]",
	.summary = "cancel a ramp (by id or knob), all ramps, the search under way, or the steps "
	           "`step` queued",
	.exec = cancel_exec,
	.complete = CC_KNOBS,
};
