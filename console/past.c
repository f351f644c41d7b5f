/* SPDX-License-Identifier: GPL-3.0-or-later */
/* past.c — the daemon's history of a run, fetched and checked (see past.h). */
#include "past.h"

#include <stdlib.h>
#include <string.h>

/* Frame i of the reply as elements of 8 bytes, checked against its description. */
static void *take_frame(console *c, past *p, size_t i, const char *dtype, size_t cols)
{
	json_t *desc = json_array_get(json_object_get(p->reply, "frames"), i);
	json_t *shape = json_object_get(desc, "shape");
	size_t want = p->points * cols * 8;
	if (i >= (size_t)c->n_reply_frames || strcmp(schema_str(desc, "dtype"), dtype) != 0 ||
	    json_integer_value(json_array_get(shape, 0)) != (json_int_t)p->points ||
	    c->reply_frames[i].len != want)
		return NULL;
	void *data = c->reply_frames[i].data;
	c->reply_frames[i].data = NULL; /* now ours */
	return data;
}

int past_fetch(console *c, const char *const *names, size_t n_names, json_t *body, past *p)
{
	memset(p, 0, sizeof *p);
	if (n_names == 0 || n_names > PAST_MAX_NAMES) {
		json_decref(body);
		return con_error(c, "history: 1 to %d names", PAST_MAX_NAMES);
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n_names; i++)
		json_array_append_new(list, json_string(names[i]));
	json_object_set_new(body, "names", list);
	if (con_call(c, "history", body, &p->reply) < 0)
		return -1;
	p->points = (size_t)json_integer_value(json_object_get(p->reply, "points"));
	p->n_names = n_names;
	p->n_stats = json_array_size(json_object_get(p->reply, "stats"));
	p->step = take_frame(c, p, 0, "<u8", 1);
	p->seq = take_frame(c, p, 1, "<u8", 1);
	p->count = take_frame(c, p, 2, "<u8", 1);
	bool ok = p->step && p->seq && p->count && p->n_stats > 0;
	for (size_t k = 0; ok && k < n_names; k++)
		ok = (p->values[k] = take_frame(c, p, 3 + k, "<f8", p->n_stats)) != NULL;
	con_free_frames(c);
	if (!ok) {
		past_free(p);
		return con_error(c, "history: the reply's frames do not match their description");
	}
	return 0;
}

void past_free(past *p)
{
	free(p->step);
	free(p->seq);
	free(p->count);
	for (size_t k = 0; k < PAST_MAX_NAMES; k++)
		free(p->values[k]);
	json_decref(p->reply);
	memset(p, 0, sizeof *p);
}

static void num(const json_t *v, char *buf, size_t len)
{
	fmt_value(v, buf, len);
}

void past_marker_text(const json_t *e, char *buf, size_t len)
{
	char a[64], b[64];
	const char *who = schema_str(e, "client");
	const char *search = schema_str(e, "search");
	if (json_object_get(e, "rewind")) {
		num(json_object_get(e, "to_step"), a, sizeof a);
		snprintf(buf, len, "rewind %s -> step %s (%s)", schema_str(e, "rewind"), a, who);
	} else if (json_object_get(e, "ramp")) {
		json_t *d = json_object_get(e, "detail");
		num(json_object_get(d, "from"), a, sizeof a);
		num(json_object_get(d, "to"), b, sizeof b);
		snprintf(buf, len, "ramp %s %s -> %s (%s)", schema_str(e, "ramp"), a, b, who);
	} else if (search[0] && !json_object_get(e, "old")) {
		num(json_object_get(e, "result"), a, sizeof a);
		snprintf(buf, len, "search %s %s%s%s (%s)", schema_str(e, "knob"), search,
		         json_object_get(e, "result") ? " at " : "",
		         json_object_get(e, "result") ? a : "", who);
	} else if (json_object_get(e, "knob")) {
		num(json_object_get(e, "old"), a, sizeof a);
		num(json_object_get(e, "new"), b, sizeof b);
		snprintf(buf, len, "%s%s%s %s %s -> %s (%s)", search[0] ? "search " : "set",
		         search[0] ? search : "", "", schema_str(e, "knob"), a, b, who);
	} else if (json_object_get(e, "dropped_older_entries")) {
		snprintf(buf, len, "older journal entries dropped");
	} else {
		char *text = json_dumps(e, JSON_COMPACT);
		snprintf(buf, len, "%s", text ? text : "?");
		free(text);
	}
}
