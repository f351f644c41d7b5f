/* SPDX-License-Identifier: MIT */
/*
 * pic1d_adapter.c — the pic1d descriptor and its life cycle: create, step,
 * get/set of knobs, destroy.
 *
 * One step, from x^n, v^{n-1/2} and the field E^n:
 *   1. push every particle to x^{n+1}, v^{n+1/2}, absorbing at the electrodes
 *      and depositing the survivors' charge (pic1d_push);
 *   2. emit at the cathode — a fixed current (beam), or in scl mode the
 *      charge that cancels the cathode field left by step 1 — pushed for
 *      their part of the step in the cathode field of E^n (pic1d_inject);
 *   3. solve for E^{n+1} and update the current averages.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pic1d.h"
#include "pic1d_internal.h"

void *pic1d_create(const sa_value *values, const sa_host *host, char *err, size_t errlen)
{
	for (size_t k = 0; k < PIC1D_N_KNOBS; k++)
		if (pic1d_knob_in_bounds(k, values[k], err, errlen) < 0)
			return NULL;
	if (values[PIC1D_K_MAX_PARTICLES].i < values[PIC1D_K_PPS].i) {
		pic1d_fail(err, errlen, "max_particles (%lld) is below particles_per_step (%lld)",
		           (long long)values[PIC1D_K_MAX_PARTICLES].i,
		           (long long)values[PIC1D_K_PPS].i);
		return NULL;
	}
	if (pic1d_check_courant(values, err, errlen) < 0)
		return NULL;

	pic1d *s = calloc(1, sizeof *s);
	if (!s) {
		pic1d_fail(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(s->knob, values, sizeof s->knob);
	int oom = pic1d_grid_init(&s->grid, values[PIC1D_K_GAP].d, (size_t)values[PIC1D_K_CELLS].i) < 0 ||
	          pic1d_avg_init(&s->avg, (size_t)values[PIC1D_K_WINDOW].i) < 0;
	/* An MPI run: this rank's place (collective, so reached even after a
	 * failure here: all ranks fail together; serial: rank 0 of 1). */
	if (pic1d_par_init(s, host, oom, err, errlen) < 0) {
		pic1d_destroy(s);
		return NULL;
	}
	pic1d_field_solve(&s->grid, values[PIC1D_K_VOLTAGE].d, values[PIC1D_K_DT].d);
	if (host && host->log) {
		char msg[160];
		double transit = pic1d_transit_time(values);
		snprintf(msg, sizeof msg, "pic1d: %lld cells, dt %.3g s, transit time %.3g s (%.0f steps)",
		         (long long)values[PIC1D_K_CELLS].i, values[PIC1D_K_DT].d, transit,
		         transit / values[PIC1D_K_DT].d);
		host->log(host->ctx, SA_LOG_DEBUG, msg);
	}
	return s;
}

void pic1d_destroy(void *sim)
{
	pic1d *s = sim;
	if (!s)
		return;
	pic1d_grid_free(&s->grid);
	pic1d_particles_free(&s->p);
	pic1d_avg_free(&s->avg);
	pic1d_par_free(s);
	free(s);
}

int pic1d_step(void *sim, char *err, size_t errlen)
{
	pic1d *s = sim;
	pic1d_grid *g = &s->grid;
	const double dt = s->knob[PIC1D_K_DT].d;
	const size_t per_step = (size_t)s->knob[PIC1D_K_PPS].i;
	const size_t limit = (size_t)s->knob[PIC1D_K_MAX_PARTICLES].i;

	/* Room for this step's emission (this rank's share) first, so nothing
	 * fails half-way; in an MPI run every rank learns of a failure in the
	 * step's allreduce and fails with it (pic1d_par.c). */
	size_t need = s->p.n + pic1d_inject_share(s);
	int no_room = pic1d_particles_reserve(&s->p, need < limit ? need : limit, limit) < 0;
	if (no_room && !s->par)
		return pic1d_fail(err, errlen, "out of memory for %zu particles", need);

	/* The emitted particles start in the field the push gathers at the
	 * cathode node in E^n (see pic1d_field_solve). */
	const double cathode_accel = g->adt[0] / dt;

	pic1d_tally t = { 0 };
	pic1d_push(&s->p, g, dt, &t);
	/* MPI: sum the charge and the tallies of all ranks (serial: nothing) */
	if (pic1d_par_reduce(s, &t, no_room, err, errlen) < 0)
		return -1;

	double w_each;
	if (s->knob[PIC1D_K_EMISSION].i == PIC1D_EMIT_SCL)
		w_each = pic1d_scl_surface_weight(s) / (double)per_step;
	else
		w_each = s->knob[PIC1D_K_CURRENT].d * dt / (PIC1D_E * (double)per_step);
	pic1d_inject(s, cathode_accel, w_each, &t);

	pic1d_field_solve(g, s->knob[PIC1D_K_VOLTAGE].d, dt);
	s->kinetic_energy = 0.5 * PIC1D_ME * t.kinetic;
	const double to_current = PIC1D_E / dt;
	double cur[PIC1D_AVG_N];
	cur[PIC1D_AVG_INJ] = to_current * t.w_injected;
	cur[PIC1D_AVG_TR] = to_current * t.w_transmitted;
	cur[PIC1D_AVG_REF] = to_current * t.w_reflected;
	pic1d_avg_push(&s->avg, cur);
	s->step++;
	return 0;
}

static uint64_t pic1d_step_count(const void *sim)
{
	return ((const pic1d *)sim)->step;
}

static double pic1d_time(const void *sim)
{
	const pic1d *s = sim;
	return (double)s->step * s->knob[PIC1D_K_DT].d;
}

static sa_value pic1d_get(const void *sim, size_t k)
{
	const pic1d *s = sim;
	if (k >= PIC1D_N_KNOBS) {
		sa_value zero = { .i = 0 };
		return zero;
	}
	return s->knob[k];
}

static int pic1d_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	pic1d *s = sim;
	if (k >= PIC1D_N_KNOBS)
		return pic1d_fail(err, errlen, "no knob %zu", k);
	if (!pic1d_knobs[k].runtime)
		return pic1d_fail(err, errlen, "%s is fixed for the run", pic1d_knobs[k].name);
	if (pic1d_knob_in_bounds(k, v, err, errlen) < 0)
		return -1;
	sa_value trial[PIC1D_N_KNOBS];
	memcpy(trial, s->knob, sizeof trial);
	trial[k] = v;
	if (pic1d_check_courant(trial, err, errlen) < 0)
		return -1;
	s->knob[k] = v;
	/* The push of the next step uses the field of the new anode voltage. */
	if (k == PIC1D_K_VOLTAGE)
		pic1d_field_solve(&s->grid, v.d, s->knob[PIC1D_K_DT].d);
	return 0;
}

/*
 * openPMD particle records of the saved state: positions as saved, momentum
 * as the saved velocity times the electron mass (unitSI = m_e; the leapfrog
 * velocity is half a step behind: time offset -0.5 steps), weighting as saved
 * (electrons per m^2 of the slab: L^-2), charge and mass constant.
 */
static const sa_record pic1d_records[] = {
	{ "particles/electrons/position/x", "particles/x", 0, 1.0, { 1, 0, 0, 0, 0, 0, 0 } },
	{ "particles/electrons/momentum/x", "particles/v", -0.5, PIC1D_ME, { 1, 1, -1, 0, 0, 0, 0 } },
	{ "particles/electrons/weighting", "particles/w", 0, 1.0, { -2, 0, 0, 0, 0, 0, 0 } },
	{ "particles/electrons/charge", NULL, -PIC1D_E, 1.0, { 0, 0, 1, 1, 0, 0, 0 } },
	{ "particles/electrons/mass", NULL, PIC1D_ME, 1.0, { 0, 1, 0, 0, 0, 0, 0 } },
};

static const sa_adapter pic1d_descriptor = {
	SA_ABI_INIT,
	.name = "pic1d",
	.version = "1.0.0",
	.description = "1D electrostatic particle-in-cell planar diode (electrons, SI units)",
	.knobs = pic1d_knobs,
	.n_knobs = PIC1D_N_KNOBS,
	.diags = pic1d_diags,
	.n_diags = PIC1D_N_DIAGS,
	.create = pic1d_create,
	.destroy = pic1d_destroy,
	.step = pic1d_step,
	.step_count = pic1d_step_count,
	.time = pic1d_time,
	.get = pic1d_get,
	.set = pic1d_set,
	.diag_len = pic1d_diag_len,
	.diag_read = pic1d_diag_read,
	.save = pic1d_save,
	.restore = pic1d_restore,
	.records = pic1d_records,
	.n_records = sizeof pic1d_records / sizeof pic1d_records[0],
	.read_scalars = pic1d_read_scalars,
};

const sa_adapter *pic1d_adapter(void)
{
	return &pic1d_descriptor;
}
