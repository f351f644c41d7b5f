/* SPDX-License-Identifier: MIT */
/* model.c — the newest state of the run, for browsers' frames: see model.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

#define MAX_ARRAYS 16

typedef struct array_slot {
	char name[128];
	double *v;
	size_t n;
	long long step;
	uint64_t version;
} array_slot;

struct model {
	pthread_mutex_t mu;
	uint64_t version, arrays_version;
	char state[16];
	long long step, steps_left;
	double time, rate;
	int ramps;
	long long last_heartbeat_ms;
	long heartbeat_ms;
	json_t *knobs; /* {name: value} */
	json_t *scalar_names;
	double *scalars;
	size_t n_scalars;
	array_slot arrays[MAX_ARRAYS];
	json_t *ring[MODEL_EVENT_RING];
	uint64_t ring_next;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the model knows of a run from its `hello` alone (under mu, or before it is shared). */
static void from_hello(model *m, json_t *hello)
{
	const char *st = json_string_value(json_object_get(hello, "state"));
	snprintf(m->state, sizeof m->state, "%s", st ? st : "?");
	m->step = json_integer_value(json_object_get(hello, "step"));
	m->heartbeat_ms =
		(long)json_integer_value(json_object_get(json_object_get(hello, "stream"), "heartbeat_ms"));
	m->last_heartbeat_ms = now_ms();
	json_decref(m->knobs);
	m->knobs = json_object();
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(hello, "knobs"), i, k)
	{
		const char *name = json_string_value(json_object_get(k, "name"));
		if (name)
			json_object_set(m->knobs, name, json_object_get(k, "value"));
	}
}

model *model_new(json_t *hello)
{
	model *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	from_hello(m, hello);
	return m;
}

void model_reset(model *m, json_t *hello)
{
	pthread_mutex_lock(&m->mu);
	from_hello(m, hello);
	m->time = m->rate = 0;
	m->steps_left = 0;
	m->ramps = 0;
	m->n_scalars = 0;
	json_decref(m->scalar_names);
	m->scalar_names = NULL;
	for (size_t i = 0; i < MAX_ARRAYS; i++) {
		free(m->arrays[i].v);
		memset(&m->arrays[i], 0, sizeof m->arrays[i]);
	}
	m->version++;
	m->arrays_version++;
	pthread_mutex_unlock(&m->mu);
}

void model_free(model **mp)
{
	model *m = *mp;
	if (!m)
		return;
	for (size_t i = 0; i < MODEL_EVENT_RING; i++)
		json_decref(m->ring[i]);
	for (size_t i = 0; i < MAX_ARRAYS; i++)
		free(m->arrays[i].v);
	free(m->scalars);
	json_decref(m->scalar_names);
	json_decref(m->knobs);
	pthread_mutex_destroy(&m->mu);
	free(m);
	*mp = NULL;
}

static array_slot *array_for(model *up, const char *name)
{
	for (size_t i = 0; i < MAX_ARRAYS; i++)
		if (!strcmp(up->arrays[i].name, name))
			return &up->arrays[i];
	for (size_t i = 0; i < MAX_ARRAYS; i++)
		if (!up->arrays[i].name[0]) {
			snprintf(up->arrays[i].name, sizeof up->arrays[i].name, "%s", name);
			return &up->arrays[i];
		}
	return NULL;
}

static void push_event(model *up, const char *topic, json_t *hdr)
{
	json_t *ev = json_deep_copy(hdr);
	json_object_set_new(ev, "topic", json_string(topic));
	size_t slot = up->ring_next % MODEL_EVENT_RING;
	json_decref(up->ring[slot]);
	up->ring[slot] = ev;
	up->ring_next++;
}

/* What an event tells the model at once (the 500 ms polls fill in the rest). */
static void apply_event(model *up, const char *name, json_t *hdr)
{
	if (!strcmp(name, "knob_changed")) {
		const char *knob = json_string_value(json_object_get(hdr, "knob"));
		if (knob && up->knobs)
			json_object_set(up->knobs, knob, json_object_get(hdr, "new"));
	} else if (!strcmp(name, "ramp_finished") || !strcmp(name, "ramp_cancelled") ||
	           !strcmp(name, "ramp_failed")) {
		const char *knob = json_string_value(json_object_get(hdr, "knob"));
		if (knob && up->knobs)
			json_object_set(up->knobs, knob, json_object_get(hdr, "value"));
	} else if (!strcmp(name, "paused")) {
		snprintf(up->state, sizeof up->state, "paused");
	} else if (!strcmp(name, "resumed")) {
		snprintf(up->state, sizeof up->state, "running");
	}
}

void model_stream(model *up, const char *topic, json_t *hdr, const double *d, size_t nd)
{
	json_int_t step = json_integer_value(json_object_get(hdr, "step"));
	double t = json_number_value(json_object_get(hdr, "time"));

	pthread_mutex_lock(&up->mu);
	if (!strcmp(topic, "scalars")) {
		json_t *names = json_object_get(hdr, "names");
		if (json_is_array(names) && json_array_size(names) == nd) {
			if (nd != up->n_scalars) {
				double *v = realloc(up->scalars, (nd ? nd : 1) * sizeof *v);
				if (v) {
					up->scalars = v;
					up->n_scalars = nd;
				}
			}
			if (nd == up->n_scalars) {
				if (!up->scalar_names || !json_equal(up->scalar_names, names)) {
					json_decref(up->scalar_names);
					up->scalar_names = json_incref(names);
				}
				memcpy(up->scalars, d, nd * sizeof *d);
			}
		}
		up->step = step;
		up->time = t;
		up->version++;
	} else if (!strncmp(topic, "array.", 6)) {
		array_slot *a = array_for(up, topic + 6);
		if (a) {
			if (a->n != nd) {
				double *v = realloc(a->v, (nd ? nd : 1) * sizeof *v);
				if (v) {
					a->v = v;
					a->n = nd;
				}
			}
			if (a->n == nd) {
				memcpy(a->v, d, nd * sizeof *d);
				a->step = step;
				a->version = ++up->arrays_version;
			}
		}
		up->version++;
	} else if (!strncmp(topic, "event.", 6)) {
		apply_event(up, topic + 6, hdr);
		push_event(up, topic, hdr);
		up->version++;
	} else if (!strcmp(topic, "heartbeat")) {
		const char *st = json_string_value(json_object_get(hdr, "state"));
		if (st)
			snprintf(up->state, sizeof up->state, "%s", st);
		up->last_heartbeat_ms = now_ms();
		up->version++;
	}
	pthread_mutex_unlock(&up->mu);
}

static void on_poll(model *up, const char *what, json_t *body)
{
	pthread_mutex_lock(&up->mu);
	if (!strcmp(what, "poll-status")) {
		const char *st = json_string_value(json_object_get(body, "state"));
		if (st)
			snprintf(up->state, sizeof up->state, "%s", st);
		up->rate = json_number_value(json_object_get(body, "steps_per_second"));
		up->steps_left = json_integer_value(json_object_get(body, "steps_left"));
		up->ramps = (int)json_integer_value(json_object_get(body, "ramps"));
		json_int_t step = json_integer_value(json_object_get(body, "step"));
		if (step > up->step)
			up->step = step;
	} else if (!strcmp(what, "poll-snapshot")) {
		json_t *k = json_object_get(body, "knobs");
		if (json_is_object(k)) {
			json_decref(up->knobs);
			up->knobs = json_deep_copy(k);
		}
	}
	up->version++;
	pthread_mutex_unlock(&up->mu);
}

void model_status(model *m, json_t *body)
{
	on_poll(m, "poll-status", body);
}

void model_snapshot(model *m, json_t *body)
{
	on_poll(m, "poll-snapshot", body);
}

uint64_t model_version(model *up)
{
	pthread_mutex_lock(&up->mu);
	uint64_t v = up->version;
	pthread_mutex_unlock(&up->mu);
	return v;
}

uint64_t model_arrays_version(model *up)
{
	pthread_mutex_lock(&up->mu);
	uint64_t v = up->arrays_version;
	pthread_mutex_unlock(&up->mu);
	return v;
}

json_t *model_number(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *thinned(const double *v, size_t n, size_t max_points)
{
	json_t *a = json_array();
	size_t stride = max_points && n > max_points ? (n + max_points - 1) / max_points : 1;
	for (size_t i = 0; i < n; i += stride)
		json_array_append_new(a, model_number(v[i]));
	return a;
}

json_t *model_frame(model *up, bool with_arrays, size_t max_points)
{
	json_t *f = json_object();
	pthread_mutex_lock(&up->mu);
	long silence = up->heartbeat_ms > 0 ? 3 * up->heartbeat_ms + 1000 : 5000;
	json_object_set_new(f, "connected", json_boolean(now_ms() - up->last_heartbeat_ms < silence));
	json_object_set_new(f, "state", json_string(up->state));
	json_object_set_new(f, "step", json_integer(up->step));
	json_object_set_new(f, "time", model_number(up->time));
	json_object_set_new(f, "rate", model_number(up->rate));
	json_object_set_new(f, "steps_left", json_integer(up->steps_left));
	json_object_set_new(f, "ramps", json_integer(up->ramps));
	json_object_set_new(f, "version", json_integer((json_int_t)up->version));
	json_object_set_new(f, "knobs", json_deep_copy(up->knobs));
	json_t *sc = json_object();
	for (size_t i = 0; i < up->n_scalars && up->scalar_names; i++) {
		const char *name = json_string_value(json_array_get(up->scalar_names, i));
		if (name)
			json_object_set_new(sc, name, model_number(up->scalars[i]));
	}
	json_object_set_new(f, "scalars", sc);
	if (with_arrays) {
		json_t *arr = json_object();
		for (size_t i = 0; i < MAX_ARRAYS; i++) {
			array_slot *a = &up->arrays[i];
			if (!a->name[0] || !a->v)
				continue;
			json_object_set_new(arr, a->name,
			                    json_pack("{s:I, s:o}", "step", (json_int_t)a->step, "values",
			                              thinned(a->v, a->n, max_points)));
		}
		json_object_set_new(f, "arrays", arr);
	}
	pthread_mutex_unlock(&up->mu);
	return f;
}

uint64_t model_event_head(model *up)
{
	pthread_mutex_lock(&up->mu);
	uint64_t h = up->ring_next;
	pthread_mutex_unlock(&up->mu);
	return h;
}

json_t *model_events(model *up, uint64_t *cursor, size_t max, uint64_t *lost)
{
	json_t *a = json_array();
	pthread_mutex_lock(&up->mu);
	uint64_t oldest = up->ring_next > MODEL_EVENT_RING ? up->ring_next - MODEL_EVENT_RING : 0;
	if (*cursor < oldest) {
		*lost += oldest - *cursor;
		*cursor = oldest;
	}
	while (*cursor < up->ring_next && json_array_size(a) < max) {
		json_array_append(a, up->ring[*cursor % MODEL_EVENT_RING]);
		(*cursor)++;
	}
	pthread_mutex_unlock(&up->mu);
	return a;
}
