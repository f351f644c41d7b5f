/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-watch.c — `watch NAME...`: scalar diagnostics (and knobs) live, one
 * line each with value, unit and a sparkline of the recent past, redrawn in
 * place. Values come from the `scalars` stream; knobs, which ramps move
 * without events, are asked for with `get` twice a second.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "view.h"

#define WATCH_MAX 16
#define WATCH_PERIOD_MS 200
#define KNOB_POLL_MS 500
#define HIST_MAX 512

typedef struct watch {
	int n;
	char **names;
	bool knob[WATCH_MAX];
	double cur[WATCH_MAX];
	double hist[WATCH_MAX][HIST_MAX];
	size_t hlen;
	int lines;           /* drawn last time, to move back over */
	int64_t next_get;
} watch;

static int find(watch *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->names[i], name))
			return i;
	return -1;
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *data, size_t n,
                      void *arg)
{
	(void)c;
	watch *w = arg;
	if (!strcmp(topic, "scalars")) {
		size_t i;
		json_t *name;
		json_array_foreach(json_object_get(hdr, "names"), i, name) {
			int k = i < n ? find(w, json_string_value(name)) : -1;
			if (k >= 0)
				w->cur[k] = data[i];
		}
	} else if (!strcmp(topic, "event.knob_changed")) {
		int k = find(w, schema_str(hdr, "knob"));
		if (k >= 0 && json_is_number(json_object_get(hdr, "new")))
			w->cur[k] = json_number_value(json_object_get(hdr, "new"));
	}
}

static void poll_knobs(console *c, watch *w)
{
	json_t *names = json_array(), *r;
	for (int i = 0; i < w->n; i++)
		if (w->knob[i])
			json_array_append_new(names, json_string(w->names[i]));
	if (json_array_size(names) == 0) {
		json_decref(names);
		return;
	}
	if (con_call(c, "get", json_pack("{s:o}", "names", names), &r) < 0)
		return; /* reported; the view goes on and tries again */
	for (int i = 0; i < w->n; i++) {
		json_t *v = json_object_get(json_object_get(r, "values"), w->names[i]);
		if (json_is_number(v))
			w->cur[i] = json_number_value(v);
	}
	json_decref(r);
}

static int draw(console *c, void *arg)
{
	watch *w = arg;
	int64_t now = con_now_ms();
	if (now >= w->next_get) {
		poll_knobs(c, w);
		w->next_get = now + KNOB_POLL_MS;
	}
	int cols, rows;
	view_size(&cols, &rows);
	int namew = 4;
	for (int i = 0; i < w->n; i++)
		namew = (int)fmax(namew, (double)strlen(w->names[i]));
	int unitw = 0;
	for (int i = 0; i < w->n; i++)
		unitw = (int)fmax(unitw, (double)strlen(schema_unit(c, w->names[i])));
	int sparkw = cols - namew - 14 - unitw - 4;
	if (sparkw < 0)
		sparkw = 0;
	if (sparkw > HIST_MAX)
		sparkw = HIST_MAX;
	/* One sample per redraw: the sparkline spans sparkw × 0.2 s. */
	if (w->hlen == HIST_MAX) {
		for (int i = 0; i < w->n; i++)
			memmove(w->hist[i], w->hist[i] + 1, (HIST_MAX - 1) * sizeof(double));
		w->hlen--;
	}
	for (int i = 0; i < w->n; i++)
		w->hist[i][w->hlen] = w->cur[i];
	w->hlen++;
	if (w->lines)
		printf("\033[%dA", w->lines);
	size_t shown = w->hlen < (size_t)sparkw ? w->hlen : (size_t)sparkw;
	for (int i = 0; i < w->n; i++) {
		char val[64], spark[HIST_MAX * 3 + 1];
		fmt_num(w->cur[i], val, sizeof val);
		view_spark(w->hist[i] + (w->hlen - shown), shown, spark, sizeof spark);
		printf("\r\033[K%-*s %12s %-*s  %s\n", namew, w->names[i], val, unitw,
		       schema_unit(c, w->names[i]), spark);
	}
	printf("\r\033[K%s, step %llu   %s\n", c->lost ? "no daemon" : c->state, c->step,
	       c->view_msg[0] ? c->view_msg : "(any key: back to the prompt)");
	w->lines = w->n + 1;
	return 0;
}

static int watch_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 2 || argc - 1 > WATCH_MAX)
		return ccmd_usage(c, &ccmd_watch_entry);
	if (view_check_tty(c, "watch") < 0)
		return -1;
	static watch w; /* large: its history */
	memset(&w, 0, sizeof w);
	w.n = argc - 1;
	w.names = argv + 1;
	for (int i = 0; i < w.n; i++) {
		w.cur[i] = NAN;
		w.knob[i] = schema_knob(c, w.names[i]) != NULL;
		if (!w.knob[i] && !schema_is_scalar(schema_diag(c, w.names[i])))
			return con_error(c, "watch: \"%s\" is not a knob or scalar diagnostic%s", w.names[i],
			                 schema_diag(c, w.names[i]) ? " (try plot)" : "");
	}
	c->hook = on_stream;
	c->hook_arg = &w;
	con_subscribe(c, "scalars");
	int rc = view_run(c, draw, &w, WATCH_PERIOD_MS, false);
	con_unsubscribe(c, "scalars");
	c->hook = NULL;
	c->hook_arg = NULL;
	return rc;
}

const ccmd_entry ccmd_watch_entry = {
	.name = "watch",
	.usage = "NAME...   (scalar diagnostics or knobs; any key returns)",
	.summary = "live values with sparklines of their recent past",
	.exec = watch_exec,
	.complete = CC_NAMES,
};
