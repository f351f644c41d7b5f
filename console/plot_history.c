/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plot_history.c — `plot history NAME...`: the run's past from the daemon's
 * `history`, one braille panel per name stacked on one axis of what
 * happened (the sample sequence: a rewind does not fold the plot back onto
 * itself), with the steering markers as numbered vertical lines and their
 * list below, and the start of each stretch as a dashed one.
 */
#include "plot_history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "past.h"
#include "view.h"

#define PERIOD_MS 1000
#define LABEL_W 10
#define MAX_LEGEND 9

typedef struct hplot {
	int n;
	char **names;
	bool once; /* not a terminal: draw once */
} hplot;

static void range(const past *p, size_t k, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < p->points; i++) {
		const double *row = p->values[k] + 3 * i; /* mean, min, max */
		for (int j = 0; j < 3; j++)
			if (isfinite(row[j])) {
				*lo = fmin(*lo, row[j]);
				*hi = fmax(*hi, row[j]);
			}
	}
	if (!(*lo <= *hi)) {
		*lo = 0;
		*hi = 1;
	}
	if (*hi - *lo <= 1e-300 * fmax(1, fabs(*lo))) {
		*lo -= fabs(*lo) * 0.1 + 1e-300;
		*hi += fabs(*hi) * 0.1 + 1e-300;
	}
}

/* Dot column of a sample sequence number. */
static int xdot(uint64_t seq, uint64_t s0, uint64_t s1, int W)
{
	return s1 > s0 ? (int)llround((double)(seq - s0) / (double)(s1 - s0) * W) : 0;
}

static void vline(canvas *cv, int x, int H, int every)
{
	for (int y = 0; y <= H; y += every)
		canvas_dot(cv, x, y);
}

static void panel(console *c, const past *p, size_t k, const char *name, int cols, int rows)
{
	canvas cv;
	canvas_init(&cv, cols - LABEL_W - 2, rows);
	int W = 2 * cv.cols - 1, H = 4 * cv.rows - 1;
	uint64_t s0 = p->seq[0] - p->count[0] + 1, s1 = p->seq[p->points - 1];
	double lo, hi;
	range(p, k, &lo, &hi);
	int px = 0, py = 0;
	for (size_t i = 0; i < p->points; i++) {
		const double *row = p->values[k] + 3 * i;
		int x = xdot(p->seq[i], s0, s1, W);
		if (p->count[i] > 1 && isfinite(row[1]) && isfinite(row[2])) /* the bucket's extent */
			canvas_line(&cv, x, H - (int)lround((row[1] - lo) / (hi - lo) * H), x,
			            H - (int)lround((row[2] - lo) / (hi - lo) * H));
		if (!isfinite(row[0]))
			continue;
		int y = H - (int)lround((row[0] - lo) / (hi - lo) * H);
		if (i == 0)
			canvas_dot(&cv, x, y);
		else
			canvas_line(&cv, px, py, x, y);
		px = x;
		py = y;
	}
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(p->reply, "markers"), i, m) {
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
		if (seq >= s0 && seq <= s1)
			vline(&cv, xdot(seq, s0, s1, W), H, 2);
	}
	json_array_foreach(json_object_get(p->reply, "stretches"), i, m)
		if (i > 0)
			vline(&cv, xdot((uint64_t)json_integer_value(json_object_get(m, "first_seq")), s0, s1, W),
			      H, 5);
	printf("%s [%s]\n", name, schema_unit(c, name));
	char *line = malloc((size_t)cv.cols * 3 + 1);
	for (int r = 0; line && r < cv.rows; r++) {
		char label[32] = "";
		if (r == 0)
			snprintf(label, sizeof label, "%.4g", hi);
		else if (r == cv.rows - 1)
			snprintf(label, sizeof label, "%.4g", lo);
		canvas_row(&cv, r, line, (size_t)cv.cols * 3 + 1);
		printf("%*s \u2502%s\n", LABEL_W, label, line);
	}
	free(line);
	canvas_free(&cv);
}

static int draw(console *c, void *arg)
{
	hplot *h = arg;
	int cols = 80, rows = 24;
	if (!h->once)
		view_size(&cols, &rows);
	past p;
	json_t *body = json_pack("{s:I, s:[sss]}", "max_points", (json_int_t)(2 * (cols - LABEL_W - 2)),
	                         "stats", "mean", "min", "max");
	if (past_fetch(c, (const char *const *)h->names, (size_t)h->n, body, &p) < 0)
		return h->once ? -1 : 0; /* a live view goes on and asks again */
	if (!h->once)
		printf("\033[H\033[2J");
	json_t *markers = json_object_get(p.reply, "markers");
	if (p.points == 0) {
		printf("no history of %s kept yet\n", h->names[0]);
		past_free(&p);
		return 0;
	}
	int legend = (int)json_array_size(markers) < MAX_LEGEND ? (int)json_array_size(markers) : MAX_LEGEND;
	int per = (rows - 4 - legend) / h->n - 1;
	if (per < 3)
		per = 3;
	for (int k = 0; k < h->n; k++)
		panel(c, &p, (size_t)k, h->names[k], cols, per);
	printf("%*s steps %llu .. %llu in the order they happened (%zu points); "
	       "dotted: steering, dashed: a new stretch\n", LABEL_W, "",
	       (unsigned long long)p.step[0], (unsigned long long)p.step[p.points - 1], p.points);
	size_t n = json_array_size(markers);
	for (size_t i = n > (size_t)legend ? n - (size_t)legend : 0; i < n; i++) {
		json_t *m = json_array_get(markers, i);
		char text[256];
		past_marker_text(json_object_get(m, "entry"), text, sizeof text);
		printf("%*s step %lld: %s\n", LABEL_W, "", (long long)json_integer_value(json_object_get(m, "step")),
		       text);
	}
	if (!h->once)
		printf("%s", c->view_msg[0] ? c->view_msg : "(any key: back to the prompt)");
	fflush(stdout);
	past_free(&p);
	return 0;
}

int plot_history(console *c, int n, char **names)
{
	if (n < 1 || n > PAST_MAX_NAMES)
		return con_error(c, "plot history: 1 to %d knobs or scalar diagnostics", PAST_MAX_NAMES);
	for (int i = 0; i < n; i++)
		if (!schema_knob(c, names[i]) && !schema_is_scalar(schema_diag(c, names[i])))
			return con_error(c, "plot history: \"%s\" is not a knob or scalar diagnostic", names[i]);
	hplot h = { .n = n, .names = names, .once = !isatty(0) || !isatty(1) };
	if (h.once)
		return draw(c, &h);
	return view_run(c, draw, &h, PERIOD_MS, true);
}
