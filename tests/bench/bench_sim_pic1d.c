/* SPDX-License-Identifier: MIT */
/*
 * bench_sim_pic1d.c — cost of a full pic1d step (adapter->step: push with
 * absorption, deposit, kinetic energy, injection, field solve, averages) per
 * particle, against a bare gather-push-deposit loop over the same particle
 * arrays and grid, with ~10^6 particles in the gap. The target is a full step
 * within 1.5x of the bare loop.
 *
 * Each figure is the median of several repetitions: the machine is shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "pic1d/pic1d.h"
#include "pic1d/pic1d_internal.h"

enum { REPS = 7, STEPS_PER_REP = 10 };

/*
 * The reference: what any PIC push must do per particle — gather the field,
 * leapfrog, deposit — with nothing else (no absorption, no energy sum). x may
 * leave (0, gap) here, so the index is signed and the grid padded.
 */
static void plain_loop(size_t n, double *restrict x, double *restrict v,
                       const double *restrict w, double *restrict q,
                       const double *restrict adt, double inv_dx, double dt)
{
	for (size_t i = 0; i < n; i++) {
		double xi = x[i] * inv_dx;
		long c = (long)xi;
		double f = xi - (double)c;
		double vn = v[i] + adt[c] + f * (adt[c + 1] - adt[c]);
		double xn = x[i] + vn * dt;
		x[i] = xn;
		v[i] = vn;
		double yn = xn * inv_dx;
		long c2 = (long)yn;
		double f2 = yn - (double)c2;
		q[c2] += w[i] - w[i] * f2;
		q[c2 + 1] += w[i] * f2;
	}
}

int main(void)
{
	const sa_adapter *sa = pic1d_adapter();
	sa_value k[PIC1D_N_KNOBS];
	for (size_t i = 0; i < sa->n_knobs; i++)
		k[i] = sa->knobs[i].def;
	/* Default diode (1 cm, 1 kV, 100 eV, 200 cells, 2 ps); a current well
	 * below the space-charge limit so every particle crosses in ~390 steps,
	 * and enough macroparticles per step to hold ~10^6 in the gap. */
	k[PIC1D_K_CURRENT].d = 100.0;
	k[PIC1D_K_PPS].i = 2600;
	char err[256];
	void *sim = sa->create(k, NULL, err, sizeof err);
	if (!sim) {
		fprintf(stderr, "bench_sim_pic1d: %s\n", err);
		return 1;
	}
	pic1d *s = sim;

	/* fill: two transit times */
	for (int i = 0; i < 800; i++)
		if (sa->step(sim, err, sizeof err) < 0) {
			fprintf(stderr, "bench_sim_pic1d: %s\n", err);
			return 1;
		}

	/*
	 * The bare loop runs on its own copy of the same particles and grid,
	 * taken just before it in each repetition so that both measurements see
	 * the same particles and the same machine load. Its passes run back to
	 * back like steps do; particles that would leave the gap keep going
	 * (up to STEPS_PER_REP cells), so its grid has PAD spare nodes per side.
	 */
	enum { PAD = STEPS_PER_REP + 4 };
	const pic1d_grid *g = &s->grid;
	const size_t nodes = g->cells + 1, cap = s->p.cap;
	double *x = malloc(cap * sizeof *x), *v = malloc(cap * sizeof *v);
	double *w = malloc(cap * sizeof *w);
	double *q = calloc(nodes + 2 * PAD, sizeof *q), *adt = calloc(nodes + 2 * PAD, sizeof *adt);
	if (!x || !v || !w || !q || !adt) {
		fprintf(stderr, "bench_sim_pic1d: out of memory\n");
		return 1;
	}

	double full[REPS], plain[REPS], ratio[REPS], particles = 0.0;
	volatile double sink = 0.0; /* keeps the bare loop's result alive */
	for (int r = 0; r < REPS; r++) {
		/* the copy for the bare loop: the state before the full steps */
		const size_t n = s->p.n;
		memcpy(x, s->p.x, n * sizeof *x);
		memcpy(v, s->p.v, n * sizeof *v);
		memcpy(w, s->p.w, n * sizeof *w);
		for (size_t i = 0; i < nodes + 2 * PAD; i++) {
			size_t j = i < PAD ? 0 : i - PAD > g->cells ? g->cells : i - PAD;
			adt[i] = g->adt[j];
		}

		double t = 0.0, ps = 0.0;
		for (int i = 0; i < STEPS_PER_REP; i++) {
			double np = (double)s->p.n;
			double t0 = bench_now();
			if (sa->step(sim, err, sizeof err) < 0) {
				fprintf(stderr, "bench_sim_pic1d: %s\n", err);
				return 1;
			}
			t += bench_now() - t0;
			ps += np;
		}
		full[r] = 1e9 * t / ps;
		particles = ps / STEPS_PER_REP;

		memset(q, 0, (nodes + 2 * PAD) * sizeof *q);
		double t0 = bench_now();
		for (int i = 0; i < STEPS_PER_REP; i++)
			plain_loop(n, x, v, w, q + PAD, adt + PAD, g->inv_dx, s->knob[PIC1D_K_DT].d);
		plain[r] = 1e9 * (bench_now() - t0) / ((double)n * STEPS_PER_REP);
		sink += q[nodes / 2];
		ratio[r] = full[r] / plain[r];
	}

	double mf = bench_median(full, REPS), mp = bench_median(plain, REPS);
	double mr = bench_median(ratio, REPS);
	printf("pic1d bench: %.0f particles in the gap, %d x %d steps, medians\n", particles, REPS,
	       STEPS_PER_REP);
	printf("pic1d step: %.2f ns/particle-step; plain loop: %.2f; ratio %.2f (target <= 1.5)\n",
	       mf, mp, mr);
	sa->destroy(sim);
	free(x);
	free(v);
	free(w);
	free(q);
	free(adt);
	return 0;
}
