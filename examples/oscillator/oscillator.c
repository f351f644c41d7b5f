/* SPDX-License-Identifier: MIT */
/*
 * oscillator.c — a minimal external steerd adapter, meant as a template.
 *
 * The "existing code" being wrapped is a damped, driven harmonic oscillator
 *
 *     x'' + 2 zeta w0 x' + w0^2 x = (F / m) cos(w t)
 *
 * in SI units, advanced with classic RK4. Everything steerd needs is below,
 * in the order a newcomer would write it:
 *   1. the model's state and one time step (the code you already have);
 *   2. the knob and diagnostic tables (what steerd may change and read);
 *   3. the adapter calls, which translate between the two;
 *   4. the descriptor and the exported entry function.
 *
 * Build it on its own with only the public header:
 *     cc -shared -fPIC -I<dir of steerd_adapter.h> oscillator.c -o liboscillator.so -lm
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steerd_adapter.h"

/* ---- 1. The model ------------------------------------------------------ */

/* Knob indices; the order must match osc_knobs[] below. */
enum {
	OSC_DT,               /* fixed */
	OSC_MASS,             /* fixed */
	OSC_X0,               /* fixed */
	OSC_V0,               /* fixed */
	OSC_OMEGA0,           /* runtime */
	OSC_DAMPING,          /* runtime */
	OSC_DRIVE_AMPLITUDE,  /* runtime */
	OSC_DRIVE_FREQUENCY,  /* runtime */
	OSC_N_KNOBS
};

#define OSC_HISTORY 64 /* positions kept for the "history" diagnostic */

/*
 * The whole state of one run. No globals: steerd may run several instances
 * side by side. Every knob is a double here, so knob values are kept as
 * plain doubles indexed like the knob table.
 */
typedef struct osc {
	double knob[OSC_N_KNOBS];
	double x, v;             /* position (m), velocity (m/s) */
	uint64_t steps;          /* time is steps * dt: no drift, nothing extra to save */
	double hist_x[OSC_HISTORY], hist_t[OSC_HISTORY]; /* ring buffer */
	size_t hist_head;        /* slot the next sample goes to */
	size_t hist_len;         /* samples held, 1..OSC_HISTORY */
} osc;

static double osc_time(const osc *s)
{
	return (double)s->steps * s->knob[OSC_DT];
}

/* Acceleration at time t for position x and velocity v. */
static double osc_accel(const osc *s, double t, double x, double v)
{
	double w0 = s->knob[OSC_OMEGA0];
	double drive = s->knob[OSC_DRIVE_AMPLITUDE] / s->knob[OSC_MASS] *
	               cos(s->knob[OSC_DRIVE_FREQUENCY] * t);
	return drive - 2.0 * s->knob[OSC_DAMPING] * w0 * v - w0 * w0 * x;
}

/* One classic RK4 step of the first-order system (x, v). */
static void osc_rk4(osc *s)
{
	double h = s->knob[OSC_DT], t = osc_time(s), x = s->x, v = s->v;
	double k1x = v, k1v = osc_accel(s, t, x, v);
	double k2x = v + 0.5 * h * k1v, k2v = osc_accel(s, t + 0.5 * h, x + 0.5 * h * k1x, k2x);
	double k3x = v + 0.5 * h * k2v, k3v = osc_accel(s, t + 0.5 * h, x + 0.5 * h * k2x, k3x);
	double k4x = v + h * k3v, k4v = osc_accel(s, t + h, x + h * k3x, k4x);
	s->x = x + h / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x);
	s->v = v + h / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v);
	s->steps++;
}

static void osc_record(osc *s)
{
	s->hist_x[s->hist_head] = s->x;
	s->hist_t[s->hist_head] = osc_time(s);
	s->hist_head = (s->hist_head + 1) % OSC_HISTORY;
	if (s->hist_len < OSC_HISTORY)
		s->hist_len++;
}

/* Mechanical energy: kinetic plus the spring's potential. */
static double osc_energy(const osc *s)
{
	double m = s->knob[OSC_MASS], w0 = s->knob[OSC_OMEGA0];
	return 0.5 * m * s->v * s->v + 0.5 * m * w0 * w0 * s->x * s->x;
}

/* ---- 2. What steerd sees ----------------------------------------------- */

#define OSC_KNOB(nm, unit, lo, hi, def, rt, desc) \
	{ nm, SA_DOUBLE, unit, lo, hi, { .d = def }, desc, rt, NULL }

static const sa_knob osc_knobs[OSC_N_KNOBS] = {
	[OSC_DT] = OSC_KNOB("dt", "s", 1e-9, 1.0, 1e-3, 0, "time step"),
	[OSC_MASS] = OSC_KNOB("mass", "kg", 1e-9, 1e9, 1.0, 0, "mass of the body"),
	[OSC_X0] = OSC_KNOB("initial_position", "m", -1e6, 1e6, 1.0, 0, "position at t = 0"),
	[OSC_V0] = OSC_KNOB("initial_velocity", "m/s", -1e6, 1e6, 0.0, 0, "velocity at t = 0"),
	[OSC_OMEGA0] = OSC_KNOB("omega0", "rad/s", 0.0, 1e6, 6.283185307179586, 1,
	                        "undamped angular frequency sqrt(k/m)"),
	[OSC_DAMPING] = OSC_KNOB("damping", "", 0.0, 100.0, 0.0, 1,
	                         "damping ratio zeta (1: critical)"),
	[OSC_DRIVE_AMPLITUDE] = OSC_KNOB("drive_amplitude", "N", -1e9, 1e9, 0.0, 1,
	                                 "amplitude F of the driving force F cos(w t)"),
	[OSC_DRIVE_FREQUENCY] = OSC_KNOB("drive_frequency", "rad/s", 0.0, 1e6, 1.0, 1,
	                                 "angular frequency w of the driving force"),
};

enum { OSC_D_POSITION, OSC_D_VELOCITY, OSC_D_ENERGY, OSC_D_TIME,
       OSC_D_HISTORY, OSC_D_HISTORY_T, OSC_N_DIAGS };

static const sa_diag osc_diags[OSC_N_DIAGS] = {
	[OSC_D_POSITION] = { "position", "m", "position x", 0, NULL },
	[OSC_D_VELOCITY] = { "velocity", "m/s", "velocity x'", 0, NULL },
	[OSC_D_ENERGY] = { "energy", "J", "kinetic plus potential energy", 0, NULL },
	[OSC_D_TIME] = { "time", "s", "simulated time", 0, NULL },
	[OSC_D_HISTORY] = { "history", "m", "last positions, oldest first", 1, "history_t" },
	[OSC_D_HISTORY_T] = { "history_t", "s", "times of the history samples", 1, NULL },
};

/* ---- 3. The adapter calls ---------------------------------------------- */

static int osc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The relation between knobs that steerd cannot check from the table: RK4 is
 * stable while every rate of the system times dt stays inside its stability
 * region, which holds the left half-disk of radius ~2.6. The fastest rate is
 * w0 when underdamped, w0 (zeta + sqrt(zeta^2 - 1)) when overdamped.
 */
static int osc_check_stable(const double *knob, char *err, size_t errlen)
{
	double w0 = knob[OSC_OMEGA0], zeta = knob[OSC_DAMPING];
	double rate = zeta > 1.0 ? w0 * (zeta + sqrt(zeta * zeta - 1.0)) : w0;
	if (rate * knob[OSC_DT] > 2.5)
		return osc_fail(err, errlen,
		                "unstable: fastest rate %g 1/s times dt %g s exceeds 2.5; "
		                "lower omega0 or damping, or use a smaller dt",
		                rate, knob[OSC_DT]);
	return 0;
}

static void *osc_create(const sa_value *values, const sa_host *host, char *err, size_t errlen)
{
	(void)host; /* this example logs nothing */
	double knob[OSC_N_KNOBS];
	for (size_t k = 0; k < OSC_N_KNOBS; k++)
		knob[k] = values[k].d;
	if (osc_check_stable(knob, err, errlen) < 0)
		return NULL;
	osc *s = calloc(1, sizeof *s);
	if (!s) {
		osc_fail(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(s->knob, knob, sizeof knob);
	s->x = knob[OSC_X0];
	s->v = knob[OSC_V0];
	osc_record(s); /* so "history" is never empty */
	return s;
}

static void osc_destroy(void *sim)
{
	free(sim);
}

static int osc_step(void *sim, char *err, size_t errlen)
{
	osc *s = sim;
	osc_rk4(s);
	osc_record(s);
	if (!isfinite(s->x) || !isfinite(s->v))
		return osc_fail(err, errlen, "the solution diverged at t = %g s", osc_time(s));
	return 0;
}

static uint64_t osc_step_count(const void *sim)
{
	return ((const osc *)sim)->steps;
}

static double osc_time_cb(const void *sim)
{
	return osc_time(sim);
}

static sa_value osc_get(const void *sim, size_t k)
{
	return (sa_value){ .d = ((const osc *)sim)->knob[k] };
}

static int osc_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	osc *s = sim;
	/* The host should never ask, but an adapter must not trust that. */
	if (k >= OSC_N_KNOBS || !osc_knobs[k].runtime)
		return osc_fail(err, errlen, "%s is fixed for the run",
		                k < OSC_N_KNOBS ? osc_knobs[k].name : "this knob");
	double knob[OSC_N_KNOBS];
	memcpy(knob, s->knob, sizeof knob);
	knob[k] = v.d;
	if (osc_check_stable(knob, err, errlen) < 0)
		return -1; /* nothing changed */
	s->knob[k] = v.d;
	return 0;
}

static size_t osc_diag_len(const void *sim, size_t d)
{
	const osc *s = sim;
	return d == OSC_D_HISTORY || d == OSC_D_HISTORY_T ? s->hist_len : 1;
}

/* Copies the ring buffer out oldest first. */
static size_t osc_copy_history(const osc *s, const double *ring, double *out, size_t cap)
{
	size_t n = s->hist_len < cap ? s->hist_len : cap;
	size_t first = (s->hist_head + OSC_HISTORY - s->hist_len) % OSC_HISTORY;
	for (size_t i = 0; i < n; i++)
		out[i] = ring[(first + i) % OSC_HISTORY];
	return n;
}

static size_t osc_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	const osc *s = sim;
	if (d == OSC_D_HISTORY)
		return osc_copy_history(s, s->hist_x, out, cap);
	if (d == OSC_D_HISTORY_T)
		return osc_copy_history(s, s->hist_t, out, cap);
	if (cap == 0)
		return 0;
	switch (d) {
	case OSC_D_POSITION: out[0] = s->x; break;
	case OSC_D_VELOCITY: out[0] = s->v; break;
	case OSC_D_ENERGY: out[0] = osc_energy(s); break;
	default: out[0] = osc_time(s); break;
	}
	return 1;
}

/*
 * The saved state: the step count, x and v, the history oldest first (so the
 * ring's internal head is not part of the format), and all knob values, so a
 * restore can tell whether it was handed a state of a different run.
 */
static int osc_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const osc *s = sim;
	double hx[OSC_HISTORY], ht[OSC_HISTORY];
	size_t n = osc_copy_history(s, s->hist_x, hx, OSC_HISTORY);
	osc_copy_history(s, s->hist_t, ht, OSC_HISTORY);
	if (w->attr(w->ctx, "step", SA_U64, &s->steps) < 0 ||
	    w->attr(w->ctx, "x", SA_F64, &s->x) < 0 ||
	    w->attr(w->ctx, "v", SA_F64, &s->v) < 0 ||
	    w->array(w->ctx, "knobs", SA_F64, OSC_N_KNOBS, s->knob) < 0 ||
	    w->array(w->ctx, "history/x", SA_F64, n, hx) < 0 ||
	    w->array(w->ctx, "history/t", SA_F64, n, ht) < 0)
		return osc_fail(err, errlen, "cannot write the oscillator state");
	return 0;
}

/* Reads a saved array that must hold between 1 and cap finite doubles. */
static int osc_read_array(const sa_reader *r, const char *name, double *out, size_t cap,
                          size_t *n, char *err, size_t errlen)
{
	if (r->array_size(r->ctx, name, SA_F64, n) < 0)
		return osc_fail(err, errlen, "saved state lacks '%s'", name);
	if (*n < 1 || *n > cap)
		return osc_fail(err, errlen, "saved '%s' has %zu elements, expected 1 to %zu",
		                name, *n, cap);
	if (r->array(r->ctx, name, SA_F64, *n, out) < 0)
		return osc_fail(err, errlen, "cannot read saved '%s'", name);
	for (size_t i = 0; i < *n; i++)
		if (!isfinite(out[i]))
			return osc_fail(err, errlen, "saved '%s'[%zu] is not finite", name, i);
	return 0;
}

static int osc_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	osc *s = sim;
	osc in = *s; /* read into a copy: s stays as it was unless all checks pass */
	double knob[OSC_N_KNOBS];
	size_t n_knob, n_x, n_t;

	if (r->attr(r->ctx, "step", SA_U64, &in.steps) < 0 ||
	    r->attr(r->ctx, "x", SA_F64, &in.x) < 0 ||
	    r->attr(r->ctx, "v", SA_F64, &in.v) < 0)
		return osc_fail(err, errlen, "saved state lacks step, x or v");
	if (!isfinite(in.x) || !isfinite(in.v))
		return osc_fail(err, errlen, "saved x or v is not finite");
	if (osc_read_array(r, "knobs", knob, OSC_N_KNOBS, &n_knob, err, errlen) < 0 ||
	    osc_read_array(r, "history/x", in.hist_x, OSC_HISTORY, &n_x, err, errlen) < 0 ||
	    osc_read_array(r, "history/t", in.hist_t, OSC_HISTORY, &n_t, err, errlen) < 0)
		return -1;
	if (n_knob != OSC_N_KNOBS)
		return osc_fail(err, errlen, "saved state has %zu knobs, this adapter %d",
		                n_knob, OSC_N_KNOBS);
	if (n_x != n_t)
		return osc_fail(err, errlen, "saved history has %zu positions but %zu times",
		                n_x, n_t);
	/* Fixed knobs must match the run sim was created for; runtime ones are taken. */
	for (size_t k = 0; k < OSC_N_KNOBS; k++) {
		const sa_knob *kn = &osc_knobs[k];
		if (!kn->runtime && memcmp(&knob[k], &s->knob[k], sizeof knob[k]) != 0)
			return osc_fail(err, errlen, "saved with %s = %g %s, this run has %g",
			                kn->name, knob[k], kn->unit, s->knob[k]);
		if (knob[k] < kn->min || knob[k] > kn->max)
			return osc_fail(err, errlen, "saved %s = %g is out of range", kn->name, knob[k]);
	}
	if (osc_check_stable(knob, err, errlen) < 0)
		return -1;
	memcpy(in.knob, knob, sizeof knob);
	in.hist_len = n_x;
	in.hist_head = n_x % OSC_HISTORY;
	*s = in;
	return 0;
}

/* ---- 4. The descriptor and the entry point ------------------------------ */

static const sa_adapter osc_adapter = {
	SA_ABI_INIT,
	.name = "oscillator",
	.version = "1.0",
	.description = "damped driven harmonic oscillator, RK4 (steerd example)",
	.knobs = osc_knobs,
	.n_knobs = OSC_N_KNOBS,
	.diags = osc_diags,
	.n_diags = OSC_N_DIAGS,
	.create = osc_create,
	.destroy = osc_destroy,
	.step = osc_step,
	.step_count = osc_step_count,
	.time = osc_time_cb,
	.get = osc_get,
	.set = osc_set,
	.diag_len = osc_diag_len,
	.diag_read = osc_diag_read,
	.save = osc_save,
	.restore = osc_restore,
};

/* Exported even when built with -fvisibility=hidden; everything else is static. */
#if defined(__GNUC__)
#define OSC_EXPORT __attribute__((visibility("default")))
#else
#define OSC_EXPORT
#endif

/* A prototype keeps -Wmissing-prototypes quiet. In C++, wrap both in extern "C". */
OSC_EXPORT const sa_adapter *steerd_adapter_entry(void);

OSC_EXPORT const sa_adapter *steerd_adapter_entry(void)
{
	return &osc_adapter;
}
