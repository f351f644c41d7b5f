/* SPDX-License-Identifier: MIT */
/* cmd-step.c — `step`: while paused, run N more steps, then stay paused. */
#include "cmd.h"
#include "run.h"

#define STEP_MAX ((uint64_t)1 << 50)

static int step_exec(cmd_ctx *ctx, const json_t *body)
{
	uint64_t n = 1;
	if (json_object_get(body, "n") && cmd_get_count(ctx, body, "n", 1, STEP_MAX, &n) < 0)
		return -1;
	change *ch = change_new(&cmd_step_entry);
	if (!ch)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	ch->count = n;
	ctx->change = ch;
	return 0;
}

static void step_apply(run *r, change *ch)
{
	if (run_busy(r, ch))
		return;
	if (run_state_now(r) != RUN_PAUSED) {
		change_fail(ch, E_BAD_STATE, "step works while paused; the run is %s",
		            run_state_name(run_state_now(r)));
		return;
	}
	if (run_steps_left(r) + ch->count > STEP_MAX) {
		change_fail(ch, E_BAD_ARGUMENT, "too many steps queued");
		return;
	}
	run_request_steps(r, ch->count, ch->req.client);
	ch->result = json_pack("{s:I, s:I}", "step", (json_int_t)run_step(r), "until",
	                       (json_int_t)(run_step(r) + run_steps_left(r)));
}

static const char *const cmd_step_args[] = { "n", NULL };

const cmd_entry cmd_step_entry = {
	.args = cmd_step_args,
	.name = "step",
	.usage = "{\"n\": N}",
	.summary = "while paused, run N steps (default 1) and stay paused",
	.changes = true,
	.exec = step_exec,
	.apply = step_apply,
};
