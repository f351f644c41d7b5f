/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-shutdown.c — `shutdown`: finish the current step and stop the daemon. */
#include "ccmd.h"

static int shutdown_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_shutdown_entry);
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
