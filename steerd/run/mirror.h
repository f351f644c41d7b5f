/* SPDX-License-Identifier: MIT */
/*
 * mirror.h — the run's state as last published by the simulation thread,
 * for the control thread to read without ever waiting on a step.
 *
 * The simulation thread copies its state in after every step boundary; the
 * control thread copies it out. A sequence lock: the writer never waits, so
 * a burst of requests never slows the simulation, and a long step never
 * delays a read. One writer thread and one reader thread.
 */
#ifndef STEERD_MIRROR_H
#define STEERD_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "ramp.h"

typedef enum { RUN_RUNNING, RUN_PAUSED, RUN_STOPPING } run_state;

/* Name of a state on the wire: "running", "paused", "stopping". */
const char *run_state_name(run_state s);

typedef struct mirror_state {
	run_state state;
	uint64_t step;           /* steps done */
	double time;             /* simulated time (s) */
	uint64_t seq;            /* sequence number of the last stream message */
	uint64_t steps_left;     /* while paused: steps still to run from a `step` command */
	bool stepping;           /* steps are being computed: running, steps_left, or a search */
	double steps_per_second; /* recent wall-clock rate */
	sa_value *knobs;         /* n_knobs current values */
	double *scalars;         /* n_scalars latest rank-0 diagnostics */
	ramp *ramps;             /* active ramps, n_knobs room */
	size_t n_ramps;
} mirror_state;

typedef struct mirror mirror;

/* Room for the adapter's knobs and n_scalars scalars, plus steerd's own
 * (own_scalars.h), which come last. NULL on allocation failure. */
mirror *mirror_new(size_t n_knobs, size_t n_scalars);
void mirror_destroy(mirror **mp);

/* A state with arrays sized for this mirror (free with mirror_state_free). */
int mirror_state_init(const mirror *m, mirror_state *s);
void mirror_state_free(mirror_state *s);

/* Copy src in (simulation thread) / the current state out (any thread). */
void mirror_put(mirror *m, const mirror_state *src);
void mirror_get(mirror *m, mirror_state *dst);

/* The slot of the rank-0 diagnostic (or steerd's own scalar) `name` among
 * the scalars: the adapter's in order, then steerd's own. -1 if none. */
int mirror_scalar_slot(const sa_adapter *sa, const char *name);

/* Number of scalars the mirror holds (steerd's own included). */
size_t mirror_n_scalars(const mirror *m);

/*
 * The run's history (history.h), for the control thread's `history`
 * command: set by the simulation thread before the control thread starts;
 * the history has its own lock. NULL: none.
 */
struct history;
void mirror_set_history(mirror *m, struct history *h);
struct history *mirror_history(mirror *m);

#endif
