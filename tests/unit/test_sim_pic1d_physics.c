/* SPDX-License-Identifier: MIT */
/*
 * test_sim_pic1d_physics.c — the pic1d adapter against analytic diode theory:
 * the Child-Langmuir law of space-charge-limited emission, and the limiting
 * current of a grounded gap (8x Child-Langmuir at the injection energy),
 * above which a virtual cathode forms.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "adapter.h"
#include "pic1d/pic1d.h"

#define E_CHARGE 1.602176634e-19
#define M_ELECTRON 9.1093837015e-31
#define EPS0 8.8541878128e-12

static const sa_adapter *sa;

/* Child-Langmuir perveance: J = K V^1.5 / d^2. */
static double cl_k(void)
{
	return 4.0 * EPS0 / 9.0 * sqrt(2.0 * E_CHARGE / M_ELECTRON);
}

static size_t knob(const char *name)
{
	int k = adapter_knob_index(sa, name);
	assert_true(k >= 0);
	return (size_t)k;
}

static size_t diag(const char *name)
{
	int d = adapter_diag_index(sa, name);
	assert_true(d >= 0);
	return (size_t)d;
}

static void set_d(sa_value *v, const char *name, double x)
{
	v[knob(name)].d = x;
}

static void set_i(sa_value *v, const char *name, int64_t x)
{
	v[knob(name)].i = x;
}

static void defaults(sa_value *v)
{
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
}

static double scalar(const void *s, const char *name)
{
	double x = NAN;
	assert_int_equal(sa->diag_read(s, diag(name), &x, 1), 1);
	return x;
}

static void *make(const sa_value *v)
{
	char err[256] = "";
	void *s = sa->create(v, NULL, err, sizeof err);
	if (!s)
		fail_msg("create: %s", err);
	return s;
}

static void step(void *s)
{
	char err[256];
	if (sa->step(s, err, sizeof err) != 0)
		fail_msg("step: %s", err);
}

/*
 * Space-charge-limited emission into a 1 kV, 1 cm gap: the transmitted
 * current is Child-Langmuir's and the potential (4/3)-power. The launch
 * energy of 1e-4 eV raises the exact current by only ~0.1 %.
 */
static void test_child_langmuir(void **state)
{
	(void)state;
	const double d = 0.01, V = 1000.0;
	sa_value v[32];
	defaults(v);
	set_i(v, "emission", 1);
	set_d(v, "gap", d);
	set_d(v, "anode_voltage", V);
	set_d(v, "injection_energy", 1e-4);
	set_i(v, "cells", 200);
	set_d(v, "dt", 2e-12);
	set_i(v, "particles_per_step", 20);
	set_i(v, "average_window", 2000);
	void *s = make(v);

	/* ~4 transit times (3d/v_anode = 0.8 ns each) to settle, then average
	 * the current over the 2000-step window and phi over its second half. */
	enum { SETTLE = 4000, AVG = 2000, CELLS = 200 };
	double phi_sum[CELLS + 1] = { 0 }, phi[CELLS + 1];
	int samples = 0;
	for (int i = 0; i < SETTLE + AVG; i++) {
		step(s);
		if (i >= SETTLE + AVG / 2 && i % 50 == 0) {
			assert_int_equal(sa->diag_read(s, diag("phi"), phi, CELLS + 1), CELLS + 1);
			for (int j = 0; j <= CELLS; j++)
				phi_sum[j] += phi[j];
			samples++;
		}
	}
	const double j_cl = cl_k() * pow(V, 1.5) / (d * d);
	const double j_tr = scalar(s, "j_transmitted");
	const double err_j = j_tr / j_cl - 1.0;
	print_message("# Child-Langmuir: J_CL %.2f A/m^2, transmitted %.2f (%+.2f %%), "
	              "injected %.2f\n",
	              j_cl, j_tr, 100 * err_j, scalar(s, "j_injected"));
	assert_true(fabs(err_j) < 0.02);
	assert_true(scalar(s, "reflected_fraction") < 1e-3);

	double worst = 0.0, worst_x = 0.0;
	for (int j = 0; j <= CELLS; j++) {
		double x = (double)j / CELLS;
		if (x <= 0.1)
			continue;
		double want = V * pow(x, 4.0 / 3.0);
		double e = fabs(phi_sum[j] / samples / want - 1.0);
		if (e > worst) {
			worst = e;
			worst_x = x;
		}
	}
	print_message("# Child-Langmuir: phi within %.2f %% of V (x/d)^(4/3) for x > 0.1 d "
	              "(worst at x = %.3f d)\n",
	              100 * worst, worst_x);
	assert_true(worst < 0.02);
	sa->destroy(s);
}

/*
 * A cold 100 eV beam into a grounded 1 cm gap. Below 8 J_CL(V0) it is
 * fully transmitted after 50 transit times; above, a virtual cathode forms.
 */
static void grounded_gap(double fraction, int *vc_seen, double *refl, double *trans)
{
	const double d = 0.01, V0 = 100.0;
	const double j_limit = 8.0 * cl_k() * pow(V0, 1.5) / (d * d);
	const double dt = 1e-11;
	sa_value v[32];
	defaults(v);
	set_d(v, "gap", d);
	set_d(v, "anode_voltage", 0.0);
	set_d(v, "injection_energy", V0);
	set_d(v, "injected_current", fraction * j_limit);
	set_i(v, "cells", 100);
	set_d(v, "dt", dt);
	set_i(v, "particles_per_step", 20);
	set_i(v, "average_window", 500);
	void *s = make(v);

	const double transit = d / sqrt(2.0 * E_CHARGE * V0 / M_ELECTRON);
	const int steps = (int)ceil(50.0 * transit / dt);
	*vc_seen = 0;
	for (int i = 0; i < steps; i++) {
		step(s);
		if (scalar(s, "virtual_cathode") != 0.0)
			*vc_seen = 1;
	}
	*refl = scalar(s, "reflected_fraction");
	*trans = scalar(s, "j_transmitted") / scalar(s, "j_injected");
	print_message("# grounded gap at %.2f x 8 J_CL(V0) = %.1f A/m^2: %d steps, "
	              "virtual cathode %s, reflected %.3f, transmitted %.3f, phi_min %.1f V\n",
	              fraction, fraction * j_limit, steps, *vc_seen ? "formed" : "never",
	              *refl, *trans, scalar(s, "phi_min"));
	sa->destroy(s);
}

static void test_grounded_gap_below_limit(void **state)
{
	(void)state;
	int vc;
	double refl, trans;
	grounded_gap(0.95, &vc, &refl, &trans);
	assert_int_equal(vc, 0);
	assert_true(refl < 1e-3);
	assert_true(fabs(trans - 1.0) < 1e-3);
}

static void test_grounded_gap_above_limit(void **state)
{
	(void)state;
	int vc;
	double refl, trans;
	grounded_gap(1.05, &vc, &refl, &trans);
	assert_int_equal(vc, 1);
	assert_true(refl > 0.1);
}

/*
 * Thermal emission: the normal energy of the emitted electrons is the
 * injection energy plus an exponential of mean kT (a flux-weighted
 * half-Maxwellian), and every velocity points into the gap. A feeble current
 * into a grounded gap leaves the first step's electrons as emitted.
 */
static void test_thermal_emission(void **state)
{
	(void)state;
	const double V0 = 10.0, kT = 5.0, J = 1e-3, dt = 1e-12;
	enum { N = 20000 };
	sa_value v[32];
	defaults(v);
	set_d(v, "anode_voltage", 0.0);
	set_d(v, "injection_energy", V0);
	set_d(v, "thermal_energy", kT);
	set_d(v, "injected_current", J);
	set_d(v, "dt", dt);
	set_i(v, "particles_per_step", N);
	set_i(v, "phase_sample", N);
	void *s = make(v);
	step(s);
	assert_true(scalar(s, "particles") == N);
	/* kinetic_energy = sum w m v^2 / 2 with sum w = J dt / e */
	double mean_ev = scalar(s, "kinetic_energy") / (J * dt / E_CHARGE) / E_CHARGE;
	print_message("# thermal emission: mean energy %.3f eV, expected %.3f eV\n", mean_ev,
	              V0 + kT);
	/* the sample mean of N exponentials is within ~0.7 % of kT (1 sigma) */
	assert_true(fabs(mean_ev - (V0 + kT)) < 0.03 * kT);
	static double vel[N];
	size_t n = sa->diag_read(s, diag("phase_v"), vel, N);
	assert_int_equal(n, N);
	const double v0 = sqrt(2.0 * E_CHARGE * V0 / M_ELECTRON);
	for (size_t i = 0; i < n; i++)
		assert_true(vel[i] >= v0 * (1.0 - 1e-9));
	sa->destroy(s);
}

/*
 * The time step and the transit time are diagnostics from creation on (no
 * step needed): the host converts hold_time with dt and chooses the search's
 * default hold from transit_time. The transit time is that of a cold
 * electron of the injection energy in the vacuum field V/d:
 * d = v0 t + (eV/md) t^2/2, or the round trip when the anode turns it back.
 */
static void test_dt_and_transit_time(void **state)
{
	(void)state;
	const double d = 0.01, dt = 1e-12;
	sa_value v[32];
	struct { double V, V0, want; } cases[] = {
		{ 0.0, 100.0, 0 },    /* d / v0 */
		{ 1000.0, 100.0, 0 }, /* accelerated */
		{ 5000.0, 0.0, 0 },   /* from rest: sqrt(2 d^2 m / eV) */
		{ -200.0, 100.0, 0 }, /* turned back: 2 v0 / |a| */
		{ -50.0, 100.0, 0 },  /* retarded, crosses */
		{ 0.0, 0.0, 0 },      /* never moves: 0 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double V = cases[i].V, V0 = cases[i].V0;
		double v0 = sqrt(2.0 * E_CHARGE * V0 / M_ELECTRON), a = E_CHARGE * V / (M_ELECTRON * d);
		double want;
		if (a == 0)
			want = v0 > 0 ? d / v0 : 0;
		else if (v0 * v0 + 2 * a * d < 0)
			want = 2 * v0 / -a;
		else
			want = (-v0 + sqrt(v0 * v0 + 2 * a * d)) / a;
		defaults(v);
		set_d(v, "gap", d);
		set_d(v, "dt", dt);
		set_d(v, "anode_voltage", V);
		set_d(v, "injection_energy", V0);
		void *s = make(v);
		assert_true(scalar(s, "dt") == dt);
		double t = scalar(s, "transit_time");
		print_message("# transit time at V = %g V, V0 = %g eV: %.6g s (expected %.6g s)\n", V, V0,
		              t, want);
		assert_true(want == 0 ? t == 0 : fabs(t / want - 1) < 1e-9);
		sa->destroy(s);
	}
}

/* Steps (of n) with virtual_cathode = 1, and with phi_min < 0. */
static void count_vc(void *s, int n, int *vc, int *dips)
{
	*vc = *dips = 0;
	for (int i = 0; i < n; i++) {
		step(s);
		*vc += scalar(s, "virtual_cathode") != 0.0;
		*dips += scalar(s, "phi_min") < 0.0;
	}
}

/*
 * virtual_cathode means a barrier that reflects, in every emission mode.
 * Space-charge-limited emission at zero energy (cold and thermal) sits at the
 * limit by construction: no barrier, so no virtual cathode. A potential below
 * 0 that reflects less than vc_threshold is no virtual cathode either (the
 * old "phi_min <= -V0" criterion fired on any negative potential with V0 = 0).
 */
static void test_virtual_cathode_in_scl_mode(void **state)
{
	(void)state;
	for (int thermal = 0; thermal <= 1; thermal++) {
		sa_value v[32];
		defaults(v);
		set_i(v, "emission", 1);
		set_d(v, "anode_voltage", 1000.0);
		set_d(v, "injection_energy", 0.0);
		set_d(v, "thermal_energy", thermal ? 0.5 : 0.0);
		set_i(v, "particles_per_step", 20);
		void *s = make(v);
		int vc, dips;
		count_vc(s, 4000, &vc, &dips);
		print_message("# scl, V0 = 0, kT = %g eV: virtual_cathode on %d of 4000 steps, "
		              "phi_min < 0 on %d, reflected %.2g\n", thermal ? 0.5 : 0.0, vc, dips,
		              scalar(s, "reflected_fraction"));
		assert_int_equal(vc, 0);
		sa->destroy(s);
	}
	/* A feeble thermal beam (kT 5 eV, V0 0) against an anode at -1 mV: the
	 * potential is below 0 everywhere, but only about 1 - exp(-0.001/5) of
	 * the electrons turn back, far below vc_threshold (1 %): no virtual
	 * cathode. */
	sa_value v[32];
	defaults(v);
	set_d(v, "anode_voltage", -0.001);
	set_d(v, "injection_energy", 0.0);
	set_d(v, "thermal_energy", 5.0);
	set_d(v, "injected_current", 0.01);
	void *s = make(v);
	int vc, dips;
	count_vc(s, 3000, &vc, &dips);
	print_message("# thermal beam, V0 = 0, anode -1 mV: virtual_cathode on %d of 3000 steps, "
	              "phi_min < 0 on %d (%.3g V), reflected %.3g\n", vc, dips, scalar(s, "phi_min"),
	              scalar(s, "reflected_fraction"));
	assert_int_equal(dips, 3000);
	assert_int_equal(vc, 0);
	assert_true(scalar(s, "reflected_fraction") < 0.005);
	sa->destroy(s);
}

/* Above the limit it does fire, in beam mode with a thermal spread too. */
static void test_virtual_cathode_thermal_beam(void **state)
{
	(void)state;
	const double j_max = cl_k() * pow(sqrt(100.0) + sqrt(1100.0), 3) / 1e-4; /* 1877 A/m^2 */
	for (int above = 0; above <= 1; above++) {
		sa_value v[32];
		defaults(v);
		set_d(v, "thermal_energy", 1.0);
		set_d(v, "injected_current", (above ? 1.3 : 0.8) * j_max);
		void *s = make(v);
		int vc, dips;
		count_vc(s, 6000, &vc, &dips);
		print_message("# thermal beam at %.1f x J_max: virtual_cathode on %d of 6000 steps\n",
		              above ? 1.3 : 0.8, vc);
		assert_true(above ? vc > 0 : vc == 0);
		sa->destroy(s);
	}
}

/*
 * The time-step check counts the thermal tail: one emitted electron in 10^6
 * has more than 13.8 kT. A dt that only the mean kT would pass is refused.
 */
static void test_courant_counts_thermal_tail(void **state)
{
	(void)state;
	const double d = 0.01, V = 1000.0, V0 = 100.0, kT = 50.0;
	const int cells = 200;
	sa_value v[32];
	defaults(v);
	set_d(v, "anode_voltage", V);
	set_d(v, "injection_energy", V0);
	set_d(v, "thermal_energy", kT);
	const double dx = d / cells;
	const double v_mean = sqrt(2 * E_CHARGE * (V0 + kT + V) / M_ELECTRON);
	const double v_tail = sqrt(2 * E_CHARGE * (V0 + 13.8155 * kT + V) / M_ELECTRON);
	set_d(v, "dt", 0.5 * (dx / v_mean + dx / v_tail)); /* fine for the mean, not the tail */
	char err[256] = "";
	void *s = sa->create(v, NULL, err, sizeof err);
	print_message("# dt between the mean's and the tail's limit: %s\n", s ? "accepted" : err);
	assert_null(s);
	assert_non_null(strstr(err, "thermal tail"));
	set_d(v, "dt", 0.99 * dx / v_tail);
	s = make(v);
	sa->destroy(s);
}

static int setup(void **state)
{
	(void)state;
	sa = pic1d_adapter();
	return sa ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_langmuir),
		cmocka_unit_test(test_grounded_gap_below_limit),
		cmocka_unit_test(test_grounded_gap_above_limit),
		cmocka_unit_test(test_thermal_emission),
		cmocka_unit_test(test_dt_and_transit_time),
		cmocka_unit_test(test_virtual_cathode_in_scl_mode),
		cmocka_unit_test(test_virtual_cathode_thermal_beam),
		cmocka_unit_test(test_courant_counts_thermal_tail),
	};
	return cmocka_run_group_tests_name("pic1d physics", tests, setup, NULL);
}
