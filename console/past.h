/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * past.h — the daemon's history of a run (`history` command) as the console
 * uses it: the points' arrays taken from the reply's binary frames (checked
 * against the frames' descriptions), the markers and stretches, and a line
 * of text for a marker.
 */
#ifndef CONSOLE_PAST_H
#define CONSOLE_PAST_H

#include <stdint.h>

#include "console.h"

#define PAST_MAX_NAMES 16

typedef struct past {
	size_t points, n_names, n_stats;
	uint64_t *step, *seq, *count;    /* [points] */
	double *values[PAST_MAX_NAMES];  /* per name: [points][n_stats] */
	json_t *reply;                   /* the body: markers, stretches, ... */
} past;

/* `history` of names with the other arguments in body (stolen). 0, or -1 reported. */
int past_fetch(console *c, const char *const *names, size_t n_names, json_t *body, past *p);
void past_free(past *p);

/* "set injected_current 1000 -> 1500 (alice)", "rewind before -> step 8000 (bob)", ... */
void past_marker_text(const json_t *entry, char *buf, size_t len);

#endif
