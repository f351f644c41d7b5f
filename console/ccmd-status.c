/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-status.c — `status`: state, step, time and speed of the run. What a
 * person reads: steps a `step` command queued show in the state ("stepping,
 * N left"), and the fields kept for programs (`seq`) are left out; --json
 * prints the whole reply.
 */
#include <string.h>

#include "ccmd.h"
#include "table.h"

/* Shown as part of the state row, or not at all (the stream sequence number). */
static bool folded(const char *key)
{
	return !strcmp(key, "stepping") || !strcmp(key, "steps_left") || !strcmp(key, "seq");
}

/* "running", "paused", "stepping, 1994625 left (then paused)", "searching (then paused)". */
static void state_text(const json_t *r, char *buf, size_t len)
{
	const char *st = json_string_value(json_object_get(r, "state"));
	json_int_t left = json_integer_value(json_object_get(r, "steps_left"));
	bool stepping = json_is_true(json_object_get(r, "stepping"));
	if (st && !strcmp(st, "paused") && left > 0)
		snprintf(buf, len, "stepping, %lld left (then paused)", (long long)left);
	else if (st && !strcmp(st, "paused") && stepping)
		snprintf(buf, len, "searching (then paused)");
	else
		snprintf(buf, len, "%s", st ? st : "?");
}

static int status_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv, (void)rest;
	if (argc != 1)
		return ccmd_usage(c, &ccmd_status_entry);
	json_t *r;
	if (ccmd_request(c, "status", NULL, &r) < 0)
		return -1;
	const char *st = json_string_value(json_object_get(r, "state"));
	if (st)
		snprintf(c->state, sizeof c->state, "%s", st);
	if (json_is_integer(json_object_get(r, "step")))
		c->step = (unsigned long long)json_integer_value(json_object_get(r, "step"));
	if (!c->json) {
		table *t = table_new("ll");
		const char *key;
		json_t *v;
		/* Every key but the folded ones, so fields a newer daemon adds show up too. */
		json_object_foreach(r, key, v) {
			char buf[160];
			if (folded(key))
				continue;
			if (!strcmp(key, "state")) {
				state_text(r, buf, sizeof buf);
			} else {
				const char *unit = !strcmp(key, "time") ? "s"
				                   : !strcmp(key, "steps_per_second") ? "steps/s" : "";
				fmt_value_unit(v, unit, buf, sizeof buf);
			}
			table_row(t, key, buf);
		}
		table_print(t, stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_status_entry = {
	.name = "status",
	.daemon = "status",
	.usage = "",
	.summary = "state (running/paused, or stepping with the steps left), step, simulated time, "
	           "steps per second",
	.exec = status_exec,
};
