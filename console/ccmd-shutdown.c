/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-shutdown.c — `shutdown`: finish the current step and stop the daemon. */
#include "ccmd.h"
#include "script.h"

static int shutdown_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_shutdown_entry);
	/* At the prompt a stray `shutdown` would end a long run: ask. Scripts do not. */
	if (c->interactive) {
		char question[256];
		snprintf(question, sizeof question, "stop steerd at step %llu and end the run?",
		         c->step);
		if (!interactive_confirm(c, question)) {
			printf("not stopped\n");
			fflush(stdout);
			return 0;
		}
	}
	json_t *r;
	if (ccmd_request(c, "shutdown", NULL, &r) < 0)
		return -1;
	if (!c->json) {
		printf("steerd stops after step %lld\n", json_integer_value(json_object_get(r, "step")));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_shutdown_entry = {
	.name = "shutdown",
	.daemon = "shutdown",
	.usage = "",
	.summary = "finish the current step and stop the daemon",
	.exec = shutdown_exec,
};
