/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-hello.c — `hello`: who the daemon is; refreshes the console's schema too. */
#include "ccmd.h"

static int hello_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_hello_entry);
	json_t *r;
	if (ccmd_request(c, "hello", NULL, &r) < 0)
		return -1;
	con_set_hello(c, json_incref(r));
	if (!c->json) {
		const json_t *ad = json_object_get(r, "adapter");
		printf("%s %s, protocol %lld\n", schema_str(r, "server"), schema_str(r, "version"),
		       json_integer_value(json_object_get(r, "protocol")));
		printf("adapter %s %s: %s\n", schema_str(ad, "name"), schema_str(ad, "version"),
		       schema_str(ad, "description"));
		printf("%s at step %lld; %zu knobs, %zu diagnostics, %zu commands\n",
		       schema_str(r, "state"), json_integer_value(json_object_get(r, "step")),
		       json_array_size(json_object_get(r, "knobs")),
		       json_array_size(json_object_get(r, "diagnostics")),
		       json_array_size(json_object_get(r, "commands")));
		printf("control %s, diagnostics %s\n", c->control,
		       schema_str(r, "diagnostics_endpoint"));
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_hello_entry = {
	.name = "hello",
	.usage = "",
	.summary = "protocol version, adapter, knob and diagnostic schema, command list",
	.exec = hello_exec,
};
