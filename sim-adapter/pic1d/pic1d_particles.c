/* SPDX-License-Identifier: MIT */
/*
 * pic1d_particles.c — macroparticle storage and the fused push: one pass that
 * gathers the field, advances the leapfrog, absorbs at the electrodes,
 * deposits the charge of the survivors and sums their kinetic energy, so each
 * particle's data streams through the cache once per step.
 */
#include <stdlib.h>
#include <string.h>

#include "pic1d_internal.h"

/*
 * Make room for `need` particles, growing geometrically (so steady state
 * allocates nothing) but never past `limit` (max_particles).
 */
int pic1d_particles_reserve(pic1d_particles *p, size_t need, size_t limit)
{
	if (need <= p->cap)
		return 0;
	if (need > limit)
		return -1;
	size_t cap = p->cap ? p->cap : 1024;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	double *x = realloc(p->x, cap * sizeof *x);
	if (!x)
		return -1;
	p->x = x;
	double *v = realloc(p->v, cap * sizeof *v);
	if (!v)
		return -1;
	p->v = v;
	double *w = realloc(p->w, cap * sizeof *w);
	if (!w)
		return -1;
	p->w = w;
	p->cap = cap;
	return 0;
}

void pic1d_particles_free(pic1d_particles *p)
{
	free(p->x);
	free(p->v);
	free(p->w);
	p->x = p->v = p->w = NULL;
	p->n = p->cap = 0;
}

/*
 * Advance every particle one step in the field of g->adt and deposit the
 * survivors into g->q (overwritten). Absorbed particles are replaced by the
 * last one, which is then pushed in their slot: the order of work, and so
 * every floating-point sum, depends only on the state.
 */
void pic1d_push(pic1d_particles *p, pic1d_grid *g, double dt, pic1d_tally *t)
{
	double *restrict x = p->x;
	double *restrict v = p->v;
	double *restrict w = p->w;
	double *restrict ql = g->q_lanes;
	const double *restrict adt = g->adt;
	const double inv_dx = g->inv_dx, gap = g->gap;
	const size_t nq = g->cells + 2;
	double ke = 0.0, w_tr = 0.0, w_ref = 0.0;
	size_t n = p->n, i = 0;

	memset(ql, 0, nq * PIC1D_LANES * sizeof *ql);
	while (i < n) {
		/* x is in (0, gap): the cell index is in [0, cells]. Signed
		 * conversions are one instruction; unsigned ones branch. */
		double xi = x[i] * inv_dx;
		int64_t c = (int64_t)xi;
		double f = xi - (double)c;
		double vn = v[i] + adt[c] + f * (adt[c + 1] - adt[c]);
		double xn = x[i] + vn * dt;
		if (__builtin_expect(xn <= 0.0 || xn >= gap, 0)) {
			if (xn <= 0.0)
				w_ref += w[i];
			else
				w_tr += w[i];
			n--;
			x[i] = x[n];
			v[i] = v[n];
			w[i] = w[n];
			continue;
		}
		x[i] = xn;
		v[i] = vn;
		double yn = xn * inv_dx;
		int64_t c2 = (int64_t)yn;
		double f2 = yn - (double)c2;
		double wi = w[i];
		double *lane = ql + c2 * PIC1D_LANES + (i & (PIC1D_LANES - 1));
		lane[0] += wi - wi * f2;
		lane[PIC1D_LANES] += wi * f2;
		ke += wi * vn * vn;
		i++;
	}
	p->n = n;

	_Static_assert(PIC1D_LANES == 4, "the lane sum below adds four lanes");
	double *restrict q = g->q;
	for (size_t c = 0; c < nq; c++) {
		const double *l = ql + c * PIC1D_LANES;
		q[c] = (l[0] + l[1]) + (l[2] + l[3]);
	}
	t->w_transmitted += w_tr;
	t->w_reflected += w_ref;
	t->kinetic += ke;
}
