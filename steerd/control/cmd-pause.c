/* SPDX-License-Identifier: MIT */
/* cmd-pause.c — `pause` and `resume`: stop and restart stepping at a boundary. */
#include "cmd.h"
#include "run.h"

static void state_reply(run *r, change *ch)
{
	ch->result = json_pack("{s:I, s:s}", "step", (json_int_t)run_step(r), "state",
	                       run_state_name(run_state_now(r)));
}

static int pause_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_plain_change(ctx, body, &cmd_pause_entry);
}

static void pause_apply(run *r, change *ch)
{
	run_set_state(r, RUN_PAUSED, ch->req.client);
	state_reply(r, ch);
}

static int resume_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_plain_change(ctx, body, &cmd_resume_entry);
}

static void resume_apply(run *r, change *ch)
{
	run_set_state(r, RUN_RUNNING, ch->req.client);
	state_reply(r, ch);
}

const cmd_entry cmd_pause_entry = {
	.name = "pause",
	.usage = "{}",
	.summary = "stop stepping at the next boundary (reads and changes still work)",
	.changes = true,
	.exec = pause_exec,
	.apply = pause_apply,
};

const cmd_entry cmd_resume_entry = {
	.name = "resume",
	.usage = "{}",
	.summary = "start stepping again",
	.changes = true,
	.exec = resume_exec,
	.apply = resume_apply,
};
