/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-ramps.c — `ramps`: the active ramps with their progress. */
#include "cmd.h"

static int ramps_exec(cmd_ctx *ctx, const json_t *body)
{
	static const char *const allowed[] = { NULL };
	if (cmd_check_keys(ctx, body, allowed) < 0)
		return -1;
	mirror_state st;
	if (mirror_state_init(ctx->mirror, &st) < 0)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	mirror_get(ctx->mirror, &st);
	json_t *list = json_array();
	for (size_t i = 0; i < st.n_ramps; i++)
		json_array_append_new(list, ramp_to_json(&st.ramps[i], &ctx->sa->knobs[st.ramps[i].knob],
		                                         st.step));
	ctx->result = json_pack("{s:I, s:o}", "step", (json_int_t)st.step, "ramps", list);
	mirror_state_free(&st);
	return 0;
}

const cmd_entry cmd_ramps_entry = {
	.name = "ramps",
	.usage = "{}",
	.summary = "list the active ramps with their progress",
	.exec = ramps_exec,
};
