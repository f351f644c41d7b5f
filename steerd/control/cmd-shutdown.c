/* SPDX-License-Identifier: MIT */
/* cmd-shutdown.c — `shutdown`: finish the current step, then stop the daemon (exit 0). */
#include "cmd.h"
#include "run.h"

#include <stdio.h>

static int shutdown_exec(cmd_ctx *ctx, const json_t *body)
{
	return cmd_plain_change(ctx, body, &cmd_shutdown_entry);
}

static void shutdown_apply(run *r, change *ch)
{
	char reason[96];
	snprintf(reason, sizeof reason, "shutdown by %s", ch->req.client);
	run_stop(r, reason);
	ch->result = json_pack("{s:I}", "step", (json_int_t)run_step(r));
}

const cmd_entry cmd_shutdown_entry = {
	.name = "shutdown",
	.usage = "{}",
	.summary = "finish the current step and stop the daemon",
	.changes = true,
	.exec = shutdown_exec,
	.apply = shutdown_apply,
};
