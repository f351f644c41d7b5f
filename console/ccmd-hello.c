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
	char note[160];
	bool changed = con_identity_note(c->hello, r, note, sizeof note);
	con_set_hello(c, json_incref(r));
	if (!c->json) {
		if (changed)
			printf("another steerd than at the last hello%s\n", note);
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
		const json_t *restart = json_object_get(r, "restart_step");
		if (json_object_get(r, "run_id")) {
			printf("run %s, ", schema_str(r, "run_id"));
			if (json_is_integer(restart))
				printf("restarted from its checkpoint at step %lld", json_integer_value(restart));
			else
				printf("started fresh");
			printf("; process %s\n", schema_str(r, "start_id"));
		}
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_hello_entry = {
	.name = "hello",
	.daemon = "hello",
	.usage = "",
	.summary = "protocol version, adapter, knob and diagnostic schema, command list",
	.exec = hello_exec,
};
