/* SPDX-License-Identifier: MIT */
/*
 * cmd-snapshot.c — `snapshot`: everything a late joiner needs, consistent with
 * one sequence number: subscribe first, then snapshot, then apply only
 * stream messages with a larger seq.
 */
#include "cmd.h"
#include "own_scalars.h"
#include "value_json.h"

#include <math.h>

static int snapshot_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;
	const sa_adapter *sa = ctx->sa;
	json_t *knobs = json_object(), *scalars = json_object(), *ramps = json_array();
	for (size_t k = 0; k < sa->n_knobs; k++)
		json_object_set_new(knobs, sa->knobs[k].name, value_to_json(&sa->knobs[k], st->knobs[k]));
	size_t slot = 0;
	for (size_t d = 0; d < sa->n_diags; d++) {
		if (sa->diags[d].rank != 0)
			continue;
		double v = st->scalars[slot++];
		json_object_set_new(scalars, sa->diags[d].name, isfinite(v) ? json_real(v) : json_null());
	}
	for (size_t i = 0; i < OWN_N_SCALARS; i++, slot++)
		json_object_set_new(scalars, own_scalars[i].name,
		                    isfinite(st->scalars[slot]) ? json_real(st->scalars[slot]) : json_null());
	for (size_t i = 0; i < st->n_ramps; i++)
		json_array_append_new(ramps, ramp_to_json(&st->ramps[i], &sa->knobs[st->ramps[i].knob], st->step));
	ctx->result = json_pack("{s:I, s:s, s:I, s:f, s:I, s:o, s:o, s:o}", "seq", (json_int_t)st->seq,
	                        "state", run_state_name(st->state), "step", (json_int_t)st->step, "time",
	                        st->time, "steps_left", (json_int_t)st->steps_left, "knobs", knobs,
	                        "ramps", ramps, "scalars", scalars);
	return 0;
}

const cmd_entry cmd_snapshot_entry = {
	.name = "snapshot",
	.usage = "{}",
	.summary = "knobs, active ramps, last scalars and the last stream sequence number, for late joiners",
	.exec = snapshot_exec,
};
