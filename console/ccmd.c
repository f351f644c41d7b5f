/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd.c — the command table, line splitting and dispatch. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "units.h"

extern const ccmd_entry ccmd_search_entry; /* ccmd-search.c */
extern const ccmd_entry ccmd_events_entry; /* ccmd-events.c */

static const ccmd_entry *const entries[] = {
	&ccmd_status_entry, &ccmd_params_entry, &ccmd_get_entry,     &ccmd_set_entry,
	&ccmd_ramp_entry,   &ccmd_ramps_entry,  &ccmd_cancel_entry,  &ccmd_pause_entry,
	&ccmd_resume_entry, &ccmd_step_entry,   &ccmd_search_entry,  &ccmd_snapshot_entry,
	&ccmd_checkpoint_entry, &ccmd_snapshot_state_entry, &ccmd_rewind_entry,
	&ccmd_drop_state_entry, &ccmd_shutdown_entry, &ccmd_history_entry, &ccmd_monitor_entry,
	&ccmd_hello_entry,  &ccmd_watch_entry,  &ccmd_plot_entry,    &ccmd_wait_entry,
	&ccmd_expect_entry, &ccmd_sleep_entry,  &ccmd_echo_entry,    &ccmd_events_entry,
	&ccmd_help_entry,
	&ccmd_quit_entry,   NULL,
};

const ccmd_entry *const *ccmd_all(void)
{
	return entries;
}

const ccmd_entry *ccmd_find(const char *name)
{
	for (const ccmd_entry *const *e = entries; *e; e++)
		if (!strcmp((*e)->name, name))
			return *e;
	if (!strcmp(name, "exit"))
		return &ccmd_quit_entry;
	return NULL;
}

int ccmd_dump(FILE *out)
{
	json_t *all = json_array();
	for (const ccmd_entry *const *e = entries; *e; e++)
		json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:s?}", "name", (*e)->name, "usage",
		                                     (*e)->usage, "summary", (*e)->summary, "daemon",
		                                     (*e)->daemon));
	int rc = json_dumpf(all, out, JSON_INDENT(1));
	fputc('\n', out);
	json_decref(all);
	return rc;
}

int ccmd_usage(console *c, const ccmd_entry *e)
{
	return con_error(c, "usage: %s %s", e->name, e->usage);
}

int ccmd_request(console *c, const char *cmd, json_t *body, json_t **out)
{
	json_t *r;
	*out = NULL;
	if (con_call(c, cmd, body, &r) < 0)
		return -1;
	if (c->json)
		con_json_line(r);
	*out = r;
	return 0;
}

int ccmd_named_request(console *c, const ccmd_entry *e, bool required, int argc, char **argv,
                       json_t **out)
{
	*out = NULL;
	if (argc > 2 || (required && argc != 2))
		return ccmd_usage(c, e);
	json_t *body = argc == 2 ? json_pack("{s:s}", "name", argv[1]) : NULL;
	return ccmd_request(c, e->daemon, body, out);
}

/*
 * Splits at the separator `sep` (';') outside quotes and brackets, or into
 * words at blanks (sep == 0, quotes removed). A '#' at the start of a word
 * ends the line. Returns the pieces; *n their count.
 */
static char **split(const char *s, char sep, int *n)
{
	char **out = NULL;
	int cnt = 0, depth = 0;
	size_t len = strlen(s);
	char *cur = malloc(len + 1);
	size_t cl = 0;
	char quote = 0;
	bool in_piece = false;
	if (!cur)
		abort();
	for (size_t i = 0;; i++) {
		char ch = s[i];
		bool word_start = i == 0 || isspace((unsigned char)s[i - 1]) || s[i - 1] == ';';
		bool end = !ch || (!quote && depth == 0 && ch == '#' && word_start);
		bool cut = end || (!quote && depth == 0 &&
		                   (sep ? ch == sep : isspace((unsigned char)ch)));
		if (cut) {
			if (sep) { /* trim the command */
				while (cl > 0 && isspace((unsigned char)cur[cl - 1]))
					cl--;
				size_t k = 0;
				while (k < cl && isspace((unsigned char)cur[k]))
					k++;
				memmove(cur, cur + k, cl - k);
				cl -= k;
				in_piece = cl > 0;
			}
			if (in_piece) {
				out = realloc(out, (size_t)(cnt + 2) * sizeof *out);
				if (!out)
					abort();
				out[cnt++] = strndup(cur, cl);
				out[cnt] = NULL;
			}
			cl = 0;
			in_piece = false;
			if (end)
				break;
			continue;
		}
		in_piece = true;
		if (quote) {
			if (ch == quote) {
				quote = 0;
				if (sep)
					cur[cl++] = ch;
			} else {
				cur[cl++] = ch;
			}
			continue;
		}
		if (ch == '"' || ch == '\'') {
			quote = ch;
			if (sep)
				cur[cl++] = ch;
			continue;
		}
		if (ch == '{' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ']') && depth > 0)
			depth--;
		cur[cl++] = ch;
	}
	free(cur);
	*n = cnt;
	if (!out) {
		out = calloc(1, sizeof *out);
		if (!out)
			abort();
	}
	return out;
}

static void free_pieces(char **p, int n)
{
	for (int i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

static int run_one(console *c, const char *text)
{
	int argc;
	char **argv = split(text, 0, &argc);
	int rc = 0;
	if (argc > 0) {
		const char *rest = text + strlen(argv[0]);
		/* The command word as typed (it holds no quotes in practice). */
		while (*rest && isspace((unsigned char)*rest))
			rest++;
		const ccmd_entry *e = ccmd_find(argv[0]);
		c->prev_step = c->cmd_step;
		c->cmd_step = -1;
		/* A daemon command's JSON body is taken as it is, also where the
		 * console has a syntax of its own (scripts written for either work). */
		if (e && e->daemon && *rest == '{')
			rc = ccmd_passthrough(c, e->daemon, rest);
		else if (e)
			rc = e->exec(c, argc, argv, rest);
		else if (schema_command(c, argv[0]))
			rc = ccmd_passthrough(c, argv[0], rest);
		else
			rc = con_error(c, "unknown command \"%s\" (try help)", argv[0]);
	}
	free_pieces(argv, argc);
	return rc;
}

int ccmd_run_line(console *c, const char *line)
{
	int n;
	char **cmds = split(line, ';', &n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0 && !c->quit; i++)
		rc = run_one(c, cmds[i]);
	free_pieces(cmds, n);
	return rc;
}

int ccmd_passthrough(console *c, const char *cmd, const char *rest)
{
	json_t *body = NULL;
	if (rest && *rest) {
		json_error_t jerr;
		body = json_loads(rest, 0, &jerr);
		if (!json_is_object(body)) {
			json_decref(body);
			const json_t *d = schema_command(c, cmd);
			return con_error(c, "%s: the body must be a JSON object (%s); usage: %s %s", cmd,
			                 body ? "not an object" : jerr.text, cmd,
			                 d ? schema_str(d, "usage") : "{...}");
		}
	}
	json_t *r;
	if (ccmd_request(c, cmd, body, &r) < 0)
		return -1;
	if (!c->json) {
		char *s = json_dumps(r, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
	}
	json_decref(r);
	return 0;
}

const json_t *ccmd_knob(console *c, const char *name)
{
	if (!c->hello) {
		con_error(c, "not connected to steerd yet (no knob list)");
		return NULL;
	}
	const json_t *k = schema_knob(c, name);
	char hint[96];
	if (!k)
		con_error(c, "unknown knob \"%s\"%s", name,
		          schema_did_you_mean(c, name, false, hint, sizeof hint));
	return k;
}

json_t *ccmd_knob_value(console *c, const json_t *knob, int argc, char **argv, int *i)
{
	char text[256], err[512];
	snprintf(text, sizeof text, "%s", argv[*i]);
	const char *type = schema_str(knob, "type");
	bool numeric = !strcmp(type, "double") || !strcmp(type, "int");
	/* "1.2 kA/m^2" arrives as two words: the second is a unit unless it is
	 * the next knob or a keyword. */
	if (numeric && *i + 1 < argc && !schema_knob(c, argv[*i + 1]) &&
	    strcmp(argv[*i + 1], "steps") != 0 && strcmp(argv[*i + 1], "rate") != 0 &&
	    strcmp(argv[*i + 1], "over") != 0) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof text - n, " %s", argv[++*i]);
	}
	json_t *v = units_knob_value(knob, text, err, sizeof err);
	if (!v)
		con_error(c, "%s: %s", schema_str(knob, "name"), err);
	return v;
}
