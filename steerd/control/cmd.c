/* SPDX-License-Identifier: MIT */
/* cmd.c — the command table and helpers shared by the cmd-*.c files. */
#include "cmd.h"
#include "suggest.h"
#include "own_scalars.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_entry *const cmd_table[] = {
	&cmd_hello_entry, &cmd_status_entry, &cmd_params_entry, &cmd_get_entry,
	&cmd_set_entry, &cmd_ramp_entry, &cmd_ramps_entry, &cmd_cancel_entry,
	&cmd_pause_entry, &cmd_resume_entry, &cmd_step_entry, &cmd_snapshot_entry,
	&cmd_search_entry, &cmd_checkpoint_entry, &cmd_snapshot_state_entry, &cmd_rewind_entry,
	&cmd_drop_state_entry, &cmd_shutdown_entry, &cmd_history_entry, NULL,
};

const cmd_entry *const *cmd_all(void) { return cmd_table; }

json_t *cmd_table_json(void)
{
	json_t *cmds = json_array();
	for (size_t i = 0; cmds && cmd_table[i]; i++) {
		const cmd_entry *c = cmd_table[i];
		json_t *args = json_array();
		for (size_t a = 0; args && c->args && c->args[a]; a++)
			json_array_append_new(args, json_string(c->args[a]));
		if (json_array_append_new(cmds, json_pack("{s:s, s:s, s:s, s:o*, s:b}", "name", c->name,
		                                          "usage", c->usage, "summary", c->summary,
		                                          "args", args, "changes", c->changes)) < 0) {
			json_decref(cmds);
			return NULL;
		}
	}
	return cmds;
}

const cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

int cmd_fail(cmd_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err_msg, sizeof ctx->err_msg, fmt, ap);
	va_end(ap);
	ctx->err_code = code;
	return -1;
}

int cmd_check_keys(cmd_ctx *ctx, const json_t *body, const char *const *allowed)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)body, key, value) {
		bool known = false;
		for (size_t i = 0; allowed[i]; i++)
			known |= strcmp(key, allowed[i]) == 0;
		if (!known)
			return cmd_fail(ctx, E_BAD_ARGUMENT, "unknown argument '%.64s'", key);
	}
	return 0;
}

int cmd_get_count(cmd_ctx *ctx, const json_t *body, const char *key, uint64_t min, uint64_t max,
                  uint64_t *out)
{
	json_t *j = json_object_get(body, key);
	if (!j)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "missing argument '%s'", key);
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) < min || (uint64_t)json_integer_value(j) > max)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'%s' must be an integer in [%llu, %llu]", key,
		                (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(j);
	return 0;
}

change *change_new(const cmd_entry *cmd)
{
	change *ch = calloc(1, sizeof *ch);
	if (ch) {
		ch->cmd = cmd;
		ch->apply = cmd->apply;
	}
	return ch;
}

void change_destroy(change **chp)
{
	if (!chp || !*chp)
		return;
	change *ch = *chp;
	wire_request_free(&ch->req);
	free(ch->items);
	free(ch->args);
	json_decref(ch->result);
	free(ch);
	*chp = NULL;
}

const char *cmd_did_you_mean(const sa_adapter *sa, const char *typed, bool scalars, char *buf,
                             size_t len)
{
	suggest sg;
	suggest_init(&sg, typed);
	for (size_t i = 0; i < sa->n_knobs; i++)
		suggest_consider(&sg, sa->knobs[i].name);
	for (size_t i = 0; scalars && i < sa->n_diags; i++)
		if (sa->diags[i].rank == 0)
			suggest_consider(&sg, sa->diags[i].name);
	const char *best = suggest_result(&sg);
	snprintf(buf, len, "%s%s%s", best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
	return buf;
}

int cmd_runtime_knob(cmd_ctx *ctx, const char *name, size_t *out)
{
	int k = adapter_knob_index(ctx->sa, name);
	char hint[96];
	if (k < 0)
		return cmd_fail(ctx, E_UNKNOWN_NAME, "no knob '%.64s'%s", name,
		                cmd_did_you_mean(ctx->sa, name, false, hint, sizeof hint));
	if (!ctx->sa->knobs[k].runtime)
		return cmd_fail(ctx, E_FIXED_KNOB, "%s is fixed after start", name);
	*out = (size_t)k;
	return 0;
}

int cmd_plain_change(cmd_ctx *ctx, const json_t *body, const cmd_entry *self)
{
	(void)body;
	ctx->change = change_new(self);
	return ctx->change ? 0 : cmd_fail(ctx, E_INTERNAL, "out of memory");
}

int cmd_get_name(cmd_ctx *ctx, const json_t *body, const char *key, bool required, char *out,
                 size_t outlen)
{
	const json_t *j = json_object_get(body, key);
	out[0] = '\0';
	if (!j)
		return required ? cmd_fail(ctx, E_BAD_ARGUMENT, "missing argument '%s'", key) : 0;
	const char *s = json_string_value(j);
	size_t n = s ? strlen(s) : 0;
	bool ok = n >= 1 && n <= 100 && n < outlen && s[0] != '.';
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-';
	if (!ok)
		return cmd_fail(ctx, E_BAD_ARGUMENT,
		                "'%s' must be 1 to 100 characters of A-Z a-z 0-9 . _ - not starting with '.'",
		                key);
	memcpy(out, s, n + 1);
	return 0;
}

