/* SPDX-License-Identifier: GPL-3.0-or-later */
/* expr.c — parse and evaluate `wait until` / `expect` conditions (see expr.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "units.h"

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

static const struct {
	const char *sym;
	int op;
} ops[] = { /* two-character operators first */
	{ "==", OP_EQ }, { "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE },
	{ "<", OP_LT },  { ">", OP_GT },  { "=", OP_EQ },
};

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	size_t k = 0;
	while (isspace((unsigned char)s[k]))
		k++;
	memmove(s, s + k, n - k + 1);
}

static int parse_clause(const console *c, char *text, expr_clause *cl, char *err, size_t errlen)
{
	char *at = NULL;
	size_t i;
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if ((at = strstr(text, ops[i].sym)))
			break;
	if (!at) {
		snprintf(err, errlen, "\"%s\": expected NAME OP VALUE with OP one of == != < <= > >=",
		         text);
		return -1;
	}
	cl->op = ops[i].op;
	*at = '\0';
	char *value = at + strlen(ops[i].sym);
	trim(text);
	trim(value);
	if (strlen(text) >= sizeof cl->name) {
		snprintf(err, errlen, "name too long in \"%.40s...\"", text);
		return -1;
	}
	memcpy(cl->name, text, strlen(text) + 1);
	const json_t *knob = schema_knob(c, cl->name), *diag = schema_diag(c, cl->name);
	if (!knob && !schema_is_scalar(diag)) {
		char hint[96];
		snprintf(err, errlen, "unknown name \"%s\" (a knob or scalar diagnostic)%s", cl->name,
		         schema_did_you_mean(c, cl->name, true, hint, sizeof hint));
		return -1;
	}
	const char *type = knob ? schema_str(knob, "type") : "double";
	if (!strcmp(type, "enum")) {
		if (cl->op != OP_EQ && cl->op != OP_NE) {
			snprintf(err, errlen, "%s is a choice: only == and != compare it", cl->name);
			return -1;
		}
		cl->str = strdup(value);
		return 0;
	}
	if (!strcmp(type, "bool")) {
		json_t *b = units_knob_value(knob, value, err, errlen);
		if (!b)
			return -1;
		cl->num = json_is_true(b);
		json_decref(b);
		return 0;
	}
	return quantity_parse(value, schema_unit(c, cl->name), &cl->num, err, errlen);
}

int expr_parse(const console *c, const char *text, expr *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	char buf[1024], clause[1024] = "";
	snprintf(buf, sizeof buf, "%s", text);
	bool next_or = false;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t", &save);; w = strtok_r(NULL, " \t", &save)) {
		bool end = !w;
		bool join = !end && (!strcmp(w, "and") || !strcmp(w, "or"));
		if (end || join) {
			if (!clause[0]) {
				snprintf(err, errlen, "\"%s\": missing condition", text);
				goto fail;
			}
			if (e->n == EXPR_MAX) {
				snprintf(err, errlen, "too many conditions (at most %d)", EXPR_MAX);
				goto fail;
			}
			expr_clause *cl = &e->cl[e->n++];
			cl->or_before = next_or;
			if (parse_clause(c, clause, cl, err, errlen) < 0)
				goto fail;
			clause[0] = '\0';
			if (end)
				break;
			next_or = !strcmp(w, "or");
			continue;
		}
		size_t used = strlen(clause);
		snprintf(clause + used, sizeof clause - used, "%s%s", used ? " " : "", w);
	}
	return 0;
fail:
	expr_free(e);
	return -1;
}

void expr_free(expr *e)
{
	for (int i = 0; i < e->n; i++) {
		free(e->cl[i].str);
		json_decref(e->cl[i].cur);
	}
	e->n = 0;
}

void expr_update(expr *e, const char *name, const json_t *v)
{
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->cl[i].name, name)) {
			json_decref(e->cl[i].cur);
			e->cl[i].cur = v ? json_deep_copy(v) : NULL;
		}
}

static bool clause_true(const expr_clause *cl)
{
	const json_t *v = cl->cur;
	if (cl->str) {
		if (!json_is_string(v))
			return false;
		bool eq = !strcmp(json_string_value(v), cl->str);
		return cl->op == OP_EQ ? eq : !eq;
	}
	double x;
	if (json_is_number(v))
		x = json_number_value(v);
	else if (json_is_boolean(v))
		x = json_is_true(v);
	else
		return false; /* not computed yet */
	if (isnan(x))
		return false;
	switch (cl->op) {
	case OP_EQ: return x == cl->num;
	case OP_NE: return x != cl->num;
	case OP_LT: return x < cl->num;
	case OP_LE: return x <= cl->num;
	case OP_GT: return x > cl->num;
	default: return x >= cl->num;
	}
}

/* An `or` of `and` groups. */
bool expr_eval(const expr *e)
{
	bool any = false, group = true;
	for (int i = 0; i < e->n; i++) {
		if (i > 0 && e->cl[i].or_before) {
			any = any || group;
			group = true;
		}
		group = group && clause_true(&e->cl[i]);
	}
	return e->n > 0 && (any || group);
}

json_t *expr_names(const expr *e)
{
	json_t *a = json_array();
	for (int i = 0; i < e->n; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen = seen || !strcmp(e->cl[j].name, e->cl[i].name);
		if (!seen)
			json_array_append_new(a, json_string(e->cl[i].name));
	}
	return a;
}

void expr_describe(const console *c, const expr *e, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < e->n && off < len; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen = seen || !strcmp(e->cl[j].name, e->cl[i].name);
		if (seen)
			continue;
		char v[160];
		fmt_value_unit(e->cl[i].cur, schema_unit(c, e->cl[i].name), v, sizeof v);
		off += (size_t)snprintf(buf + off, len - off, "%s%s = %s", off ? ", " : "",
		                        e->cl[i].name, v);
	}
}
