/* SPDX-License-Identifier: MIT */
/* cmd-ramp.c — `ramp`: move knobs linearly to targets over N steps or at a rate. */
#include "cmd.h"
#include "run.h"
#include "value_json.h"

#include <math.h>
#include <stdlib.h>

static int parse_ramp(cmd_ctx *ctx, const json_t *spec, knob_change *it)
{
	static const char *const allowed[] = { "knob", "to", "steps", "rate", "duration", NULL };
	if (!json_is_object(spec))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "each ramp must be an object {knob, to, steps|rate}");
	if (cmd_check_keys(ctx, spec, allowed) < 0)
		return -1;
	const char *name = json_string_value(json_object_get(spec, "knob"));
	if (!name)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "ramp needs 'knob' (a string)");
	if (cmd_runtime_knob(ctx, name, &it->knob) < 0)
		return -1;
	const sa_knob *kn = &ctx->sa->knobs[it->knob];
	if (kn->type != SA_DOUBLE && kn->type != SA_INT)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "%s is not numeric and cannot ramp", name);
	const json_t *to = json_object_get(spec, "to");
	if (!to)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "ramp of %s needs 'to'", name);
	int rc = value_from_json(kn, to, &it->value, ctx->err_msg, sizeof ctx->err_msg);
	if (rc < 0) {
		ctx->err_code = rc == -2 ? E_OUT_OF_RANGE : E_BAD_ARGUMENT;
		return -1;
	}
	const json_t *steps = json_object_get(spec, "steps"), *rate = json_object_get(spec, "rate");
	const json_t *duration = json_object_get(spec, "duration");
	if (!!steps + !!rate + !!duration != 1)
		return cmd_fail(ctx, E_BAD_ARGUMENT,
		                "ramp of %s needs exactly one of 'steps', 'rate' and 'duration'", name);
	if (steps)
		return cmd_get_count(ctx, spec, "steps", 1, RAMP_MAX_STEPS, &it->steps);
	if (duration) { /* in steps when it starts, at the run's time per step */
		it->duration = json_number_value(duration);
		if (!json_is_number(duration) || !(it->duration > 0) || !isfinite(it->duration))
			return cmd_fail(ctx, E_BAD_ARGUMENT,
			                "'duration' must be a positive number (seconds of simulated time)");
		return 0;
	}
	it->rate = json_number_value(rate);
	if (!json_is_number(rate) || !(it->rate > 0) || !isfinite(it->rate))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'rate' must be a positive number (%s per step)", kn->unit);
	return 0;
}

static int ramp_exec(cmd_ctx *ctx, const json_t *body)
{
	const json_t *ramps = json_object_get(body, "ramps");
	if (!json_is_array(ramps) || json_array_size(ramps) == 0)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'ramps' must be a non-empty array");
	if (json_array_size(ramps) > ctx->sa->n_knobs)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "more ramps than knobs");
	change *ch = change_new(&cmd_ramp_entry);
	ch->items = calloc(json_array_size(ramps), sizeof *ch->items);
	if (!ch->items) {
		change_destroy(&ch);
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	}
	size_t i;
	json_t *spec;
	json_array_foreach(ramps, i, spec) {
		knob_change *it = &ch->items[ch->n_items++];
		if (parse_ramp(ctx, spec, it) < 0) {
			change_destroy(&ch);
			return -1;
		}
		for (size_t j = 0; j + 1 < ch->n_items; j++)
			if (ch->items[j].knob == it->knob) {
				change_destroy(&ch);
				return cmd_fail(ctx, E_BAD_ARGUMENT, "two ramps of the same knob");
			}
	}
	ctx->change = ch;
	return 0;
}

static void ramp_apply(run *r, change *ch) { run_start_ramps(r, ch); }

static const char *const cmd_ramp_args[] = { "ramps", NULL };

const cmd_entry cmd_ramp_entry = {
	.args = cmd_ramp_args,
	.name = "ramp",
	.usage = "{\"ramps\": [{\"knob\": KNOB, \"to\": VALUE, \"steps\": N | \"rate\": PER_STEP | "
	         "\"duration\": SECONDS}, ...]}",
	.summary = "ramp knobs linearly to targets; a new ramp of a knob replaces its old one",
	.changes = true,
	.exec = ramp_exec,
	.apply = ramp_apply,
};
