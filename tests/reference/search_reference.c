/* SPDX-License-Identifier: MIT */
/*
 * search_reference.c — brute-force references for the space-charge limit
 * that tests/integration/test_search.py checks `search` against.
 *
 * Each reference is a scan of fresh runs, one per value, at a fine spacing
 * (0.25 % of the theoretical limit), each held far longer than any search
 * holds (HOLD_TRANSITS vacuum transit times, 4x the search's default):
 *
 *  up:   from an empty gap at injected_current J; bad if a virtual cathode
 *        (virtual_cathode = 1) appears within the hold. The limit is the
 *        midpoint between the largest good and the smallest bad value.
 *  down: a virtual cathode is formed first (FORM_TRANSITS at 1.5 x the
 *        limit), then the current is set to J and held; good if the virtual
 *        cathode clears within the hold. The result is the midpoint between
 *        the largest cleared and the smallest persisting value.
 *
 * It drives the adapter directly (no daemon), so it costs only the steps.
 * Run once with `make search-reference`; the figures it prints are kept in
 * test_search.py (REFERENCE). Takes a few minutes on one core.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pic1d/pic1d_internal.h"

#define HOLD_TRANSITS 200.0
#define FORM_TRANSITS 40.0
#define SPACING 0.0025

typedef struct diode {
	const char *name;
	double gap, dt, volts, v0;
	int cells, pps;
	double j_theory; /* max transmitted current of the cold beam (test_search.py) */
	double down_lo, down_hi; /* the range of the descent scan, x j_theory */
} diode;

static void knobs_of(const diode *d, double j, sa_value *v)
{
	for (size_t k = 0; k < PIC1D_N_KNOBS; k++)
		v[k] = pic1d_knobs[k].def;
	v[PIC1D_K_GAP].d = d->gap;
	v[PIC1D_K_CELLS].i = d->cells;
	v[PIC1D_K_DT].d = d->dt;
	v[PIC1D_K_PPS].i = d->pps;
	v[PIC1D_K_VOLTAGE].d = d->volts;
	v[PIC1D_K_INJ_ENERGY].d = d->v0;
	v[PIC1D_K_CURRENT].d = j;
	v[PIC1D_K_PHASE_SAMPLE].i = 0;
}

static double vc(pic1d *s)
{
	double x;
	pic1d_diag_read(s, PIC1D_D_VC, &x, 1);
	return x;
}

static pic1d *make(const diode *d, double j)
{
	sa_value v[PIC1D_N_KNOBS];
	char err[256];
	knobs_of(d, j, v);
	pic1d *s = pic1d_create(v, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s: %s\n", d->name, err);
		exit(1);
	}
	return s;
}

/* Steps until virtual_cathode == want, or 0 if not within n steps. */
static unsigned long steps_until(pic1d *s, double want, unsigned long n)
{
	char err[256];
	for (unsigned long i = 1; i <= n; i++) {
		if (pic1d_step(s, err, sizeof err) < 0) {
			fprintf(stderr, "step: %s\n", err);
			exit(1);
		}
		if (vc(s) == want)
			return i;
	}
	return 0;
}

static unsigned long hold_steps(const diode *d, double transits)
{
	sa_value v[PIC1D_N_KNOBS];
	knobs_of(d, 1.0, v);
	return (unsigned long)ceil(transits * pic1d_transit_time(v) / d->dt);
}

/* Fresh run at j: steps until a virtual cathode, 0 if none within the hold. */
static unsigned long probe_up(const diode *d, double j)
{
	pic1d *s = make(d, j);
	unsigned long n = steps_until(s, 1.0, hold_steps(d, HOLD_TRANSITS));
	pic1d_destroy(s);
	return n;
}

/* Virtual cathode formed at 1.5 j_theory, then j: steps until it clears, 0 if never. */
static unsigned long probe_down(const diode *d, double j)
{
	pic1d *s = make(d, 1.5 * d->j_theory);
	if (!steps_until(s, 1.0, hold_steps(d, FORM_TRANSITS))) {
		fprintf(stderr, "%s: no virtual cathode at 1.5 x the limit\n", d->name);
		exit(1);
	}
	steps_until(s, 2.0, hold_steps(d, FORM_TRANSITS)); /* let it settle: never 2 */
	s->knob[PIC1D_K_CURRENT].d = j;
	unsigned long n = steps_until(s, 0.0, hold_steps(d, HOLD_TRANSITS));
	pic1d_destroy(s);
	return n;
}

/*
 * The brute-force descent: a virtual cathode formed at 1.5 j_theory, then the
 * current lowered to hi, hi - SPACING, ... (x j_theory), each value held
 * HOLD_TRANSITS or until the virtual cathode clears; returns the midpoint
 * between the value where it cleared and the one before.
 */
static double descend(const diode *d, double lo, double hi)
{
	pic1d *s = make(d, 1.5 * d->j_theory);
	if (!steps_until(s, 1.0, hold_steps(d, FORM_TRANSITS))) {
		fprintf(stderr, "%s: no virtual cathode at 1.5 x the limit\n", d->name);
		exit(1);
	}
	double prev = NAN;
	for (double x = hi; x >= lo - 1e-12; x -= SPACING) {
		double j = x * d->j_theory;
		s->knob[PIC1D_K_CURRENT].d = j;
		unsigned long n = steps_until(s, 0.0, hold_steps(d, HOLD_TRANSITS));
		printf("#   %s descent J = %.6g (%.4f x theory): %s after %lu steps\n", d->name, j, x,
		       n ? "cleared" : "persists", n);
		fflush(stdout);
		if (n) {
			pic1d_destroy(s);
			return 0.5 * (j + prev);
		}
		prev = j;
	}
	pic1d_destroy(s);
	return NAN;
}

/*
 * Scan x = lo, lo + SPACING, ... (x j_theory) until the answer flips from
 * `first` and stays flipped for two more values; returns the midpoint of the
 * flip, or NAN.
 */
static double scan(const diode *d, bool down, double lo, double hi)
{
	int flipped = 0;
	double last_first = NAN, first_other = NAN;
	for (double x = lo; x <= hi + 1e-12 && flipped < 3; x += SPACING) {
		double j = x * d->j_theory;
		unsigned long n = down ? probe_down(d, j) : probe_up(d, j);
		bool other = down ? n == 0 : n != 0; /* up: a VC formed; down: it persists */
		printf("#   %s %s J = %.6g (%.4f x theory): %s after %lu steps\n", d->name,
		       down ? "down" : "up", j, x,
		       down ? (n ? "cleared" : "persists") : (n ? "virtual cathode" : "none"), n);
		fflush(stdout);
		if (other) {
			if (!flipped)
				first_other = j;
			flipped++;
		} else {
			if (flipped) {
				printf("#   %s: not monotonic at %.6g\n", d->name, j);
				flipped = 0;
			}
			last_first = j;
		}
	}
	return flipped ? 0.5 * (last_first + first_other) : NAN;
}

int main(int argc, char **argv)
{
	/* j_theory from the formula in test_search.py (jaffe_limit). */
	static diode diodes[] = {
		{ "diode", 0.01, 2e-12, 1000.0, 100.0, 200, 40, 0, 0.6, 1.0 },
		{ "grounded", 0.01, 1e-11, 0.0, 100.0, 100, 20, 0, 0.3, 1.0 },
		{ "steep", 0.01, 1e-12, 5000.0, 50.0, 200, 40, 0, 0.6, 1.0 },
	};
	const char *only = argc > 1 ? argv[1] : NULL;
	bool do_down = argc > 2 && strcmp(argv[2], "down") == 0;
	for (size_t i = 0; i < sizeof diodes / sizeof diodes[0]; i++) {
		diode *d = &diodes[i];
		if (only && strcmp(only, d->name) != 0)
			continue;
		d->j_theory = argc > 3 ? atof(argv[3]) : 0;
		if (!(d->j_theory > 0)) {
			fprintf(stderr, "usage: search_reference NAME up|down|descent J_THEORY [LO HI]\n");
			return 64;
		}
		double lo = argc > 4 ? atof(argv[4]) : (do_down ? d->down_lo : 0.985);
		double hi = argc > 5 ? atof(argv[5]) : (do_down ? d->down_hi : 1.03);
		bool descent = argc > 2 && strcmp(argv[2], "descent") == 0;
		double ref = descent ? descend(d, lo, hi) : scan(d, do_down, lo, hi);
		printf("%s %s %.6g (%.5f x theory), hold %lu steps\n", d->name, argv[2],
		       ref, ref / d->j_theory, hold_steps(d, HOLD_TRANSITS));
	}
	return 0;
}
