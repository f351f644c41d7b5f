/* SPDX-License-Identifier: GPL-3.0-or-later */
/* units.c — SI prefixes and units on typed numbers (see units.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

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

const char *units_prefix(size_t i)
{
	for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
		if ((unsigned char)prefixes[k].sym[0] < 0x80 && i-- == 0)
			return prefixes[k].sym;
	return NULL;
}

/* The leading number; strtod alone would also take "inf", "nan" and hex. */
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

int units_parse(const char *text, const char *unit, double *out, char *err, size_t errlen)
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
	char suffix[64];
	snprintf(suffix, sizeof suffix, "%s", rest);
	for (size_t n = strlen(suffix); n > 0 && isspace((unsigned char)suffix[n - 1]); n--)
		suffix[n - 1] = '\0';
	/* The unit itself first: "m" for metres must not become milli. */
	if (!suffix[0] || (unit[0] && strcmp(suffix, unit) == 0)) {
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t pl = strlen(prefixes[i].sym);
		if (strncmp(suffix, prefixes[i].sym, pl) != 0)
			continue;
		const char *u = suffix + pl;
		if (!*u || (unit[0] && strcmp(u, unit) == 0)) {
			*out = v * prefixes[i].factor;
			if (!isfinite(*out))
				break;
			return 0;
		}
	}
	if (unit[0])
		snprintf(err, errlen, "\"%s\": unit \"%s\" is not %s (with an optional SI prefix)", text,
		         suffix, unit);
	else
		snprintf(err, errlen, "\"%s\": unknown suffix \"%s\" (this value has no unit)", text,
		         suffix);
	return -1;
}

int units_duration(const char *text, double *seconds, char *err, size_t errlen)
{
	double v;
	const char *rest = NULL;
	if (leading_number(text, &v, &rest) == 0) {
		while (isspace((unsigned char)*rest))
			rest++;
		if (!strcmp(rest, "min")) {
			*seconds = v * 60;
			return v >= 0 ? 0 : -1;
		}
		if (!strcmp(rest, "h")) {
			*seconds = v * 3600;
			return v >= 0 ? 0 : -1;
		}
	}
	/* "5m" would be 5 ms by the SI rules, which nobody means: ask for a unit. */
	if (rest && *rest && rest[strlen(rest) - 1] != 's') {
		snprintf(err, errlen, "\"%s\" is not a duration (use s, ms, min or h)", text);
		return -1;
	}
	if (units_parse(text, "s", seconds, err, errlen) < 0)
		return -1;
	if (*seconds < 0) {
		snprintf(err, errlen, "\"%s\": a duration is not negative", text);
		return -1;
	}
	return 0;
}

int units_steps_or_time(const char *text, long long *steps, double *seconds, char *err,
                        size_t errlen)
{
	char *e;
	errno = 0;
	long long n = strtoll(text, &e, 10);
	if (!*e && isdigit((unsigned char)text[0])) {
		if (n < 1 || errno == ERANGE) {
			snprintf(err, errlen, "\"%s\": at least 1 step", text);
			return -1;
		}
		*steps = n;
		return 1;
	}
	/* A time says its unit: a bare "1.5" could be steps or seconds. */
	if (units_parse(text, "s", seconds, err, errlen) < 0 || !strchr(text, 's')) {
		snprintf(err, errlen, "\"%s\": expected steps (an integer) or a simulated time with "
		         "its unit (5ns, 1.5 us)", text);
		return -1;
	}
	if (!(*seconds > 0)) {
		snprintf(err, errlen, "\"%s\": a time must be positive", text);
		return -1;
	}
	return 2;
}

static json_t *bool_value(const char *text, char *err, size_t errlen)
{
	static const char *const yes[] = { "true", "on", "yes", "1" }, *const no[] = { "false", "off",
		                                                                        "no", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i]))
			return json_true();
		if (!strcasecmp(text, no[i]))
			return json_false();
	}
	snprintf(err, errlen, "\"%s\" is not true or false", text);
	return NULL;
}

json_t *units_knob_value(const json_t *knob, const char *text, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(knob, "type"));
	const char *unit = json_string_value(json_object_get(knob, "unit"));
	if (!type)
		type = "double";
	if (!strcmp(type, "bool"))
		return bool_value(text, err, errlen);
	if (!strcmp(type, "enum")) {
		/* The daemon knows the choices and says which are allowed. */
		return json_string(text);
	}
	double v;
	if (!strcmp(type, "int")) {
		/* Plain integers exactly, beyond what a double holds. */
		char *e;
		errno = 0;
		long long i = strtoll(text, &e, 10);
		if (e != text && !*e && errno == 0)
			return json_integer(i);
		if (units_parse(text, unit, &v, err, errlen) < 0)
			return NULL;
		if (v != floor(v) || fabs(v) > 9007199254740992.0) {
			snprintf(err, errlen, "\"%s\" is not an integer", text);
			return NULL;
		}
		return json_integer((json_int_t)v);
	}
	if (units_parse(text, unit, &v, err, errlen) < 0)
		return NULL;
	return json_real(v);
}
