/* SPDX-License-Identifier: MIT */
/* quantity.c — numbers with SI prefixes and units (see quantity.h). */
#include "quantity.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *sym;
	double factor;
} prefixes[] = {
	{ "y", 1e-24 }, { "z", 1e-21 }, { "a", 1e-18 }, { "f", 1e-15 }, { "p", 1e-12 },
	{ "n", 1e-9 },  { "u", 1e-6 },  { "\xc2\xb5", 1e-6 } /* U+00B5 micro sign */,
	{ "\xce\xbc", 1e-6 } /* U+03BC Greek mu, what many keyboards give */,
	{ "m", 1e-3 },  { "c", 1e-2 },  { "d", 1e-1 },  { "k", 1e3 },   { "M", 1e6 },
	{ "G", 1e9 },   { "T", 1e12 },  { "P", 1e15 },  { "E", 1e18 },
};

const char *quantity_prefix(size_t i)
{
	for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
		if ((unsigned char)prefixes[k].sym[0] < 0x80 && i-- == 0)
			return prefixes[k].sym;
	return NULL;
}

/* The leading number; strtod alone would also take "inf", "nan" and hex.
 * An underflow (ERANGE: a result below DBL_MIN) is refused too. */
static int leading_number(const char *s, double *v, const char **end)
{
	while (isspace((unsigned char)*s))
		s++;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -1;
	char *e;
	errno = 0;
	*v = strtod(s, &e);
	if (e == s || errno == ERANGE || !isfinite(*v))
		return -1;
	*end = e;
	return 0;
}

int quantity_parse(const char *text, const char *unit, double *out, char *err, size_t errlen)
{
	double v;
	const char *rest;
	if (!unit)
		unit = "";
	if (leading_number(text, &v, &rest) < 0) {
		snprintf(err, errlen, "\"%s\" is not a number", text);
		return -1;
	}
	while (isspace((unsigned char)*rest))
		rest++;
	size_t n = strlen(rest);
	while (n > 0 && isspace((unsigned char)rest[n - 1]))
		n--;
	/* The unit itself first: "m" for metres must not become milli. */
	if (n == 0 || (unit[0] && strlen(unit) == n && !strncmp(rest, unit, n))) {
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t pl = strlen(prefixes[i].sym);
		if (pl > n || strncmp(rest, prefixes[i].sym, pl) != 0)
			continue;
		size_t ul = n - pl;
		if (ul == 0 || (unit[0] && strlen(unit) == ul && !strncmp(rest + pl, unit, ul))) {
			*out = v * prefixes[i].factor;
			if (isfinite(*out))
				return 0;
			snprintf(err, errlen, "\"%s\" is too large", text);
			return -1;
		}
	}
	if (unit[0])
		snprintf(err, errlen, "\"%s\": unit \"%.*s\" is not %s (with an optional SI prefix)",
		         text, (int)n, rest, unit);
	else
		snprintf(err, errlen, "\"%s\": unknown suffix \"%.*s\" (this value has no unit)", text,
		         (int)n, rest);
	return -1;
}
