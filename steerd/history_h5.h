/* SPDX-License-Identifier: MIT */
/*
 * history_h5.h — the run's past in a checkpoint, /steerd/history:
 *   attributes format_version (1), next_seq, max_bytes, levels,
 *               bucket_samples, n_series
 *   names       JSON text: the series' names, knobs then scalars
 *   stretches   JSON text: [{id, began, first_seq, last_seq, first_step,
 *               last_step, abandoned}, ...] oldest first
 *   markers     JSON text: [{seq, step, entry}, ...] oldest first
 *   level<L>/   step, seq, stretch (uint64[n]), count (uint64[n], L >= 1),
 *               value (level 0) or min, mean, max (float64[n_series * n]:
 *               series by series, each oldest first); attribute capacity
 * Every array carries its checksum (h5io). Read as untrusted: sizes are
 * bounded before anything is allocated, and rows must be consistent.
 */
#ifndef STEERD_HISTORY_H5_H
#define STEERD_HISTORY_H5_H

#include <hdf5.h>

#include "history.h"

/* Write h into the group g (the checkpoint's /steerd). 0 or -1. */
int history_h5_save(history *h, hid_t g);

/*
 * Read /steerd/history from g into *out (NULL when the file has none: a
 * checkpoint of steerd 0.1). 0, or -1 with what is wrong in why.
 */
int history_h5_load(hid_t g, history **out, char *why, size_t whylen);

#endif
