/* SPDX-License-Identifier: MIT */
/* cmd-checkpoint.c — `checkpoint`: write an HDF5 checkpoint now, at the next boundary. */
#include "cmd.h"
#include "run.h"

static int checkpoint_exec(cmd_ctx *ctx, const json_t *body)
{
	change *ch = change_new(&cmd_checkpoint_entry);
	if (!ch)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	/* A file name only: clients never choose where on the disk steerd writes. */
	if (cmd_get_name(ctx, body, "name", false, ch->name, sizeof ch->name) < 0) {
		change_destroy(&ch);
		return -1;
	}
	ctx->change = ch;
	return 0;
}

static void checkpoint_apply(run *r, change *ch)
{
	char err[1024];
	if (run_checkpoint(r, ch->name[0] ? ch->name : NULL, &ch->result, err, sizeof err) < 0)
		change_fail(ch, E_REFUSED, "%s", err);
}

static const char *const cmd_checkpoint_args[] = { "name", NULL };

const cmd_entry cmd_checkpoint_entry = {
	.name = "checkpoint",
	.usage = "{\"name\": FILE_NAME} | {}",
	.summary = "write a checkpoint into the checkpoint directory (default name ckpt_SEQ_stepSTEP.h5)",
	.args = cmd_checkpoint_args,
	.changes = true,
	.needs_state = true,
	.exec = checkpoint_exec,
	.apply = checkpoint_apply,
};
