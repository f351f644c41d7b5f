/* SPDX-License-Identifier: GPL-3.0-or-later */
/* units.c — SI prefixes and units on typed numbers (see units.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quantity.h"
#include "units.h"

/* "2min", "1 h": minutes and hours are not SI units, so the number before
 * them is read as a plain quantity and scaled. 1 when text ends in suffix. */
static int time_suffix(const char *text, const char *suffix, double scale, double *seconds,
                       int *rc)
{
	size_t n = strlen(text), sl = strlen(suffix);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	char head[64], e[8];
	if (n <= sl || strncmp(text + n - sl, suffix, sl) != 0 || n - sl >= sizeof head)
		return 0;
	memcpy(head, text, n - sl);
	head[n - sl] = '\0';
	if (quantity_parse(head, "", seconds, e, sizeof e) < 0)
		return 0;
	*seconds *= scale;
	*rc = *seconds >= 0 ? 0 : -1;
	return 1;
}

int units_duration(const char *text, double *seconds, char *err, size_t errlen)
{
	int rc;
	if (time_suffix(text, "min", 60, seconds, &rc) || time_suffix(text, "h", 3600, seconds, &rc)) {
		if (rc < 0)
			snprintf(err, errlen, "\"%s\": a duration is not negative", text);
		return rc;
	}
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	/* "5m" would be 5 ms by the SI rules, which nobody means: ask for a unit. */
	if (n > 0 && isalpha((unsigned char)text[n - 1]) && text[n - 1] != 's') {
		snprintf(err, errlen, "\"%s\" is not a duration (use s, ms, min or h)", text);
		return -1;
	}
	if (quantity_parse(text, "s", seconds, err, errlen) < 0)
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
	if (quantity_parse(text, "s", seconds, err, errlen) < 0 || !strchr(text, 's')) {
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
		if (quantity_parse(text, unit, &v, err, errlen) < 0)
			return NULL;
		if (v != floor(v) || fabs(v) > 9007199254740992.0) {
			snprintf(err, errlen, "\"%s\" is not an integer", text);
			return NULL;
		}
		return json_integer((json_int_t)v);
	}
	if (quantity_parse(text, unit, &v, err, errlen) < 0)
		return NULL;
	return json_real(v);
}
