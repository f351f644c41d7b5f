/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-plot.c — `plot NAME` / `plot phase`: an array diagnostic against its
 * axis (phi, efield, rho against x), or the phase space (phase_v against
 * phase_x, as dots), drawn live on a braille canvas the size of the terminal.
 * The data come from the array.* topics; x and y are paired by step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "plot_history.h"
#include "view.h"

#define PLOT_PERIOD_MS 200

typedef struct series {
	char topic[80];
	double *v;
	size_t n;
	long long step;
} series;

typedef struct plot {
	char yname[64], xname[64]; /* xname "" : against the index */
	bool scatter;
	series x, y;
	long long drawn_step;
} plot;

static void keep(series *s, json_t *hdr, const double *data, size_t n)
{
	double *v = realloc(s->v, (n ? n : 1) * sizeof *v);
	if (!v)
		return;
	memcpy(v, data, n * sizeof *v);
	s->v = v;
	s->n = n;
	s->step = (long long)json_integer_value(json_object_get(hdr, "step"));
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *data, size_t n,
                      void *arg)
{
	(void)c;
	plot *p = arg;
	if (!strcmp(topic, p->y.topic))
		keep(&p->y, hdr, data, n);
	else if (p->xname[0] && !strcmp(topic, p->x.topic))
		keep(&p->x, hdr, data, n);
}

static void range(const double *v, size_t n, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			*lo = fmin(*lo, v[i]);
			*hi = fmax(*hi, v[i]);
		}
	if (!(*lo <= *hi)) {
		*lo = 0;
		*hi = 1;
	}
	if (*hi - *lo <= 1e-300 * fmax(1, fabs(*lo))) { /* flat: give it some room */
		*lo -= fabs(*lo) * 0.1 + 1e-300;
		*hi += fabs(*hi) * 0.1 + 1e-300;
	}
}

static int draw(console *c, void *arg)
{
	plot *p = arg;
	int cols, rows;
	view_size(&cols, &rows);
	bool ready = p->y.n > 0 && (!p->xname[0] || (p->x.n == p->y.n && p->x.step == p->y.step));
	/* Redraw only for new data, so the picture does not flicker. */
	if (ready && p->y.step == p->drawn_step && !c->view_msg[0])
		return 0;
	printf("\033[H\033[2J");
	printf("%s [%s]%s%s%s   step %lld   %s\n", p->yname, schema_unit(c, p->yname),
	       p->xname[0] ? " vs " : " by index", p->xname, p->xname[0] ? "" : "",
	       ready ? p->y.step : 0LL, "(any key: back to the prompt)");
	if (!ready) {
		printf("waiting for %s%s%s on the stream...\n", p->yname, p->xname[0] ? " and " : "",
		       p->xname);
		return 0;
	}
	p->drawn_step = p->y.step;
	const int lw = 10; /* y labels */
	canvas cv;
	canvas_init(&cv, cols - lw - 2, rows - 4);
	double xlo = 0, xhi = (double)(p->y.n > 1 ? p->y.n - 1 : 1), ylo, yhi;
	if (p->xname[0])
		range(p->x.v, p->x.n, &xlo, &xhi);
	range(p->y.v, p->y.n, &ylo, &yhi);
	int W = 2 * cv.cols - 1, H = 4 * cv.rows - 1, px = 0, py = 0;
	for (size_t i = 0; i < p->y.n; i++) {
		double xv = p->xname[0] ? p->x.v[i] : (double)i, yv = p->y.v[i];
		if (!isfinite(xv) || !isfinite(yv))
			continue;
		int dx = (int)lround((xv - xlo) / (xhi - xlo) * W);
		int dy = H - (int)lround((yv - ylo) / (yhi - ylo) * H);
		if (p->scatter || i == 0)
			canvas_dot(&cv, dx, dy);
		else
			canvas_line(&cv, px, py, dx, dy);
		px = dx;
		py = dy;
	}
	char *row = malloc((size_t)cv.cols * 3 + 1);
	for (int r = 0; r < cv.rows; r++) {
		char label[32] = "";
		if (r == 0)
			snprintf(label, sizeof label, "%.4g", yhi);
		else if (r == cv.rows - 1)
			snprintf(label, sizeof label, "%.4g", ylo);
		canvas_row(&cv, r, row, (size_t)cv.cols * 3 + 1);
		printf("%*s \u2502%s\n", lw, label, row);
	}
	char xl[32], xh[32];
	snprintf(xl, sizeof xl, "%.4g", xlo);
	snprintf(xh, sizeof xh, "%.4g %s", xhi, p->xname[0] ? schema_unit(c, p->xname) : "");
	printf("%*s %s%*s\n", lw + 1, "", xl, (int)(cv.cols - strlen(xl)), xh);
	printf("%s", c->view_msg);
	free(row);
	canvas_free(&cv);
	return 0;
}

static int plot_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc >= 3 && !strcmp(argv[1], "history"))
		return plot_history(c, argc - 2, argv + 2);
	if (argc != 2)
		return ccmd_usage(c, &ccmd_plot_entry);
	if (view_check_tty(c, "plot") < 0)
		return -1;
	plot p;
	memset(&p, 0, sizeof p);
	p.drawn_step = -1;
	if (!strcmp(argv[1], "phase")) {
		snprintf(p.yname, sizeof p.yname, "phase_v");
		snprintf(p.xname, sizeof p.xname, "phase_x");
		p.scatter = true;
	} else {
		const json_t *d = schema_diag(c, argv[1]);
		if (!d || json_integer_value(json_object_get(d, "rank")) != 1)
			return con_error(c, "plot: \"%s\" is not an array diagnostic", argv[1]);
		snprintf(p.yname, sizeof p.yname, "%s", argv[1]);
		snprintf(p.xname, sizeof p.xname, "%s", schema_str(d, "axis"));
	}
	if (!schema_diag(c, p.yname) || (p.xname[0] && !schema_diag(c, p.xname)))
		return con_error(c, "plot: this run has no %s", p.yname);
	snprintf(p.y.topic, sizeof p.y.topic, "array.%s", p.yname);
	snprintf(p.x.topic, sizeof p.x.topic, "array.%s", p.xname);
	c->hook = on_stream;
	c->hook_arg = &p;
	con_subscribe(c, p.y.topic);
	if (p.xname[0])
		con_subscribe(c, p.x.topic);
	int rc = view_run(c, draw, &p, PLOT_PERIOD_MS, true);
	con_unsubscribe(c, p.y.topic);
	if (p.xname[0])
		con_unsubscribe(c, p.x.topic);
	c->hook = NULL;
	c->hook_arg = NULL;
	free(p.x.v);
	free(p.y.v);
	return rc;
}

const ccmd_entry ccmd_plot_entry = {
	.name = "plot",
	.usage = "NAME | phase | history NAME...   (an array diagnostic, e.g. phi; history: knobs "
	         "or scalars from the daemon's history, with steering markers; any key returns)",
	.summary = "a live terminal plot of an array diagnostic, of the phase space, or of the "
	           "run's past",
	.exec = plot_exec,
	.complete = CC_ARRAYS,
};
