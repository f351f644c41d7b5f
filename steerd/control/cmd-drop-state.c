/* SPDX-License-Identifier: MIT */
/*
 * cmd-drop-state.c — `drop-state`: forget a state kept by `snapshot-state`,
 * freeing its memory and its place among the RUN_MAX_STATES names.
 */
#include "cmd.h"
#include "run.h"

static int drop_state_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_named_change(ctx, body, &cmd_drop_state_entry);
}

/* No run_busy check: dropping a kept state neither steps nor changes the simulation. */
static void drop_state_apply(run *r, change *ch)
{
	if (run_drop_state(r, ch->name, ch->req.client, &ch->result, ch->err_msg,
	                   sizeof ch->err_msg) < 0)
		ch->err_code = E_UNKNOWN_NAME;
}

const cmd_entry cmd_drop_state_entry = {
	.name = "drop-state",
	.usage = "{\"name\": NAME}",
	.summary = "forget the state kept by snapshot-state NAME",
	.args = cmd_name_arg,
	.changes = true,
	.exec = drop_state_exec,
	.apply = drop_state_apply,
};
