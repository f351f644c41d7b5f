/* SPDX-License-Identifier: MIT */
/*
 * own_scalars.h — scalar diagnostics of steerd itself, published after the
 * adapter's scalars (the last OWN_N_SCALARS slots of the mirror, of
 * `scalars` on the stream, of `get`, `snapshot`, `hello` and `history`),
 * like any scalar.
 *
 * steerd_boundary_fraction: the fraction of wall time steerd spent at a
 * boundary (applying changes, reading and publishing diagnostics, keeping
 * the history, answering writes, checkpoints) rather than stepping: at
 * boundary S, b / (b + t) with b the time spent at boundary S-1 (from the end
 * of step S-1 to the start of step S, waits for a pause or a pace left out)
 * and t the time of step S. What steering costs the run.
 */
#ifndef STEERD_OWN_SCALARS_H
#define STEERD_OWN_SCALARS_H

#include <stddef.h>

#include "steerd_adapter.h"

enum { OWN_BOUNDARY_FRACTION, OWN_N_SCALARS };

extern const sa_diag own_scalars[OWN_N_SCALARS];

/* The index among own_scalars of the scalar called name, or -1. */
int own_scalar_index(const char *name);

/* b / (b + t), 0 when both are 0. */
double own_boundary_fraction(double boundary_s, double step_s);

#endif
