/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-history.c — `history NAME [points P] [from S0] [to S1]`: the run's
 * past of a knob or scalar from the daemon, as a table: one row per point
 * (mean, min and max of the samples it stands for), with the steering
 * markers and the start of each stretch (a rewind, a search going back, a
 * restart) in between.
 */
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "past.h"
#include "table.h"

#define DEFAULT_POINTS 20

static int parse(console *c, int argc, char **argv, json_t *body)
{
	for (int i = 2; i < argc; i += 2) {
		char *end;
		long long v = i + 1 < argc ? strtoll(argv[i + 1], &end, 10) : -1;
		const char *key = !strcmp(argv[i], "points") ? "max_points"
		                  : !strcmp(argv[i], "from") ? "from_step"
		                  : !strcmp(argv[i], "to")   ? "to_step"
		                                             : NULL;
		if (!key || i + 1 >= argc || *end || v < 0)
			return ccmd_usage(c, &ccmd_history_entry);
		json_object_set_new(body, key, json_integer(v));
	}
	return 0;
}

static void stretch_row(table *t, const json_t *s)
{
	char step[32], text[128];
	snprintf(step, sizeof step, "%lld", (long long)json_integer_value(json_object_get(s, "first_step")));
	snprintf(text, sizeof text, "-- from here: %s%s", schema_str(s, "began"),
	         json_is_true(json_object_get(s, "abandoned")) ? " (later abandoned)" : "");
	table_row(t, step, "", "", text, "", "");
}

static int history_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 2 || argc % 2)
		return ccmd_usage(c, &ccmd_history_entry);
	json_t *body = json_pack("{s:I, s:[sss]}", "max_points", (json_int_t)DEFAULT_POINTS, "stats",
	                         "mean", "min", "max");
	if (parse(c, argc, argv, body) < 0) {
		json_decref(body);
		return -1;
	}
	past p;
	const char *name = argv[1];
	if (past_fetch(c, &name, 1, body, &p) < 0)
		return -1;
	if (c->json) {
		con_json_line(p.reply);
		past_free(&p);
		return 0;
	}
	char head[96];
	snprintf(head, sizeof head, "%s [%s]", name, schema_unit(c, name));
	table *t = table_new("rrrlll");
	table_row(t, "step", "seq", "samples", head, "min", "max");
	json_t *markers = json_object_get(p.reply, "markers"), *stretches = json_object_get(p.reply, "stretches");
	size_t m = 0, s = 0, shown = (size_t)-1;
	for (size_t i = 0; i <= p.points; i++) {
		uint64_t first = i < p.points ? p.seq[i] - p.count[i] + 1 : UINT64_MAX;
		/* Markers made before this point's first sample, and a stretch it begins. */
		for (; m < json_array_size(markers); m++) {
			json_t *mk = json_array_get(markers, m);
			if ((uint64_t)json_integer_value(json_object_get(mk, "seq")) >= first)
				break;
			char step[32], text[256];
			snprintf(step, sizeof step, "%lld", (long long)json_integer_value(json_object_get(mk, "step")));
			past_marker_text(json_object_get(mk, "entry"), text + 3, sizeof text - 3);
			memcpy(text, "-- ", 3);
			table_row(t, step, "", "", text, "", "");
		}
		/* The stretch of this point, when it is another than the previous point's. */
		for (; i < p.points && s < json_array_size(stretches); s++) {
			json_t *st = json_array_get(stretches, s);
			if ((uint64_t)json_integer_value(json_object_get(st, "last_seq")) < p.seq[i])
				continue;
			if (s != shown && (i > 0 || strcmp(schema_str(st, "began"), "start") != 0))
				stretch_row(t, st);
			shown = s;
			break;
		}
		if (i == p.points)
			break;
		char step[32], seq[32], n[32], mean[48], lo[48], hi[48];
		const double *row = p.values[0] + 3 * i;
		snprintf(step, sizeof step, "%llu", (unsigned long long)p.step[i]);
		snprintf(seq, sizeof seq, "%llu", (unsigned long long)p.seq[i]);
		snprintf(n, sizeof n, "%llu", (unsigned long long)p.count[i]);
		fmt_num(row[0], mean, sizeof mean);
		fmt_num(row[1], lo, sizeof lo);
		fmt_num(row[2], hi, sizeof hi);
		table_row(t, step, seq, n, mean, p.count[i] > 1 ? lo : "", p.count[i] > 1 ? hi : "");
	}
	table_print(t, stdout);
	past_free(&p);
	return 0;
}

const ccmd_entry ccmd_history_entry = {
	.name = "history",
	.daemon = "history",
	.usage = "NAME [points P] [from STEP] [to STEP]   (default: 20 points over all that is kept)",
	.summary = "the run's past of a knob or scalar, from the daemon, with steering markers",
	.exec = history_exec,
	.complete = CC_NAMES,
};
