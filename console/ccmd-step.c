/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-step.c — `step [N]`: while paused, run N steps (default 1) and stay paused. */
#include <stdlib.h>

#include "ccmd.h"

static int step_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc > 2)
		return ccmd_usage(c, &ccmd_step_entry);
	json_t *body = json_object();
	if (argc == 2) {
		char *e;
		long long n = strtoll(argv[1], &e, 10);
		if (*e || n < 1) {
			json_decref(body);
			return con_error(c, "step: N must be an integer >= 1, not \"%s\"", argv[1]);
		}
		json_object_set_new(body, "n", json_integer(n));
	}
	json_t *r;
	if (ccmd_request(c, "step", body, &r) < 0)
		return -1;
	if (!c->json) {
		printf("stepping from step %lld until step %lld\n",
		       json_integer_value(json_object_get(r, "step")),
		       json_integer_value(json_object_get(r, "until")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_step_entry = {
	.name = "step",
	.daemon = "step",
	.usage = "[N]",
	.summary = "while paused, run N steps (default 1) and stay paused",
	.exec = step_exec,
};
