/* SPDX-License-Identifier: MIT */
/*
 * search.h — find where a condition on the run starts (or stops) holding as
 * a knob moves: a driver of the run (run.h) that bisects with probes held
 * on live states. See search.c and PROTOCOL.md, `search`.
 */
#ifndef STEERD_SEARCH_H
#define STEERD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "change.h"

/* The arguments of `search`, checked on the control thread. */
typedef struct search_args {
	size_t knob;
	double from, to, tol;
	uint64_t hold;         /* steps; 0 when hold_time is given or by default */
	double hold_time;      /* s; converted at the start with the time per step; 0: not given */
	bool down;             /* direction down: from a state where the condition holds */
	uint64_t max_steps;
	bool cond_is_knob;     /* condition on a knob, else on a scalar */
	size_t cond_index;     /* knob index or scalar slot */
	int cond_op;           /* SEARCH_NONZERO or one of == != < <= > >= (SEARCH_EQ...) */
	double cond_value;
	char cond_text[128];
} search_args;

/* The largest hold of a probe, in steps (hold, hold_time, or the default). */
#define SEARCH_MAX_HOLD ((uint64_t)1 << 40)
/* The default hold: this many transit times (the adapter's transit_time). */
#define SEARCH_HOLD_TRANSITS 50.0

enum { SEARCH_NONZERO, SEARCH_EQ, SEARCH_NE, SEARCH_LT, SEARCH_LE, SEARCH_GT, SEARCH_GE };

/* Start the search of ch (its args: a search_args; deferred: answered when
 * it ends), on the simulation thread. */
void search_start(run *r, change *ch);

#endif
