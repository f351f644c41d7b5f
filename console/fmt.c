/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fmt.c — values for humans. Six significant digits: enough to read, short
 * enough to line up; --json has the exact numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "console.h"

void fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.6g", v);
}

void fmt_value(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fmt_num(json_real_value(v), buf, len);
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "true");
	else if (json_is_false(v))
		snprintf(buf, len, "false");
	else if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
}

void fmt_value_unit(const json_t *v, const char *unit, char *buf, size_t len)
{
	char num[128];
	fmt_value(v, num, sizeof num);
	if (unit && *unit && json_is_number(v))
		snprintf(buf, len, "%s %s", num, unit);
	else
		snprintf(buf, len, "%s", num);
}
