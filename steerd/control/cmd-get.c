/* SPDX-License-Identifier: MIT */
/* cmd-get.c — `get`: current values of knobs and scalar diagnostics, by name. */
#include "cmd.h"
#include "value_json.h"

#include <math.h>
#include <string.h>

static int get_exec(cmd_ctx *ctx, const json_t *body)
{
	const json_t *names = json_object_get(body, "names");
	if (!json_is_array(names) || json_array_size(names) == 0)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'names' must be a non-empty array of knob or diagnostic names");
	if (json_array_size(names) > ctx->sa->n_knobs + ctx->sa->n_diags)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'names' lists more names than there are");
	const mirror_state *st = ctx->state;
	json_t *values = json_object();
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);
		int k = name ? adapter_knob_index(ctx->sa, name) : -1;
		int s = name ? mirror_scalar_slot(ctx->sa, name) : -1;
		if (k >= 0) {
			json_object_set_new(values, name, value_to_json(&ctx->sa->knobs[k], st->knobs[k]));
		} else if (s >= 0) {
			double v = st->scalars[s];
			json_object_set_new(values, name, isfinite(v) ? json_real(v) : json_null());
		} else {
			json_decref(values);
					if (!name)
				return cmd_fail(ctx, E_BAD_ARGUMENT, "'names' must hold strings");
			if (adapter_diag_index(ctx->sa, name) >= 0)
				return cmd_fail(ctx, E_BAD_ARGUMENT,
				                "%.64s is an array diagnostic: get reads knobs and scalars; "
				                "subscribe to array.%.64s on the stream", name, name);
			char hint[96];
			return cmd_fail(ctx, E_UNKNOWN_NAME, "no knob or scalar diagnostic '%.64s'%s", name,
			                cmd_did_you_mean(ctx->sa, name, true, hint, sizeof hint));
		}
	}
	ctx->result = json_pack("{s:I, s:f, s:o}", "step", (json_int_t)st->step, "time", st->time,
	                        "values", values);
	return 0;
}

static const char *const cmd_get_args[] = { "names", NULL };

const cmd_entry cmd_get_entry = {
	.args = cmd_get_args,
	.name = "get",
	.usage = "{\"names\": [NAME, ...]}",
	.summary = "current values of knobs and scalar diagnostics",
	.exec = get_exec,
};
