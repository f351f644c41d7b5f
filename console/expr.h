/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * expr.h — the conditions of `wait until` and `expect`:
 *     NAME OP VALUE [and|or NAME OP VALUE ...]
 * NAME a knob or scalar diagnostic, OP one of == != < <= > >=, VALUE a number
 * with optional SI prefix and NAME's unit (or a choice name for enum knobs).
 * `and` binds tighter than `or`. A value not known yet makes its clause false.
 */
#ifndef CONSOLE_EXPR_H
#define CONSOLE_EXPR_H

#include <jansson.h>
#include <stdbool.h>

#include "console.h"

#define EXPR_MAX 16

typedef struct expr_clause {
	char name[64];
	int op;
	double num;
	char *str;      /* enum knobs: the choice compared to */
	bool or_before; /* joined to the clause before by `or` (else `and`) */
	json_t *cur;    /* the value seen last, or NULL */
} expr_clause;

typedef struct expr {
	expr_clause cl[EXPR_MAX];
	int n;
} expr;

int expr_parse(const console *c, const char *text, expr *e, char *err, size_t errlen);
void expr_free(expr *e);
/* A new value of name (knob event, scalars message, get reply). */
void expr_update(expr *e, const char *name, const json_t *v);
bool expr_eval(const expr *e);
/* The names, once each, as a JSON array (for `get`). */
json_t *expr_names(const expr *e);
/* "j_transmitted = 512.3 A/m^2, virtual_cathode = 0" */
void expr_describe(const console *c, const expr *e, char *buf, size_t len);

#endif
