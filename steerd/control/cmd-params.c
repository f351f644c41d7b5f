/* SPDX-License-Identifier: MIT */
/* cmd-params.c — `params`: every knob with its value, unit and whether it may change. */
#include "cmd.h"
#include "value_json.h"

static int params_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;
	json_t *knobs = json_array();
	for (size_t k = 0; k < ctx->sa->n_knobs; k++) {
		const sa_knob *kn = &ctx->sa->knobs[k];
		json_array_append_new(knobs, json_pack("{s:s, s:o, s:s, s:b}", "name", kn->name, "value",
		                                       value_to_json(kn, st->knobs[k]), "unit", kn->unit,
		                                       "runtime", kn->runtime != 0));
	}
	ctx->result = json_pack("{s:I, s:o}", "step", (json_int_t)st->step, "knobs", knobs);
	return 0;
}

const cmd_entry cmd_params_entry = {
	.name = "params",
	.usage = "{}",
	.summary = "every knob with its value, unit and whether it may change while running",
	.exec = params_exec,
};
