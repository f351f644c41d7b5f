/* SPDX-License-Identifier: MIT */
/* cmd-search.c — `search`: the largest knob value for which a condition stays false. */
#include "cmd.h"
#include "run.h"
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *sym;
	int op;
} search_ops[] = { /* two-character operators first */
	{ "==", SEARCH_EQ }, { "!=", SEARCH_NE }, { "<=", SEARCH_LE },
	{ ">=", SEARCH_GE }, { "<", SEARCH_LT },  { ">", SEARCH_GT },
};

/* "NAME" (true when non-zero) or "NAME OP NUMBER". */
static int parse_condition(cmd_ctx *ctx, const char *text, search_args *a)
{
	char name[64] = "";
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof a->cond_text)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'until' must be NAME or NAME OP NUMBER");
	memcpy(a->cond_text, text, n + 1);
	const char *at = NULL;
	size_t i = 0;
	for (; i < sizeof search_ops / sizeof search_ops[0] && !at; i++)
		at = strstr(text, search_ops[i].sym);
	if (!at) {
		a->cond_op = SEARCH_NONZERO;
		if (sscanf(text, " %63[A-Za-z0-9_] %c", name, &(char){ 0 }) != 1)
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'until' must be NAME or NAME OP NUMBER");
	} else {
		a->cond_op = search_ops[i - 1].op;
		char *end;
		const char *num = at + strlen(search_ops[i - 1].sym);
		a->cond_value = strtod(num, &end);
		while (*end == ' ')
			end++;
		size_t len = (size_t)(at - text);
		if (end == num || *end || !isfinite(a->cond_value) || len >= sizeof name)
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'until': expected NAME OP NUMBER, got '%.64s'", text);
		memcpy(name, text, len);
		name[len] = '\0';
		char trimmed[64] = "";
		if (sscanf(name, " %63[A-Za-z0-9_] %c", trimmed, &(char){ 0 }) != 1)
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'until': expected NAME OP NUMBER, got '%.64s'", text);
		strcpy(name, trimmed);
	}
	int k = adapter_knob_index(ctx->sa, name), s = mirror_scalar_slot(ctx->sa, name);
	if (k < 0 && s < 0 && adapter_diag_index(ctx->sa, name) >= 0)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'until': %s is an array diagnostic, not a scalar", name);
	if (k < 0 && s < 0)
		return cmd_fail(ctx, E_UNKNOWN_NAME, "no knob or scalar diagnostic '%s'", name);
	a->cond_is_knob = s < 0;
	a->cond_index = (size_t)(s >= 0 ? s : k);
	return 0;
}

static int number(cmd_ctx *ctx, const json_t *body, const char *key, double *out)
{
	const json_t *j = json_object_get(body, key);
	if (!j)
		return 1;
	if (!json_is_number(j) || !isfinite(json_number_value(j)))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'%s' must be a number", key);
	*out = json_number_value(j);
	return 0;
}

static int search_exec(cmd_ctx *ctx, const json_t *body)
{
	/* hold 0 and no hold_time: the default hold, SEARCH_HOLD_TRANSITS transit
	 * times (run_search.c). tol 0.5 %: the answer's bracket is within 0.5 %. */
	search_args a = { .tol = 0.005, .hold = 0, .max_steps = 10000000 };
	const char *knob = json_string_value(json_object_get(body, "knob"));
	const char *until = json_string_value(json_object_get(body, "until"));
	if (!knob || !until)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "search needs 'knob' and 'until' (strings)");
	if (cmd_runtime_knob(ctx, knob, &a.knob) < 0)
		return -1;
	const sa_knob *kn = &ctx->sa->knobs[a.knob];
	if (kn->type != SA_DOUBLE && kn->type != SA_INT)
		return cmd_fail(ctx, E_BAD_ARGUMENT, "%s is not numeric", knob);
	if (number(ctx, body, "from", &a.from) != 0 || number(ctx, body, "to", &a.to) != 0)
		return ctx->err_code ? -1 : cmd_fail(ctx, E_BAD_ARGUMENT, "search needs 'from' and 'to'");
	if (!(a.from < a.to))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'from' must be below 'to'");
	if (a.from < kn->min || a.to > kn->max)
		return cmd_fail(ctx, E_OUT_OF_RANGE, "[%g, %g] leaves %s's range [%g, %g]", a.from, a.to,
		                knob, kn->min, kn->max);
	if (number(ctx, body, "tol", &a.tol) < 0)
		return -1;
	if (!(a.tol > 0 && a.tol < 1))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "'tol' must be in (0, 1)");
	if (json_object_get(body, "hold") && json_object_get(body, "hold_time"))
		return cmd_fail(ctx, E_BAD_ARGUMENT, "give 'hold' or 'hold_time', not both");
	if (json_object_get(body, "hold") &&
	    cmd_get_count(ctx, body, "hold", 1, SEARCH_MAX_HOLD, &a.hold) < 0)
		return -1;
	if (json_object_get(body, "hold_time")) {
		if (number(ctx, body, "hold_time", &a.hold_time) < 0)
			return -1;
		if (!(a.hold_time > 0))
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'hold_time' must be positive (seconds)");
		a.hold = 0;
	}
	const json_t *dir = json_object_get(body, "direction");
	if (dir) {
		const char *d = json_string_value(dir);
		if (!d || (strcmp(d, "up") != 0 && strcmp(d, "down") != 0))
			return cmd_fail(ctx, E_BAD_ARGUMENT, "'direction' must be \"up\" or \"down\"");
		a.down = strcmp(d, "down") == 0;
	}
	if (json_object_get(body, "max_steps") &&
	    cmd_get_count(ctx, body, "max_steps", 1, (uint64_t)1 << 50, &a.max_steps) < 0)
		return -1;
	if (parse_condition(ctx, until, &a) < 0)
		return -1;
	change *ch = change_new(&cmd_search_entry);
	search_args *copy = malloc(sizeof *copy);
	if (!ch || !copy) {
		free(copy);
		change_destroy(&ch);
		return cmd_fail(ctx, E_INTERNAL, "out of memory");
	}
	*copy = a;
	ch->args = copy;
	ctx->change = ch;
	return 0;
}

static void search_apply(run *r, change *ch) { search_start(r, ch); }

static const char *const cmd_search_args[] = { "knob", "from", "to", "until", "hold", "hold_time",
	                                            "tol", "max_steps", "direction", NULL };

const cmd_entry cmd_search_entry = {
	.name = "search",
	.usage = "{\"knob\": KNOB, \"from\": A, \"to\": B, \"until\": COND, \"hold\": STEPS | "
	         "\"hold_time\": SECONDS, \"tol\": REL, \"max_steps\": N, \"direction\": \"up\" | \"down\"}",
	.summary = "find the largest KNOB in [A, B] for which COND stays false (up, from below) or "
	           "clears (down, from where it holds); answered when done",
	.args = cmd_search_args,
	.changes = true,
	.needs_state = true,
	.exec = search_exec,
	.apply = search_apply,
};
