/* SPDX-License-Identifier: MIT */
/* suggest.c — the closest known name to a mistyped one (see suggest.h). */
#include <stdint.h>
#include <string.h>

#include "suggest.h"

/* Levenshtein distance; names past 64 bytes are never suggested. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

void suggest_init(suggest *sg, const char *typed)
{
	*sg = (suggest){ .typed = typed, .best = NULL, .best_distance = SIZE_MAX };
}

void suggest_consider(suggest *sg, const char *name)
{
	if (!name)
		return;
	size_t d = edit_distance(sg->typed, name);
	if (d < sg->best_distance) {
		sg->best_distance = d;
		sg->best = name;
	}
}

const char *suggest_result(const suggest *sg)
{
	/* Close enough to be a typo: more slack for longer names. */
	size_t len = strlen(sg->typed);
	size_t limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
	return sg->best_distance <= limit ? sg->best : NULL;
}

const char *suggest_name(const char *typed, const char *const *names, size_t n)
{
	suggest sg;
	suggest_init(&sg, typed);
	for (size_t i = 0; i < n; i++)
		suggest_consider(&sg, names[i]);
	return suggest_result(&sg);
}
