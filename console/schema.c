/* SPDX-License-Identifier: GPL-3.0-or-later */
/* schema.c — lookups in the daemon's `hello`: knobs, diagnostics, commands. */
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "suggest.h"

static const json_t *find_named(const console *c, const char *list, const char *name)
{
	if (!c->hello || !name)
		return NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c->hello, list), i, e)
		if (strcmp(schema_str(e, "name"), name) == 0)
			return e;
	return NULL;
}

const json_t *schema_knob(const console *c, const char *name)
{
	return find_named(c, "knobs", name);
}

const json_t *schema_diag(const console *c, const char *name)
{
	return find_named(c, "diagnostics", name);
}

const json_t *schema_command(const console *c, const char *name)
{
	return find_named(c, "commands", name);
}

const char *schema_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

const char *schema_unit(const console *c, const char *name)
{
	const json_t *e = schema_knob(c, name);
	if (!e)
		e = schema_diag(c, name);
	return schema_str(e, "unit");
}

bool schema_is_scalar(const json_t *diag)
{
	return diag && json_integer_value(json_object_get(diag, "rank")) == 0;
}

const char *schema_did_you_mean(const console *c, const char *typed, bool scalars, char *buf,
                                size_t len)
{
	suggest sg;
	suggest_init(&sg, typed);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(c->hello, "knobs"), i, e)
		suggest_consider(&sg, json_string_value(json_object_get(e, "name")));
	if (scalars)
		json_array_foreach(json_object_get(c->hello, "diagnostics"), i, e)
			if (schema_is_scalar(e))
				suggest_consider(&sg, json_string_value(json_object_get(e, "name")));
	const char *best = suggest_result(&sg);
	snprintf(buf, len, "%s%s%s", best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
	return buf;
}
