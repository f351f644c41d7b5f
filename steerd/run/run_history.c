/* SPDX-License-Identifier: MIT */
/*
 * run_history.c — what the run hands its history (history.h): a sample of
 * every knob and scalar at each boundary, the journal's entries as markers,
 * and the jumps of state that start a stretch.
 */
#include "run_internal.h"

#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "own_scalars.h"

int run_history_init(run *r, char *err, size_t errlen)
{
	const sa_adapter *sa = r->sa;
	size_t n_scalars = mirror_n_scalars(r->mirror), n = sa->n_knobs + n_scalars;
	const char **names = calloc(n + 1, sizeof *names);
	r->history_values = calloc(n + 1, sizeof *r->history_values);
	if (!names || !r->history_values) {
		free(names);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t i = 0;
	for (size_t k = 0; k < sa->n_knobs; k++)
		names[i++] = sa->knobs[k].name;
	for (size_t d = 0; d < sa->n_diags && i < n; d++)
		if (sa->diags[d].rank == 0)
			names[i++] = sa->diags[d].name;
	for (size_t o = 0; o < OWN_N_SCALARS && i < n; o++)
		names[i++] = own_scalars[o].name;
	history_limits lim = { .max_bytes = r->cfg->history_max_bytes, .levels = r->cfg->history_levels,
	                       .bucket_samples = r->cfg->history_bucket_samples };
	r->history = history_new(&lim, i, names);
	free(names);
	if (!r->history) {
		snprintf(err, errlen, "out of memory for the history (history.max_bytes %llu)",
		         (unsigned long long)lim.max_bytes);
		return -1;
	}
	mirror_set_history(r->mirror, r->history);
	return 0;
}

void run_history_record(run *r)
{
	const sa_adapter *sa = r->sa;
	double *v = r->history_values;
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = adapter_value_as_double(&sa->knobs[k], r->pub.knobs[k]);
	memcpy(v + sa->n_knobs, r->pub.scalars, mirror_n_scalars(r->mirror) * sizeof *v);
	history_record(r->history, r->pub.step, v);
}

void run_history_marker(run *r, const json_t *entry)
{
	if (!r->history || !entry)
		return;
	const json_t *s = json_object_get(entry, "step");
	char *text = json_dumps(entry, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text)
		history_marker(r->history, json_is_integer(s) ? (uint64_t)json_integer_value(s) : r->pub.step,
		               text);
	free(text);
	/* The state went back: what follows is another stretch of the past. */
	const char *search = json_string_value(json_object_get(entry, "search"));
	if (json_object_get(entry, "rewind"))
		history_jump(r->history, "rewind");
	else if (search && strcmp(search, "restore") == 0)
		history_jump(r->history, "search");
}

void run_history_free(run *r)
{
	mirror_set_history(r->mirror, NULL);
	history_destroy(&r->history);
	free(r->history_values);
	r->history_values = NULL;
}
