/* SPDX-License-Identifier: MIT */
/*
 * ramp.h — linear knob ramps, advanced at step boundaries.
 *
 * A ramp started at boundary s0 from value a to target b over n steps gives
 * the knob a + (b - a) * k / n at boundary s0 + k, and exactly b at s0 + n,
 * where it finishes. A rate r (knob units per step) means n = ceil(|b - a| / r).
 * Integer knobs take the value rounded to nearest.
 */
#ifndef STEERD_RAMP_H
#define STEERD_RAMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"

/* Longest ramp: step counts beyond 2^53 would lose exactness as doubles. */
#define RAMP_MAX_STEPS ((uint64_t)1 << 53)

typedef struct ramp {
	uint64_t id;         /* unique within the run, > 0 */
	size_t knob;         /* index into the adapter's knobs */
	double from, to;     /* start value and target */
	uint64_t start_step; /* boundary at which it started */
	uint64_t steps;      /* duration, >= 1 */
	char client[64];     /* who started it */
} ramp;

/* Steps needed at `rate` (> 0) units per step; at least 1, capped at 2^53. */
uint64_t ramp_steps_for_rate(double from, double to, double rate);

/* The knob's value at boundary `step` (clamped to the ramp's span). */
sa_value ramp_value_at(const ramp *r, const sa_knob *knob, uint64_t step);

/* True when the ramp has reached its target at boundary `step`. */
bool ramp_done_at(const ramp *r, uint64_t step);

/* Fraction done at `step`, in [0, 1]. */
double ramp_progress(const ramp *r, uint64_t step);

/* {"id", "knob", "from", "to", "start_step", "end_step", "progress", "client"}. */
json_t *ramp_to_json(const ramp *r, const sa_knob *knob, uint64_t step);

#endif
