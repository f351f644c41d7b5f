/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * events.c — one readable line per stream event. The console's own changes
 * are already shown by their replies, so their echoes stay quiet; what other
 * clients, the schedule and the simulation do is always shown. An event this
 * console does not know (a newer daemon) is shown with its fields.
 */
#include <stdio.h>
#include <string.h>

#include "console.h"

static void value_of(const console *c, json_t *hdr, const char *key, const char *knob, char *buf,
                     size_t len)
{
	fmt_value_unit(json_object_get(hdr, key), schema_unit(c, knob), buf, len);
}

static void generic(const char *name, json_t *hdr, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s", name);
	const char *key;
	json_t *v;
	json_object_foreach(hdr, key, v) {
		if (!strcmp(key, "seq") || !strcmp(key, "topic_seq") || !strcmp(key, "prev_seq") ||
		    !strcmp(key, "step") ||
		    !strcmp(key, "time") || !strcmp(key, "event"))
			continue;
		char val[256];
		fmt_value(v, val, sizeof val);
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, " %s=%s", key, val);
	}
}

bool event_format(const console *c, const char *name, json_t *hdr, char *buf, size_t len)
{
	const char *client = schema_str(hdr, "client");
	const char *knob = schema_str(hdr, "knob");
	bool mine = strcmp(client, c->name) == 0;
	if (c->events_muted || (c->events_shown && !json_object_get(c->events_shown, name)))
		return false;
	char a[160], b[160], body[768];
	body[0] = '\0';
	if (!strcmp(name, "knob_changed")) {
		if (mine)
			return false;
		value_of(c, hdr, "old", knob, a, sizeof a);
		value_of(c, hdr, "new", knob, b, sizeof b);
		snprintf(body, sizeof body, "%s: %s -> %s (by %s)", knob, a, b, client);
	} else if (!strcmp(name, "ramp_started")) {
		if (mine)
			return false;
		value_of(c, hdr, "from", knob, a, sizeof a);
		value_of(c, hdr, "to", knob, b, sizeof b);
		snprintf(body, sizeof body, "ramp %lld of %s: %s -> %s, steps %lld..%lld (by %s)",
		         json_integer_value(json_object_get(hdr, "id")), knob, a, b,
		         json_integer_value(json_object_get(hdr, "start_step")),
		         json_integer_value(json_object_get(hdr, "end_step")), client);
	} else if (!strcmp(name, "ramp_finished") || !strcmp(name, "ramp_cancelled") ||
	           !strcmp(name, "ramp_failed")) {
		value_of(c, hdr, "value", knob, a, sizeof a);
		snprintf(body, sizeof body, "ramp %lld of %s %s: %s = %s%s%s",
		         json_integer_value(json_object_get(hdr, "id")), knob, name + 5, knob, a,
		         strcmp(name, "ramp_finished") ? " by " : "",
		         strcmp(name, "ramp_finished") ? client : "");
	} else if (!strcmp(name, "paused") || !strcmp(name, "resumed")) {
		if (mine)
			return false;
		snprintf(body, sizeof body, "%s by %s", name, client);
	} else if (!strcmp(name, "stepping")) {
		if (mine)
			return false;
		snprintf(body, sizeof body, "%s runs %lld steps, until step %lld", client,
		         json_integer_value(json_object_get(hdr, "steps")),
		         json_integer_value(json_object_get(hdr, "until")));
	} else if (!strcmp(name, "steps_cancelled")) {
		if (mine)
			return false;
		snprintf(body, sizeof body, "%lld queued steps cancelled by %s",
		         json_integer_value(json_object_get(hdr, "steps")), client);
	} else if (!strcmp(name, "indicator")) {
		bool on = json_is_true(json_object_get(hdr, "on"));
		fmt_value(json_object_get(hdr, "value"), a, sizeof a);
		const json_t *since = json_object_get(hdr, "since_step"); /* absent from older daemons */
		snprintf(b, sizeof b, ", since step %lld", json_integer_value(since));
		snprintf(body, sizeof body, "%s %s (value %s%s)", schema_str(hdr, "name"),
		         on ? "on" : "off", a, since ? b : "");
	} else if (!strcmp(name, "step_failed")) {
		snprintf(body, sizeof body, "step failed: %s; the run is paused",
		         schema_str(hdr, "message"));
	} else if (!strcmp(name, "shutting_down")) {
		snprintf(body, sizeof body, "steerd is shutting down (%s)", schema_str(hdr, "reason"));
	} else {
		generic(name, hdr, body, sizeof body);
	}
	snprintf(buf, len, "[step %lld] %s", json_integer_value(json_object_get(hdr, "step")), body);
	return true;
}
