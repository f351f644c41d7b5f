/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-hello.c — `hello`: protocol version, adapter, knob and diagnostic schema, commands. */
#include "cmd.h"
#include "value_json.h"
#include "version.h"

static int hello_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;

	const sa_adapter *sa = ctx->sa;
	json_t *knobs = json_array(), *diags = json_array(), *cmds = json_array();
	for (size_t k = 0; k < sa->n_knobs; k++) {
		json_t *o = knob_schema_json(&sa->knobs[k]);
		json_object_set_new(o, "value", value_to_json(&sa->knobs[k], st->knobs[k]));
		json_array_append_new(knobs, o);
	}
	for (size_t d = 0; d < sa->n_diags; d++)
		json_array_append_new(diags, diag_schema_json(&sa->diags[d]));
	for (const cmd_entry *const *c = cmd_all(); *c; c++)
		json_array_append_new(cmds, json_pack("{s:s, s:s, s:s, s:b}", "name", (*c)->name, "usage",
		                                      (*c)->usage, "summary", (*c)->summary, "changes",
		                                      (*c)->changes));
	ctx->result = json_pack(
	    "{s:i, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:I, s:o, s:o, s:o}", "protocol",
	    WIRE_PROTOCOL, "server", "steerd", "version", STEERD_VERSION, "adapter", "name", sa->name,
	    "version", sa->version, "description", sa->description, "diagnostics_endpoint",
	    ctx->stream_endpoint, "state", run_state_name(st->state), "step", (json_int_t)st->step,
	    "knobs", knobs, "diagnostics", diags, "commands", cmds);
	return 0;
}

const cmd_entry cmd_hello_entry = {
	.name = "hello",
	.usage = "{}",
	.summary = "protocol version, adapter, knob and diagnostic schema, command list",
	.exec = hello_exec,
};
