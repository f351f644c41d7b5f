/* SPDX-License-Identifier: MIT */
/* units.c — SI unit strings to openPMD unitDimension (see units.h). */
#include "units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit_def {
	const char *sym;
	double dim[UNIT_NDIM]; /* L M T I theta N J */
	double si;
} unit_def;

static const unit_def unit_table[] = {
	{ "m", { 1, 0, 0, 0, 0, 0, 0 }, 1 },
	{ "kg", { 0, 1, 0, 0, 0, 0, 0 }, 1 },
	{ "s", { 0, 0, 1, 0, 0, 0, 0 }, 1 },
	{ "A", { 0, 0, 0, 1, 0, 0, 0 }, 1 },
	{ "K", { 0, 0, 0, 0, 1, 0, 0 }, 1 },
	{ "mol", { 0, 0, 0, 0, 0, 1, 0 }, 1 },
	{ "cd", { 0, 0, 0, 0, 0, 0, 1 }, 1 },
	{ "V", { 2, 1, -3, -1, 0, 0, 0 }, 1 },
	{ "C", { 0, 0, 1, 1, 0, 0, 0 }, 1 },
	{ "J", { 2, 1, -2, 0, 0, 0, 0 }, 1 },
	{ "W", { 2, 1, -3, 0, 0, 0, 0 }, 1 },
	{ "N", { 1, 1, -2, 0, 0, 0, 0 }, 1 },
	{ "Pa", { -1, 1, -2, 0, 0, 0, 0 }, 1 },
	{ "Hz", { 0, 0, -1, 0, 0, 0, 0 }, 1 },
	{ "T", { 0, 1, -2, -1, 0, 0, 0 }, 1 },
	{ "Ohm", { 2, 1, -3, -2, 0, 0, 0 }, 1 },
	{ "F", { -2, -1, 4, 2, 0, 0, 0 }, 1 },
	{ "S", { -2, -1, 3, 2, 0, 0, 0 }, 1 },
	{ "Wb", { 2, 1, -2, -1, 0, 0, 0 }, 1 },
	{ "H", { 2, 1, -2, -2, 0, 0, 0 }, 1 },
	{ "eV", { 2, 1, -2, 0, 0, 0, 0 }, 1.602176634e-19 },
	{ "rad", { 0 }, 1 },
	{ "sr", { 0 }, 1 },
	{ "1", { 0 }, 1 },
};

typedef struct parser {
	const char *p;
	int depth;
} parser;

static void skip_spaces(parser *ps)
{
	while (*ps->p == ' ')
		ps->p++;
}

static int parse_product(parser *ps, double dim[UNIT_NDIM], double *si);

/* An optional "^exponent". */
static int parse_exponent(parser *ps, double *e)
{
	*e = 1.0;
	if (*ps->p != '^')
		return 0;
	ps->p++;
	const char *start = ps->p;
	if (*ps->p == '-' || *ps->p == '+')
		ps->p++;
	if (!(*ps->p >= '0' && *ps->p <= '9'))
		return -1;
	while ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.')
		ps->p++;
	char buf[32];
	size_t n = (size_t)(ps->p - start);
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	char *end;
	*e = strtod(buf, &end);
	return *end == '\0' && isfinite(*e) ? 0 : -1;
}

/* A symbol or a parenthesised product, with its exponent. */
static int parse_factor(parser *ps, double dim[UNIT_NDIM], double *si)
{
	double d[UNIT_NDIM] = { 0 }, f = 1.0, e;
	skip_spaces(ps);
	if (*ps->p == '(') {
		if (++ps->depth > 8)
			return -1;
		ps->p++;
		if (parse_product(ps, d, &f) < 0)
			return -1;
		skip_spaces(ps);
		if (*ps->p != ')')
			return -1;
		ps->p++;
		ps->depth--;
	} else {
		size_t n = 0;
		while ((ps->p[n] >= 'a' && ps->p[n] <= 'z') || (ps->p[n] >= 'A' && ps->p[n] <= 'Z') ||
		       (n == 0 && ps->p[n] == '1'))
			n++;
		if (n == 0)
			return -1;
		const unit_def *u = NULL;
		for (size_t i = 0; i < sizeof unit_table / sizeof unit_table[0]; i++)
			if (strlen(unit_table[i].sym) == n && memcmp(unit_table[i].sym, ps->p, n) == 0)
				u = &unit_table[i];
		if (!u)
			return -1;
		memcpy(d, u->dim, sizeof d);
		f = u->si;
		ps->p += n;
	}
	if (parse_exponent(ps, &e) < 0)
		return -1;
	for (int i = 0; i < UNIT_NDIM; i++)
		dim[i] = d[i] * e;
	*si = pow(f, e);
	return 0;
}

static int parse_product(parser *ps, double dim[UNIT_NDIM], double *si)
{
	double d[UNIT_NDIM];
	double f;
	if (parse_factor(ps, dim, si) < 0)
		return -1;
	for (;;) {
		skip_spaces(ps);
		char op = *ps->p;
		double sign = 1.0;
		if (op == '*' || op == '.') {
			ps->p++;
		} else if (op == '/') {
			ps->p++;
			sign = -1.0;
		} else if (op == '\0' || op == ')') {
			return 0;
		} else if (ps->p[-1] != ' ') {
			return -1; /* e.g. "mV": not a product of known symbols */
		}
		if (parse_factor(ps, d, &f) < 0)
			return -1;
		for (int i = 0; i < UNIT_NDIM; i++)
			dim[i] += sign * d[i];
		*si = sign > 0 ? *si * f : *si / f;
	}
}

int units_parse(const char *unit, double dim[UNIT_NDIM], double *unit_si)
{
	for (int i = 0; i < UNIT_NDIM; i++)
		dim[i] = 0.0;
	*unit_si = 1.0;
	if (!unit)
		return 0;
	parser ps = { unit, 0 };
	skip_spaces(&ps);
	if (*ps.p == '\0')
		return 0;
	double d[UNIT_NDIM], f;
	if (parse_product(&ps, d, &f) < 0 || *ps.p != '\0')
		return -1;
	for (int i = 0; i < UNIT_NDIM; i++)
		dim[i] = d[i] == 0.0 ? 0.0 : d[i]; /* no -0 */
	*unit_si = f;
	return 0;
}
