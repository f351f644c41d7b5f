/* SPDX-License-Identifier: MIT */
/* webcmd.c — a browser's command, checked: see webcmd.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "webcmd.h"

static const char *const steering[] = {"set",  "ramp", "cancel",     "pause",
                                       "resume", "step", "checkpoint", "search"};

static int refuse(const char **code, const char *c, char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int refuse(const char **code, const char *c, char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	*code = c;
	return -1;
}

static json_t *find_named(json_t *list, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && !strcmp(n, name))
			return e;
	}
	return NULL;
}

static bool listed(json_t *args, const char *key)
{
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a)
	{
		if (json_is_string(a) && !strcmp(json_string_value(a), key))
			return true;
	}
	return false;
}

/* A knob the run may change now: 0, or -1 with the reason. */
static int runtime_knob(json_t *hello, json_t *name, bool numeric, const char **code, char *msg,
                        size_t len)
{
	if (!json_is_string(name))
		return refuse(code, "bad_argument", msg, len, "a knob is named by a string");
	json_t *k = find_named(json_object_get(hello, "knobs"), json_string_value(name));
	if (!k)
		return refuse(code, "unknown_name", msg, len, "no knob '%.64s'", json_string_value(name));
	if (!json_is_true(json_object_get(k, "runtime")))
		return refuse(code, "fixed_knob", msg, len, "%s may not change while the run goes on",
		              json_string_value(name));
	const char *type = json_string_value(json_object_get(k, "type"));
	if (numeric && (!type || (strcmp(type, "double") && strcmp(type, "int"))))
		return refuse(code, "bad_argument", msg, len, "%s is not numeric", json_string_value(name));
	return 0;
}

static int check_set(json_t *hello, json_t *body, const char **code, char *msg, size_t len)
{
	json_t *values = json_object_get(body, "values");
	if (!json_is_object(values) || !json_object_size(values))
		return refuse(code, "bad_argument", msg, len, "set needs values: {KNOB: VALUE}");
	const char *k;
	json_t *v;
	json_object_foreach(values, k, v)
	{
		json_t *name = json_string(k);
		int rc = runtime_knob(hello, name, false, code, msg, len);
		json_decref(name);
		if (rc < 0)
			return -1;
		if (!json_is_number(v) && !json_is_boolean(v) && !json_is_string(v))
			return refuse(code, "bad_argument", msg, len, "%s: a number, true/false or a choice",
			              k);
	}
	return 0;
}

static int check_ramp(json_t *hello, json_t *body, const char **code, char *msg, size_t len)
{
	json_t *ramps = json_object_get(body, "ramps");
	if (!json_is_array(ramps) || !json_array_size(ramps) || json_array_size(ramps) > 16)
		return refuse(code, "bad_argument", msg, len, "ramp needs ramps: [1..16 ramps]");
	size_t i;
	json_t *r;
	json_array_foreach(ramps, i, r)
	{
		if (!json_is_object(r))
			return refuse(code, "bad_argument", msg, len, "a ramp is an object");
		const char *k;
		json_t *v;
		json_object_foreach(r, k, v)
		{
			if (strcmp(k, "knob") && strcmp(k, "to") && strcmp(k, "steps") && strcmp(k, "rate") &&
			    strcmp(k, "duration"))
				return refuse(code, "bad_argument", msg, len, "a ramp has no '%.64s'", k);
			if (strcmp(k, "knob") && !json_is_number(v))
				return refuse(code, "bad_argument", msg, len, "ramp %s: a number", k);
		}
		if (runtime_knob(hello, json_object_get(r, "knob"), true, code, msg, len) < 0)
			return -1;
	}
	return 0;
}

/* Every string in the body is a name or a condition: short, printable. */
static int check_strings(json_t *v, const char **code, char *msg, size_t len)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (json_string_length(v) > 200 || strlen(s) != json_string_length(v))
			return refuse(code, "bad_argument", msg, len, "a string of at most 200 characters");
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				return refuse(code, "bad_argument", msg, len, "control characters in a string");
	} else if (json_is_object(v)) {
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e)
		{
			if (check_strings(e, code, msg, len) < 0)
				return -1;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (check_strings(e, code, msg, len) < 0)
				return -1;
		}
	}
	return 0;
}

int webcmd_check(json_t *hello, bool operator_role, json_t *msg, const char **cmd, json_t **body,
                 const char **code, char *message, size_t len)
{
	*body = NULL;
	const char *c = json_string_value(json_object_get(msg, "cmd"));
	*cmd = c;
	if (!operator_role)
		return refuse(code, "forbidden", message, len,
		              "this page is read-only (an observer's); steering needs an operator's URL");
	if (!c)
		return refuse(code, "bad_request", message, len, "no cmd");
	bool allowed = false;
	for (size_t i = 0; i < sizeof steering / sizeof *steering; i++)
		allowed = allowed || !strcmp(c, steering[i]);
	json_t *def = find_named(json_object_get(hello, "commands"), c);
	if (!allowed || !def || !json_is_true(json_object_get(def, "changes")))
		return refuse(code, "unknown_command", message, len, "the page cannot send '%.32s'", c);
	json_t *b = json_object_get(msg, "body");
	if (!b)
		b = json_object();
	else
		json_incref(b);
	if (!json_is_object(b)) {
		json_decref(b);
		return refuse(code, "bad_request", message, len, "body is an object");
	}
	const char *k;
	json_t *v;
	json_t *args = json_object_get(def, "args");
	json_object_foreach(b, k, v)
	{
		if (!listed(args, k)) {
			json_decref(b);
			return refuse(code, "bad_argument", message, len, "%s takes no '%.64s'", c, k);
		}
	}
	char *text = json_dumps(b, JSON_COMPACT);
	size_t size = text ? strlen(text) : WEBCMD_MAX_BODY + 1;
	free(text);
	int rc = size > WEBCMD_MAX_BODY
		? refuse(code, "too_large", message, len, "a body of at most %d bytes", WEBCMD_MAX_BODY)
		: check_strings(b, code, message, len);
	if (rc == 0 && !strcmp(c, "set"))
		rc = check_set(hello, b, code, message, len);
	else if (rc == 0 && !strcmp(c, "ramp"))
		rc = check_ramp(hello, b, code, message, len);
	else if (rc == 0 && !strcmp(c, "search"))
		rc = runtime_knob(hello, json_object_get(b, "knob"), true, code, message, len);
	if (rc < 0) {
		json_decref(b);
		return -1;
	}
	*body = b;
	return 0;
}
