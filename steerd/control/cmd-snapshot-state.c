/* SPDX-License-Identifier: MIT */
/*
 * cmd-snapshot-state.c — `snapshot-state` and `rewind`: keep the complete
 * state in memory under a name, and go back to it later (try a change, then
 * undo it). Same save/restore path as checkpoints, without the disk.
 */
#include "cmd.h"
#include "run.h"

/* A change whose only argument is a checked "name" (also drop-state). */
int cmd_named_change(cmd_ctx *ctx, const json_t *body, const cmd_entry *self)
{
	change *ch = change_new(self);
	if (!ch)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	if (cmd_get_name(ctx, body, "name", true, ch->name, sizeof ch->name) < 0) {
		change_destroy(&ch);
		return -1;
	}
	ctx->change = ch;
	return 0;
}

static int snapshot_state_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_named_change(ctx, body, &cmd_snapshot_state_entry);
}

static void snapshot_state_apply(run *r, change *ch)
{
	if (run_busy(r, ch))
		return;
	int rc = run_save_state(r, ch->name, ch->req.client, &ch->result, ch->err_msg,
	                        sizeof ch->err_msg);
	if (rc < 0)
		ch->err_code = rc == -3 ? E_LIMIT_REACHED : E_REFUSED;
}

static int rewind_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_named_change(ctx, body, &cmd_rewind_entry);
}

static void rewind_apply(run *r, change *ch)
{
	if (run_busy(r, ch))
		return;
	int rc = run_rewind(r, ch->name, ch->req.client, &ch->result, ch->err_msg, sizeof ch->err_msg);
	if (rc < 0)
		ch->err_code = rc == -2 ? E_UNKNOWN_NAME : E_REFUSED;
}

const char *const cmd_name_arg[] = { "name", NULL };

const cmd_entry cmd_snapshot_state_entry = {
	.name = "snapshot-state",
	.usage = "{\"name\": NAME}",
	.summary = "keep the complete run state in memory under NAME (replaces an older one; at most 8 names)",
	.args = cmd_name_arg,
	.changes = true,
	.needs_state = true,
	.exec = snapshot_state_exec,
	.apply = snapshot_state_apply,
};

const cmd_entry cmd_rewind_entry = {
	.name = "rewind",
	.usage = "{\"name\": NAME}",
	.summary = "go back to the state kept by snapshot-state NAME (step, knobs, ramps, particles)",
	.args = cmd_name_arg,
	.changes = true,
	.needs_state = true,
	.exec = rewind_exec,
	.apply = rewind_apply,
};
