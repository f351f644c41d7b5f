/* SPDX-License-Identifier: MIT */
/*
 * pic1d_diag.c — moving averages of the currents and the diagnostic reads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pic1d_internal.h"

int pic1d_avg_init(pic1d_avg *a, size_t window)
{
	memset(a, 0, sizeof *a);
	a->window = window;
	a->ring = calloc(window * PIC1D_AVG_N, sizeof *a->ring);
	return a->ring ? 0 : -1;
}

void pic1d_avg_free(pic1d_avg *a)
{
	free(a->ring);
	a->ring = NULL;
}

/*
 * Running sums make a step O(1) in the window; they are re-summed from the
 * ring each time it wraps so rounding cannot accumulate over a long run
 * (and a current that drops to 0 reads as 0 within one window).
 */
void pic1d_avg_push(pic1d_avg *a, const double val[PIC1D_AVG_N])
{
	double *slot = a->ring + a->pos * PIC1D_AVG_N;
	for (int k = 0; k < PIC1D_AVG_N; k++) {
		if (a->count == a->window)
			a->sum[k] -= slot[k];
		slot[k] = val[k];
		a->sum[k] += val[k];
	}
	if (a->count < a->window)
		a->count++;
	if (++a->pos == a->window) {
		a->pos = 0;
		for (int k = 0; k < PIC1D_AVG_N; k++) {
			double s = 0.0;
			for (size_t j = 0; j < a->count; j++)
				s += a->ring[j * PIC1D_AVG_N + k];
			a->sum[k] = s;
		}
	}
}

/*
 * Mean over the steps in the window, or over all steps while fewer. The
 * running sum of a current that fell to 0 may round a hair below 0 until the
 * next re-sum; a magnitude reads as 0 then.
 */
double pic1d_avg_mean(const pic1d_avg *a, int which)
{
	return a->count ? fmax(a->sum[which] / (double)a->count, 0.0) : 0.0;
}

/*
 * Stride of the phase-space sample: at most phase_sample particles. In an MPI
 * run, of this rank's particles (on rank 0, every N-th emitted: pic1d_par.c).
 */
static size_t pic1d_phase_stride(const pic1d *s)
{
	size_t cap = (size_t)s->knob[PIC1D_K_PHASE_SAMPLE].i;
	if (cap == 0)
		return 0;
	return (s->p.n + cap - 1) / cap;
}

size_t pic1d_diag_len(const void *sim, size_t d)
{
	const pic1d *s = sim;
	switch (d) {
	case PIC1D_D_X:
	case PIC1D_D_PHI:
	case PIC1D_D_EFIELD:
	case PIC1D_D_RHO:
		return s->grid.cells + 1;
	case PIC1D_D_PHASE_X:
	case PIC1D_D_PHASE_V: {
		size_t stride = pic1d_phase_stride(s);
		return stride ? (s->p.n + stride - 1) / stride : 0;
	}
	default:
		return d < PIC1D_N_DIAGS ? 1 : 0;
	}
}

static double pic1d_reflected_fraction(const pic1d *s)
{
	double inj = pic1d_avg_mean(&s->avg, PIC1D_AVG_INJ);
	return inj > 0.0 ? pic1d_avg_mean(&s->avg, PIC1D_AVG_REF) / inj : 0.0;
}

/*
 * A virtual cathode is a potential barrier in the gap that turns emitted
 * electrons back to the cathode. It is judged by what it does, which means the
 * same in every emission mode: more than vc_threshold of the emitted current
 * returns to the cathode (averaged over average_window steps). A potential
 * minimum alone is no criterion: with injection_energy 0 (scl) or thermal
 * emission a dip of a hair below 0 is noise or normal space-charge-limited
 * flow, not a barrier. A barrier that appears reflects within a few steps,
 * so the average reacts within vc_threshold * average_window steps.
 */
static double pic1d_virtual_cathode(const pic1d *s)
{
	return pic1d_reflected_fraction(s) > s->knob[PIC1D_K_VC_THRESHOLD].d ? 1.0 : 0.0;
}

static double pic1d_scalar(const pic1d *s, size_t d)
{
	switch (d) {
	case PIC1D_D_STEP: return (double)s->step;
	case PIC1D_D_TIME: return (double)s->step * s->knob[PIC1D_K_DT].d;
	case PIC1D_D_J_INJ: return pic1d_avg_mean(&s->avg, PIC1D_AVG_INJ);
	case PIC1D_D_J_TR: return pic1d_avg_mean(&s->avg, PIC1D_AVG_TR);
	case PIC1D_D_J_REF: return pic1d_avg_mean(&s->avg, PIC1D_AVG_REF);
	case PIC1D_D_PARTICLES: return (double)s->n_global;
	case PIC1D_D_PHI_MIN: return s->grid.phi_min;
	case PIC1D_D_PHI_MIN_X: return s->grid.phi_min_x;
	case PIC1D_D_REF_FRACTION: return pic1d_reflected_fraction(s);
	case PIC1D_D_VC: return pic1d_virtual_cathode(s);
	case PIC1D_D_FIELD_ENERGY: return s->grid.field_energy;
	case PIC1D_D_KINETIC_ENERGY: return s->kinetic_energy;
	case PIC1D_D_DROPPED: return (double)s->dropped;
	case PIC1D_D_DT: return s->knob[PIC1D_K_DT].d;
	case PIC1D_D_TRANSIT: return pic1d_transit_time(s->knob);
	}
	return 0.0;
}

size_t pic1d_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	const pic1d *s = sim;
	const pic1d_grid *g = &s->grid;
	size_t len = pic1d_diag_len(sim, d);
	if (len > cap)
		len = cap;
	if (d >= PIC1D_N_DIAGS || len == 0)
		return 0;
	if (pic1d_diags[d].rank == 0) {
		out[0] = pic1d_scalar(s, d);
		return 1;
	}
	size_t stride = pic1d_phase_stride(s);
	for (size_t i = 0; i < len; i++) {
		switch (d) {
		case PIC1D_D_X: out[i] = (double)i * g->dx; break;
		case PIC1D_D_PHI: out[i] = g->phi[i]; break;
		case PIC1D_D_EFIELD: out[i] = g->e[i]; break;
		case PIC1D_D_RHO: out[i] = pic1d_rho_at(g, i); break;
		case PIC1D_D_PHASE_X: out[i] = s->p.x[i * stride]; break;
		case PIC1D_D_PHASE_V: out[i] = s->p.v[i * stride]; break;
		}
	}
	return len;
}

/*
 * Every scalar at once, in the order of pic1d_diags (ABI 2.1). In an MPI run
 * they are already global on every rank (the step's one allreduce carried
 * what they are made of: pic1d_par.c), so this needs no collective and
 * agrees with diag_read exactly.
 */
int pic1d_read_scalars(const void *sim, double *out, size_t n)
{
	const pic1d *s = sim;
	size_t j = 0;
	for (size_t d = 0; d < PIC1D_N_DIAGS; d++) {
		if (pic1d_diags[d].rank != 0)
			continue;
		if (j == n)
			return -1;
		out[j++] = pic1d_scalar(s, d);
	}
	return j == n ? 0 : -1;
}
