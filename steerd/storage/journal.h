/* SPDX-License-Identifier: MIT */
/*
 * journal.h — the steering journal: every change made to the run (step,
 * client, knob, old, new), saved with each checkpoint.
 *
 * Kept as compact JSON text, one entry per line, about 100 bytes an entry
 * (as jansson objects an entry costs ~1.5 KB), so a run steered for days
 * stays small. Past JOURNAL_MAX_BYTES the oldest quarter is dropped and a
 * marker entry counts what was dropped.
 */
#ifndef STEERD_JOURNAL_H
#define STEERD_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAX_BYTES ((size_t)64 << 20)

typedef struct journal {
	char *text;      /* entries separated by '\n' (compact JSON has no raw newline) */
	size_t len, cap;
	uint64_t dropped;
} journal;

/* Append an entry (an object; consumed). 0 or -1 (out of memory). */
int journal_add(journal *j, json_t *entry);

/* The journal as one JSON array text, "[...]"; free() it. NULL if out of memory. */
char *journal_json(const journal *j);

/* Replace the contents with the entries of a JSON array (e.g. from a checkpoint). */
int journal_load(journal *j, const json_t *entries);

void journal_free(journal *j);

#endif
