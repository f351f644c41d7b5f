/* SPDX-License-Identifier: MIT */
/*
 * suggest.h — "did you mean …?": the closest known name to a mistyped one, by
 * edit distance, when it is close enough to be a likely typo. Shared by the
 * config reader (keys, knobs, choices), the control commands (unknown knob or
 * diagnostic) and steer-console (which links libsteerd-core).
 */
#ifndef STEERD_SUGGEST_H
#define STEERD_SUGGEST_H

#include <stddef.h>

/* Candidates one at a time (names kept in arrays of structs, JSON lists). */
typedef struct suggest {
	const char *typed;
	const char *best;
	size_t best_distance;
} suggest;

void suggest_init(suggest *sg, const char *typed);
void suggest_consider(suggest *sg, const char *name);
/* The closest name considered, or NULL when none is close enough. */
const char *suggest_result(const suggest *sg);

/* The same over an array of n names. */
const char *suggest_name(const char *typed, const char *const *names, size_t n);

#endif
