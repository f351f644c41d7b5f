/* SPDX-License-Identifier: MIT */
/* history_page.c — steerd's `history` reply made into a page's message: see history_page.h. */
#include <stdint.h>
#include <string.h>

#include "history_page.h"
#include "model.h"

/* Element i of a frame: ZeroMQ gives no alignment, so read by copying. */
static uint64_t u64_at(const void *base, size_t i)
{
	uint64_t v;
	memcpy(&v, (const char *)base + 8 * i, sizeof v);
	return v;
}

static double f64_at(const void *base, size_t i)
{
	double v;
	memcpy(&v, (const char *)base + 8 * i, sizeof v);
	return v;
}

/* The little-endian array of frame i when it holds exactly n elements of 8 bytes, else NULL. */
static const void *frame_of(zmq_msg_t *frames, int n_frames, int i, size_t n)
{
	if (i < 0 || i >= n_frames || zmq_msg_size(&frames[i]) != n * 8)
		return NULL;
	return zmq_msg_data(&frames[i]);
}


/*
 * A `history` reply as a page wants it: the points of the run's current
 * stretch (earlier stretches were left by a rewind or a restart: their steps
 * would overlap), each name's means, and the steering markers made in it.
 */
json_t *history_page_message(json_t *hdr, json_t *body, zmq_msg_t *frames, int n_frames)
{
	if (!json_is_true(json_object_get(hdr, "ok")))
		return json_pack("{s:s, s:b, s:O}", "type", "history", "ok", 0, "body", body);
	size_t points = (size_t)json_integer_value(json_object_get(body, "points"));
	json_t *stretches = json_object_get(body, "stretches");
	json_t *last = json_array_get(stretches, json_array_size(stretches) - 1);
	uint64_t first_seq = (uint64_t)json_integer_value(json_object_get(last, "first_seq"));
	const void *step = NULL, *seq = NULL;
	json_t *columns = json_object(); /* name: frame index */
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(body, "frames"), i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name"));
		if (!name)
			continue;
		/* step, seq, count come first; then the names (a diagnostic may be called "step") */
		if (i == 0 && !strcmp(name, "step"))
			step = frame_of(frames, n_frames, (int)i, points);
		else if (i == 1 && !strcmp(name, "seq"))
			seq = frame_of(frames, n_frames, (int)i, points);
		else if (i >= 3 && frame_of(frames, n_frames, (int)i, points))
			json_object_set_new(columns, name, json_integer((json_int_t)i)); /* stats: [mean] */
	}
	if (!step || !seq) {
		json_decref(columns);
		return json_pack("{s:s, s:b}", "type", "history", "ok", 0);
	}
	json_t *steps = json_array(), *series = json_object();
	const char *name;
	json_t *col;
	json_object_foreach(columns, name, col)
	{
		const void *v = frame_of(frames, n_frames, (int)json_integer_value(col), points);
		json_t *a = json_array();
		for (size_t p = 0; p < points; p++)
			if (u64_at(seq, p) >= first_seq)
				json_array_append_new(a, model_number(f64_at(v, p)));
		json_object_set_new(series, name, a);
	}
	for (size_t p = 0; p < points; p++)
		if (u64_at(seq, p) >= first_seq)
			json_array_append_new(steps, json_integer((json_int_t)u64_at(step, p)));
	json_t *markers = json_array();
	json_t *m;
	json_array_foreach(json_object_get(body, "markers"), i, m)
	{
		if ((uint64_t)json_integer_value(json_object_get(m, "seq")) >= first_seq)
			json_array_append(markers, m);
	}
	json_decref(columns);
	return json_pack("{s:s, s:b, s:o, s:o, s:o}", "type", "history", "ok", 1, "steps", steps,
	                 "series", series, "markers", markers);
}

