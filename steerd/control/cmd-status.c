/* SPDX-License-Identifier: MIT */
/* cmd-status.c — `status`: state, step, time, rate, active ramps, last sequence number. */
#include "cmd.h"

static int status_exec(cmd_ctx *ctx, const json_t *body)
{
	(void)body;
	const mirror_state *st = ctx->state;
	ctx->result = json_pack("{s:s, s:s, s:b, s:I, s:f, s:f, s:I, s:I, s:I}", "adapter",
	                        ctx->sa->name, "state", run_state_name(st->state), "stepping",
	                        st->stepping, "step", (json_int_t)st->step, "time", st->time,
	                        "steps_per_second", st->steps_per_second, "steps_left",
	                        (json_int_t)st->steps_left, "ramps", (json_int_t)st->n_ramps, "seq",
	                        (json_int_t)st->seq);
	return 0;
}

const cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "{}",
	.summary = "state (running/paused/stopping), whether it steps and steps left, step, "
	           "simulated time, steps per second",
	.exec = status_exec,
};
