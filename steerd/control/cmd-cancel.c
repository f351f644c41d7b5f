/* SPDX-License-Identifier: MIT */
/* cmd-cancel.c — `cancel`: stop ramps where they are (one by id or knob, or all), the
 * search, or the steps a `step` command queued. */
#include "cmd.h"
#include "run.h"

#include <stdlib.h>
#include <string.h>

static int cancel_exec(cmd_ctx *ctx, const json_t *body)
{
	const json_t *search = json_object_get(body, "search");
	const json_t *steps = json_object_get(body, "steps");
	if (json_object_size(body) > 1)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "give one of 'id', 'knob', 'search' and 'steps'");
	if (search && !json_is_true(search))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'search' must be true");
	if (steps && !json_is_true(steps))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'steps' must be true");
	change *ch = change_new(&cmd_cancel_entry);
	if (!ch)
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	if (search || steps)
		strcpy(ch->name, search ? "search" : "steps");
	if (json_object_get(body, "id") &&
	    cmd_get_count(ctx, body, "id", 1, UINT64_MAX >> 1, &ch->count) < 0) {
		change_destroy(&ch);
		return -1;
	}
	const json_t *knob = json_object_get(body, "knob");
	if (knob) {
		ch->items = calloc(1, sizeof *ch->items);
		if (!json_is_string(knob) || !ch->items ||
		    cmd_runtime_knob(ctx, json_string_value(knob), &ch->items[0].knob) < 0) {
			if (!ctx->err_code)
				cmd_fail(ctx, E_BAD_ARGUMENT, "'knob' must be a knob name");
			change_destroy(&ch);
			return -1;
		}
		ch->n_items = 1;
	}
	ctx->change = ch;
	return 0;
}

static void cancel_apply(run *r, change *ch) { run_cancel_ramps(r, ch); }

static const char *const cmd_cancel_args[] = { "id", "knob", "search", "steps", NULL };

const cmd_entry cmd_cancel_entry = {
	.args = cmd_cancel_args,
	.name = "cancel",
	.usage = "{\"id\": RAMP_ID} | {\"knob\": KNOB} | {\"search\": true} | {\"steps\": true} | {}",
	.summary = "cancel a ramp (by id or knob), all ramps, the search, or the steps `step` queued; "
	           "knobs keep their values",
	.changes = true,
	.exec = cancel_exec,
	.apply = cancel_apply,
};
