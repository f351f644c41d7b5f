/* SPDX-License-Identifier: MIT */
/*
 * pic1d_inject.c — emission at the cathode.
 *
 * The particles of one step are emitted at stratified times inside the step
 * (t_k = t_n + (k + 1/2)/N dt), so a steady beam is a gap-free sheet of
 * charge rather than a train of bunches one step apart. Each is then pushed
 * for the rest of the step in the cathode field, and its velocity is set to
 * the leapfrog half step so the next regular push continues it exactly.
 */
#include <math.h>

#include "pic1d_internal.h"

/*
 * Space-charge-limited emission: with the charge already in the gap deposited
 * in g->q, the weight (electrons/m^2) of the surface charge that brings the
 * cathode field to zero. By Gauss, a sheet of sigma at the cathode changes
 * E(0) by sigma/eps0; only a field that pulls electrons off the cathode
 * (E(0) < 0) emits.
 */
double pic1d_scl_surface_weight(pic1d *s)
{
	pic1d_grid *g = &s->grid;
	pic1d_field_solve(g, s->knob[PIC1D_K_VOLTAGE].d, s->knob[PIC1D_K_DT].d);
	double e0 = g->e[0];
	return e0 < 0.0 ? PIC1D_EPS0 * -e0 / PIC1D_E : 0.0;
}

/*
 * Emit up to particles_per_step macroparticles of weight w_each (0: none),
 * accelerated by cathode_accel (m/s^2) for their part of the step. Those the
 * field turns back before the step ends count as reflected, those past the
 * anode as transmitted. The caller reserved room (capped at max_particles);
 * what does not fit is counted in s->dropped.
 */
void pic1d_inject(pic1d *s, double cathode_accel, double w_each, pic1d_tally *t)
{
	if (!(w_each > 0.0))
		return;
	pic1d_particles *p = &s->p;
	pic1d_grid *g = &s->grid;
	const size_t per_step = (size_t)s->knob[PIC1D_K_PPS].i;
	/* max_particles caps the count on all ranks (serially the room reserved,
	 * which is as much whenever anything is dropped) */
	const size_t limit = (size_t)s->knob[PIC1D_K_MAX_PARTICLES].i;
	const size_t room = limit > s->n_global ? limit - s->n_global : 0;
	const size_t count = per_step < room ? per_step : room;
	s->dropped += per_step - count;
	/* In an MPI run every rank emits all, deposits all and keeps its own
	 * (k % nranks == rank: pic1d_par.c); serially it keeps all. */
	const size_t stride = (size_t)s->nranks;
	size_t own = (size_t)s->rank, kept = 0;

	const double dt = s->knob[PIC1D_K_DT].d;
	const double v0 = pic1d_speed_of_energy(s->knob[PIC1D_K_INJ_ENERGY].d);
	const double kt = s->knob[PIC1D_K_THERMAL].d;
	/* Flux-weighted half-Maxwellian emission of temperature kT, then the
	 * injection energy on top: v^2 = v0^2 + (2 kT/m)(-ln u), i.e. the normal
	 * energy is exponential with mean kT. Velocities stay positive. */
	const double vth2 = 2.0 * PIC1D_E * kt / PIC1D_ME;
	const uint64_t seed = (uint64_t)s->knob[PIC1D_K_SEED].i;
	const double gap = g->gap, inv_dx = g->inv_dx, a = cathode_accel;
	const double inv_n = 1.0 / (double)per_step;
	double ke = 0.0;

	for (size_t k = 0; k < count; k++) {
		const int mine = k == own;
		if (mine)
			own += stride;
		double frac = 1.0 - ((double)k + 0.5) * inv_n; /* of the step left */
		double ve = v0;
		if (kt > 0.0)
			ve = sqrt(v0 * v0 - vth2 * log(pic1d_rng_open01(seed, s->step, k)));
		double tau = frac * dt;
		double x = (ve + 0.5 * a * tau) * tau;
		double vh = ve + a * (frac - 0.5) * dt;
		t->w_injected += w_each;
		if (x <= 0.0) {
			t->w_reflected += w_each;
			continue;
		}
		if (x >= gap) {
			t->w_transmitted += w_each;
			continue;
		}
		kept++;
		if (mine) {
			size_t i = p->n++;
			p->x[i] = x;
			p->v[i] = vh;
			p->w[i] = w_each;
		}
		double y = x * inv_dx;
		size_t c = (size_t)y;
		double f = y - (double)c;
		g->q[c] += w_each - w_each * f;
		g->q[c + 1] += w_each * f;
		ke += w_each * vh * vh;
	}
	t->kinetic += ke;
	s->n_global += kept;
}
