/* SPDX-License-Identifier: MIT */
/* cmd-set.c — `set`: change one or several knobs at the same step boundary, all or none. */
#include "cmd.h"
#include "run.h"
#include "value_json.h"

#include <stdlib.h>

static int set_exec(cmd_ctx *ctx, const json_t *body)
{
	const json_t *values = json_object_get(body, "values");
	if (!json_is_object(values) || json_object_size(values) == 0)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'values' must be a non-empty object {KNOB: VALUE}");
	if (json_object_size(values) > ctx->sa->n_knobs)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'values' names more knobs than there are");
	change *ch = change_new(&cmd_set_entry);
	ch->items = calloc(json_object_size(values), sizeof *ch->items);
	if (!ch->items) {
		change_destroy(&ch);
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	}
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)values, name, v) {
		knob_change *it = &ch->items[ch->n_items++];
		int rc = -1;
		if (cmd_runtime_knob(ctx, name, &it->knob) == 0) {
			rc = value_from_json(&ctx->sa->knobs[it->knob], v, &it->value, ctx->err_msg,
			                     sizeof ctx->err_msg);
			if (rc < 0)
				ctx->err_code = rc == -2 ? E_OUT_OF_RANGE : E_BAD_ARGUMENT;
		}
		if (rc < 0) {
			change_destroy(&ch);
			return -1;
		}
	}
	ctx->change = ch;
	return 0;
}

static void set_apply(run *r, change *ch) { run_set_knobs(r, ch); }

static const char *const cmd_set_args[] = { "values", NULL };

const cmd_entry cmd_set_entry = {
	.args = cmd_set_args,
	.name = "set",
	.usage = "{\"values\": {KNOB: VALUE, ...}}",
	.summary = "change knobs together at the next step boundary; the reply gives that step",
	.changes = true,
	.exec = set_exec,
	.apply = set_apply,
};
