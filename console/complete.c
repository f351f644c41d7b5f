/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * complete.c — Tab completion: command names at the start of a command, then
 * what the command takes (ccmd_entry.complete): knob names, scalar names,
 * array diagnostics, an enum knob's choices after its name in `set`, a knob's
 * unit (with SI prefixes) after a number typed for it in `set` or `ramp`. Names
 * come from the daemon's hello.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include "ccmd.h"
#include "script.h"
#include "units.h"

static console *cc;
static char **cands;
static size_t n_cands, cap_cands;

static void add(const char *s)
{
	if (n_cands == cap_cands) {
		cap_cands = cap_cands ? 2 * cap_cands : 64;
		cands = realloc(cands, cap_cands * sizeof *cands);
		if (!cands)
			abort();
	}
	cands[n_cands++] = strdup(s);
}

static void clear(void)
{
	for (size_t i = 0; i < n_cands; i++)
		free(cands[i]);
	n_cands = 0;
}

static char *generate(const char *text, int state)
{
	static size_t next;
	if (!state)
		next = 0;
	size_t len = strlen(text);
	while (next < n_cands) {
		const char *s = cands[next++];
		if (!strncmp(s, text, len))
			return strdup(s);
	}
	return NULL;
}

static void add_commands(void)
{
	for (const ccmd_entry *const *e = ccmd_all(); *e; e++)
		add((*e)->name);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(cc->hello, "commands"), i, d)
		if (!ccmd_find(schema_str(d, "name")))
			add(schema_str(d, "name"));
}

static void add_knobs(bool runtime_only)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(cc->hello, "knobs"), i, k)
		if (!runtime_only || json_is_true(json_object_get(k, "runtime")))
			add(schema_str(k, "name"));
}

static void add_diags(int rank)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(cc->hello, "diagnostics"), i, d)
		if (json_integer_value(json_object_get(d, "rank")) == rank)
			add(schema_str(d, "name"));
}

/* After `set KNOB`: an enum's choices, a bool's true/false. */
static bool add_values(const char *knob)
{
	const json_t *k = schema_knob(cc, knob);
	const char *type = schema_str(k, "type");
	if (!strcmp(type, "bool")) {
		add("true");
		add("false");
		return true;
	}
	size_t i;
	json_t *ch;
	json_array_foreach(json_object_get(k, "choices"), i, ch)
		add(json_string_value(ch));
	return !strcmp(type, "enum");
}

/* After a number typed for KNOB (`set KNOB 1.2 <Tab>`): its unit, with and
 * without an SI prefix. False when the knob has no unit or it is not a number. */
static bool add_units(const char *knob, const char *typed)
{
	const char *unit = schema_str(schema_knob(cc, knob), "unit");
	char *end;
	strtod(typed, &end);
	if (!unit[0] || end == typed || *end)
		return false;
	add(unit);
	char buf[64];
	for (size_t i = 0; quantity_prefix(i); i++) {
		snprintf(buf, sizeof buf, "%s%s", quantity_prefix(i), unit);
		add(buf);
	}
	return true;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1; /* never file names */
	clear();
	/* The words of this command: from the last ';' before the cursor. */
	int from = start;
	while (from > 0 && rl_line_buffer[from - 1] != ';')
		from--;
	char *seg = strndup(rl_line_buffer + from, (size_t)(start - from));
	char *words[64];
	int nw = 0;
	char *save = NULL;
	for (char *w = strtok_r(seg, " \t", &save); w && nw < 64; w = strtok_r(NULL, " \t", &save))
		words[nw++] = w;
	if (nw == 0) {
		add_commands();
	} else {
		const ccmd_entry *e = ccmd_find(words[0]);
		const char *prev = words[nw - 1];
		int kind = e ? e->complete : CC_NONE;
		bool set = !strcmp(words[0], "set"), ramp = !strcmp(words[0], "ramp");
		if (kind == CC_KNOBS && set && nw % 2 == 0 && add_values(prev))
			; /* the choices of the knob just named */
		else if (kind == CC_KNOBS && (set || ramp) && nw >= 3 && add_units(words[nw - 2], prev))
			; /* the unit of the value just typed */
		else if (kind == CC_KNOBS)
			add_knobs(true);
		else if (kind == CC_NAMES && !strcmp(words[0], "wait") && nw == 1) {
			add("steps");
			add("until");
		} else if (kind == CC_NAMES) {
			add_knobs(false);
			add_diags(0);
		} else if (kind == CC_ARRAYS) {
			add_diags(1);
			add("phase");
		} else if (kind == CC_COMMANDS) {
			add_commands();
		}
		/* Inside `watch`: scalars only make sense, but knobs are allowed too. */
	}
	free(seg);
	if (n_cands == 0)
		return NULL;
	return rl_completion_matches(text, generate);
}

void complete_init(console *c)
{
	cc = c;
	rl_attempted_completion_function = complete;
	/* Names hold '_' and '.', never these. */
	rl_basic_word_break_characters = " \t\n;=<>!";
}
