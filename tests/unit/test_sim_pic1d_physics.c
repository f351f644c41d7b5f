/* SPDX-License-Identifier: GPL-3.0-or-later */
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
	void *s = sa->create(v, err, sizeof err);
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
	};
	return cmocka_run_group_tests_name("pic1d physics", tests, setup, NULL);
}
