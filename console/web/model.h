/* SPDX-License-Identifier: MIT */
/*
 * model.h — the newest state of the run as steer-web knows it: what the
 * upstream thread writes (upstream.h) and each browser's frame is made of
 * (server.h), behind one mutex.
 *
 * It holds only the newest of each thing (the scalars, each array, the
 * state and knob values) plus a ring of recent events, so a browser that
 * falls behind skips to the newest frame instead of queueing.
 */
#ifndef STEER_WEB_MODEL_H
#define STEER_WEB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MODEL_EVENT_RING 512 /* recent events kept for browsers that lag */

typedef struct model model;

/* A model starting from steerd's `hello` (state, step, knobs, heartbeat period). */
model *model_new(json_t *hello);
void model_free(model **m);
/* Starts again from a new steerd's `hello`: the old run's values are gone (the events stay). */
void model_reset(model *m, json_t *hello);

/* A stream message: its topic, header, and float64 data (scalars, array.NAME). */
void model_stream(model *m, const char *topic, json_t *hdr, const double *d, size_t nd);
/* Replies to steer-web's own polls. */
void model_status(model *m, json_t *body);
void model_snapshot(model *m, json_t *body);

/* Grows whenever anything a frame shows changes. */
uint64_t model_version(model *m);
/* The version of the newest array (a frame needs arrays when it grew). */
uint64_t model_arrays_version(model *m);

/*
 * The state part of a frame, as JSON: {"connected", "state", "step", "time",
 * "rate", "steps_left", "ramps", "knobs", "scalars": {NAME: value},
 * "arrays": {NAME: {"step", "values"}} (only when with_arrays), "version"}.
 * Arrays longer than max_points are thinned to at most max_points.
 */
json_t *model_frame(model *m, bool with_arrays, size_t max_points);

/*
 * Events from index *cursor on (at most max): a JSON array of
 * {"topic", ...header}. *cursor moves past them; *lost counts those that
 * had already left the ring.
 */
json_t *model_events(model *m, uint64_t *cursor, size_t max, uint64_t *lost);
/* The index the next event will have (a new browser starts near there). */
uint64_t model_event_head(model *m);

/* A JSON number, or null for what JSON cannot hold (NaN, Inf). */
json_t *model_number(double v);

#endif
