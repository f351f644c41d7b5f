/* SPDX-License-Identifier: MIT */
/* cmd-ramps.c — `ramps`: the active ramps with their progress. */
#include "cmd.h"

static int ramps_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;
	json_t *list = json_array();
	for (size_t i = 0; i < st->n_ramps; i++)
		json_array_append_new(list, ramp_to_json(&st->ramps[i], &ctx->sa->knobs[st->ramps[i].knob],
		                                         st->step));
	ctx->result = json_pack("{s:I, s:o}", "step", (json_int_t)st->step, "ramps", list);
	return 0;
}

const cmd_entry cmd_ramps_entry = {
	.name = "ramps",
	.usage = "{}",
	.summary = "list the active ramps with their progress",
	.exec = ramps_exec,
};
