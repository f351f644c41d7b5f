/* SPDX-License-Identifier: MIT */
/*
 * pic1d_knobs.c — the knob and diagnostic tables of the pic1d adapter and the
 * checks of relations between knobs shared by create() and set().
 */
#include <math.h>
#include <stdio.h>

#include "pic1d_internal.h"

static const char *const pic1d_emission_choices[] = { "beam", "scl", NULL };

#define DBL(v) { .d = (v) }
#define INT(v) { .i = (v) }

/*
 * Bounds are generous but keep the model meaningful: the push is
 * nonrelativistic, so voltages and energies stop at 100 kV (v ~ 0.55 c; above
 * that the speed is off by more than ~10 %).
 */
const sa_knob pic1d_knobs[PIC1D_N_KNOBS] = {
	[PIC1D_K_GAP] = { "gap", SA_DOUBLE, "m", 1e-6, 10.0, DBL(0.01),
	                  "cathode-anode distance", 0, NULL },
	[PIC1D_K_CELLS] = { "cells", SA_INT, "", 4, 1e6, INT(200),
	                    "number of grid cells across the gap", 0, NULL },
	[PIC1D_K_DT] = { "dt", SA_DOUBLE, "s", 1e-18, 1e-6, DBL(2e-12),
	                 "time step", 0, NULL },
	[PIC1D_K_PPS] = { "particles_per_step", SA_INT, "", 1, 1e7, INT(40),
	                  "macroparticles injected per time step", 0, NULL },
	[PIC1D_K_SEED] = { "seed", SA_INT, "", 0, 9007199254740992.0, INT(1),
	                   "seed of the counter-based random numbers", 0, NULL },
	[PIC1D_K_EMISSION] = { "emission", SA_ENUM, "", 0, 0, INT(PIC1D_EMIT_BEAM),
	                       "beam: inject injected_current; scl: space-charge-limited emission",
	                       0, pic1d_emission_choices },
	[PIC1D_K_WINDOW] = { "average_window", SA_INT, "", 1, 1e6, INT(500),
	                     "steps in the moving averages of the currents", 0, NULL },
	[PIC1D_K_PHASE_SAMPLE] = { "phase_sample", SA_INT, "", 0, 1e7, INT(2000),
	                           "maximum number of particles in the phase-space sample",
	                           0, NULL },
	[PIC1D_K_MAX_PARTICLES] = { "max_particles", SA_INT, "", 1, 1e9, INT(10000000),
	                            "cap on macroparticles in the gap; injection beyond it is dropped",
	                            0, NULL },
	[PIC1D_K_CURRENT] = { "injected_current", SA_DOUBLE, "A/m^2", 0, 1e9, DBL(1000.0),
	                      "injected current density in beam mode", 1, NULL },
	[PIC1D_K_VOLTAGE] = { "anode_voltage", SA_DOUBLE, "V", -1e5, 1e5, DBL(1000.0),
	                      "anode potential relative to the cathode", 1, NULL },
	[PIC1D_K_INJ_ENERGY] = { "injection_energy", SA_DOUBLE, "eV", 0, 1e5, DBL(100.0),
	                         "kinetic energy of the injected electrons", 1, NULL },
	[PIC1D_K_THERMAL] = { "thermal_energy", SA_DOUBLE, "eV", 0, 1e4, DBL(0.0),
	                      "temperature of the emitted electrons (kT), 0 = cold beam", 1, NULL },
	[PIC1D_K_VC_THRESHOLD] = { "vc_threshold", SA_DOUBLE, "", 0, 1, DBL(0.01),
	                           "reflected fraction above which virtual_cathode is 1", 1, NULL },
};

const sa_diag pic1d_diags[PIC1D_N_DIAGS] = {
	[PIC1D_D_STEP] = { "step", "", "time steps done", 0, NULL },
	[PIC1D_D_TIME] = { "time", "s", "simulated time", 0, NULL },
	[PIC1D_D_J_INJ] = { "j_injected", "A/m^2", "injected current density (moving average)", 0, NULL },
	[PIC1D_D_J_TR] = { "j_transmitted", "A/m^2",
	                   "current density reaching the anode (moving average)", 0, NULL },
	[PIC1D_D_J_REF] = { "j_reflected", "A/m^2",
	                    "current density returning to the cathode (moving average)", 0, NULL },
	[PIC1D_D_PARTICLES] = { "particles", "", "macroparticles in the gap", 0, NULL },
	[PIC1D_D_PHI_MIN] = { "phi_min", "V", "minimum of the potential over the nodes", 0, NULL },
	[PIC1D_D_PHI_MIN_X] = { "phi_min_x", "m", "position of the potential minimum", 0, NULL },
	[PIC1D_D_REF_FRACTION] = { "reflected_fraction", "",
	                           "j_reflected / j_injected (0 when nothing is injected)", 0, NULL },
	[PIC1D_D_VC] = { "virtual_cathode", "",
	                 "1 when a potential barrier returns more than vc_threshold of the emitted "
	                 "current to the cathode (reflected_fraction > vc_threshold), else 0",
	                 0, NULL },
	[PIC1D_D_FIELD_ENERGY] = { "field_energy", "J/m^2", "electrostatic energy in the gap", 0, NULL },
	[PIC1D_D_KINETIC_ENERGY] = { "kinetic_energy", "J/m^2",
	                             "kinetic energy of the particles (half-step velocities)", 0, NULL },
	[PIC1D_D_DROPPED] = { "particles_dropped", "",
	                      "macroparticles not injected because of max_particles", 0, NULL },
	[PIC1D_D_DT] = { "dt", "s", "time step (known from creation, before the first step)", 0, NULL },
	[PIC1D_D_TRANSIT] = { "transit_time", "s",
	                      "time for an electron of injection_energy to cross the empty gap "
	                      "(round trip when it cannot); the characteristic time of the diode",
	                      0, NULL },
	[PIC1D_D_X] = { "x", "m", "node positions", 1, NULL },
	[PIC1D_D_PHI] = { "phi", "V", "electric potential at the nodes", 1, "x" },
	[PIC1D_D_EFIELD] = { "efield", "V/m", "electric field at the nodes", 1, "x" },
	[PIC1D_D_RHO] = { "rho", "C/m^3", "charge density at the nodes", 1, "x" },
	[PIC1D_D_PHASE_X] = { "phase_x", "m", "positions of a strided particle sample", 1, NULL },
	[PIC1D_D_PHASE_V] = { "phase_v", "m/s", "velocities of the particle sample", 1, "phase_x" },
};

int pic1d_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The host checks bounds before create() and set(), but restore() takes knob
 * values from a file, so the adapter needs its own check.
 */
int pic1d_knob_in_bounds(size_t k, sa_value v, char *err, size_t errlen)
{
	const sa_knob *kn = &pic1d_knobs[k];
	switch (kn->type) {
	case SA_DOUBLE:
		if (!isfinite(v.d) || v.d < kn->min || v.d > kn->max)
			return pic1d_fail(err, errlen, "%s = %g is outside [%g, %g] %s", kn->name,
			                  v.d, kn->min, kn->max, kn->unit);
		return 0;
	case SA_INT:
		if ((double)v.i < kn->min || (double)v.i > kn->max)
			return pic1d_fail(err, errlen, "%s = %lld is outside [%.0f, %.0f]", kn->name,
			                  (long long)v.i, kn->min, kn->max);
		return 0;
	case SA_BOOL:
		if (v.i != 0 && v.i != 1)
			return pic1d_fail(err, errlen, "%s must be 0 or 1", kn->name);
		return 0;
	case SA_ENUM: {
		int64_t n = 0;
		while (kn->choices[n])
			n++;
		if (v.i < 0 || v.i >= n)
			return pic1d_fail(err, errlen, "%s: no such choice", kn->name);
		return 0;
	}
	}
	return pic1d_fail(err, errlen, "%s has an unknown type", kn->name);
}

double pic1d_speed_of_energy(double ev)
{
	return ev > 0 ? sqrt(2.0 * PIC1D_E * ev / PIC1D_ME) : 0.0;
}

/*
 * Time for an electron of the injection energy (cold) to cross the empty gap
 * in the vacuum field V/d: the smallest t > 0 with d = v0 t + a t^2 / 2. When
 * it cannot cross (a retarding anode), the round trip 2 v0 / |a| to its
 * turning point. 0 when an electron would not move at all (v0 = 0, V <= 0).
 * The space charge slows the beam near the limit, so the real transit is
 * longer, by at most a few times (1.5 x for Child-Langmuir flow).
 */
double pic1d_transit_time(const sa_value *knob)
{
	double d = knob[PIC1D_K_GAP].d, v0 = pic1d_speed_of_energy(knob[PIC1D_K_INJ_ENERGY].d);
	double a = PIC1D_E * knob[PIC1D_K_VOLTAGE].d / (PIC1D_ME * d);
	if (a == 0.0)
		return v0 > 0.0 ? d / v0 : 0.0;
	double disc = v0 * v0 + 2.0 * a * d;
	if (disc < 0.0)
		return 2.0 * v0 / -a;
	/* t = 2 d / (v0 + sqrt(disc)): no cancellation for either sign of a. */
	double den = v0 + sqrt(disc);
	return den > 0.0 ? 2.0 * d / den : 0.0;
}

/*
 * Normal energies of thermal emission are exponential with mean kT (see
 * pic1d_inject.c): one emitted electron in 10^6 has more than kT ln(10^6) =
 * 13.8 kT. The time-step check uses that energy, not the mean, so the
 * thermal tail does not cross cells unchecked.
 */
#define PIC1D_THERMAL_TAIL 13.815510557964274 /* ln(1e6) */

/*
 * The explicit push is only meaningful when no electron crosses more than one
 * cell per step: beyond that the deposit skips cells and the field lags the
 * charge. The fastest electron the knobs allow has the injection energy plus
 * the thermal tail (above) plus the full anode voltage (when accelerating).
 */
int pic1d_check_courant(const sa_value *knob, char *err, size_t errlen)
{
	double energy = knob[PIC1D_K_INJ_ENERGY].d + PIC1D_THERMAL_TAIL * knob[PIC1D_K_THERMAL].d +
	                fmax(knob[PIC1D_K_VOLTAGE].d, 0.0);
	double vmax = pic1d_speed_of_energy(energy);
	double dx = knob[PIC1D_K_GAP].d / (double)knob[PIC1D_K_CELLS].i;
	double dt = knob[PIC1D_K_DT].d;
	if (vmax * dt > dx)
		return pic1d_fail(err, errlen,
		                  "unstable: an electron of %g eV (injection + 13.8 kT thermal tail + "
		                  "anode voltage) crosses %.3g cells per step "
		                  "(dt must be <= %.3g s, or use fewer cells or lower energies)",
		                  energy, vmax * dt / dx, dx / vmax);
	return 0;
}
