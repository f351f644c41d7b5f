/* SPDX-License-Identifier: MIT */
/*
 * test_sim_adapter.c — the adapter host (adapter.c): loading built-in and
 * external adapters, descriptor validation, the shared knob checks; and the
 * example external adapter, examples/oscillator, as a physical model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <link.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

static char test_oscillator_path[4096]; /* <dir of argv[0]>/../examples/liboscillator.so */

#define assert_contains(hay, needle)                                                  \
	do {                                                                          \
		if (!strstr((hay), (needle)))                                         \
			fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
	} while (0)

/* cmocka 1.1.5 (Debian 12) has no assert_double_equal. tol 0: exactly equal. */
#define assert_near(a, b, tol)                                                        \
	do {                                                                          \
		double a_ = (a), b_ = (b), t_ = (tol);                                \
		if (!(fabs(a_ - b_) <= t_))                                           \
			fail_msg("%s = %.17g, expected %.17g +- %g", #a, a_, b_, t_); \
	} while (0)

/* ---- an in-memory sa_writer / sa_reader ------------------------------- */

#define STORE_MAX 32

typedef struct store_item {
	char name[64];
	sa_dtype dtype;
	size_t n;
	unsigned char data[8 * 256];
} store_item;

typedef struct store {
	store_item item[STORE_MAX];
	size_t n;
} store;

static store_item *store_find(store *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->item[i].name, name) == 0)
			return &st->item[i];
	return NULL;
}

static int store_put(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data)
{
	store *st = ctx;
	if (store_find(st, name) || st->n == STORE_MAX || n * 8 > sizeof st->item[0].data ||
	    strlen(name) >= sizeof st->item[0].name)
		return -1;
	store_item *it = &st->item[st->n++];
	snprintf(it->name, sizeof it->name, "%s", name);
	it->dtype = dtype;
	it->n = n;
	memcpy(it->data, data, n * 8);
	return 0;
}

static int store_put_attr(void *ctx, const char *name, sa_dtype dtype, const void *value)
{
	return store_put(ctx, name, dtype, 1, value);
}

static int store_size(void *ctx, const char *name, sa_dtype dtype, size_t *n)
{
	store_item *it = store_find(ctx, name);
	if (!it || it->dtype != dtype)
		return -1;
	*n = it->n;
	return 0;
}

static int store_get(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out)
{
	store_item *it = store_find(ctx, name);
	if (!it || it->dtype != dtype || it->n != n)
		return -1;
	memcpy(out, it->data, n * 8);
	return 0;
}

static int store_get_attr(void *ctx, const char *name, sa_dtype dtype, void *out)
{
	return store_get(ctx, name, dtype, 1, out);
}

static sa_writer store_writer(store *st)
{
	return (sa_writer){ st, store_put, store_put_attr, store_put };
}

static sa_reader store_reader(store *st)
{
	return (sa_reader){ st, store_size, store_get, store_get_attr, store_size, store_get };
}

/* ---- helpers ------------------------------------------------------------ */

static void defaults(const sa_adapter *sa, sa_value *values)
{
	for (size_t k = 0; k < sa->n_knobs; k++)
		values[k] = sa->knobs[k].def;
}

static size_t knob(const sa_adapter *sa, const char *name)
{
	int k = adapter_knob_index(sa, name);
	if (k < 0)
		fail_msg("no knob '%s'", name);
	return (size_t)k;
}

static double scalar(const sa_adapter *sa, const void *sim, const char *name)
{
	int d = adapter_diag_index(sa, name);
	if (d < 0)
		fail_msg("no diagnostic '%s'", name);
	assert_int_equal(sa->diags[d].rank, 0);
	assert_int_equal(sa->diag_len(sim, (size_t)d), 1);
	double x = NAN;
	assert_int_equal(sa->diag_read(sim, (size_t)d, &x, 1), 1);
	return x;
}

static void set_knob(const sa_adapter *sa, void *sim, const char *name, double x)
{
	char err[256] = "";
	size_t k = knob(sa, name);
	if (sa->set(sim, k, (sa_value){ .d = x }, err, sizeof err) != 0)
		fail_msg("set %s = %g: %s", name, x, err);
}

static void step_n(const sa_adapter *sa, void *sim, int n)
{
	char err[256] = "";
	for (int i = 0; i < n; i++)
		if (sa->step(sim, err, sizeof err) != 0)
			fail_msg("step %d: %s", i, err);
}

static adapter *load_oscillator(void)
{
	char err[512] = "";
	adapter *a = adapter_load(test_oscillator_path, err, sizeof err);
	if (!a)
		fail_msg("cannot load %s: %s", test_oscillator_path, err);
	return a;
}

static void *create_defaults(const sa_adapter *sa)
{
	sa_value values[32];
	char err[256] = "";
	assert_true(sa->n_knobs <= 32);
	defaults(sa, values);
	void *sim = sa->create(values, NULL, err, sizeof err);
	if (!sim)
		fail_msg("create with defaults: %s", err);
	return sim;
}

/* ---- loading ------------------------------------------------------------ */

static void test_load_pic1d(void **state)
{
	(void)state;
	char err[512] = "";
	adapter *a = adapter_load("pic1d", err, sizeof err);
	if (!a)
		fail_msg("adapter_load(pic1d): %s", err);
	assert_string_equal(a->sa->name, "pic1d");
	assert_string_equal(a->source, "builtin");
	assert_null(a->dl);
	assert_int_equal(adapter_validate(a->sa, true, err, sizeof err), 0);

	/* A smoke run with defaults: create, one step, destroy. */
	void *sim = create_defaults(a->sa);
	assert_int_equal(a->sa->step_count(sim), 0);
	step_n(a->sa, sim, 1);
	assert_int_equal(a->sa->step_count(sim), 1);
	assert_true(a->sa->time(sim) > 0.0);
	a->sa->destroy(sim);
	a->sa->destroy(NULL);
	adapter_destroy(&a);
	assert_null(a);
	adapter_destroy(&a); /* NULL-safe */
	adapter_destroy(NULL);
}

static void test_builtin_names(void **state)
{
	(void)state;
	const char *const *names = adapter_builtin_names();
	bool pic1d = false;
	for (size_t i = 0; names[i]; i++)
		pic1d |= strcmp(names[i], "pic1d") == 0;
	assert_true(pic1d);
}

static void test_load_unknown_builtin(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(adapter_load("nosuch", err, sizeof err));
	assert_contains(err, "unknown adapter 'nosuch'");
	assert_contains(err, "pic1d"); /* lists what is built in */
	assert_contains(err, ".so");   /* and says how to name an external one */

	/* A short buffer still gets a NUL-terminated prefix. */
	char small[12];
	memset(small, 'x', sizeof small);
	assert_null(adapter_load("nosuch", small, sizeof small));
	assert_true(memchr(small, '\0', sizeof small) != NULL);
}

static void test_load_missing_file(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(adapter_load("./no/such/dir/libnope.so", err, sizeof err));
	assert_contains(err, "cannot load adapter");
	assert_contains(err, "libnope.so");
	/* ".so" without a '/' is still a file, not a built-in name. */
	assert_null(adapter_load("libnope-steerd-test.so", err, sizeof err));
	assert_contains(err, "libnope-steerd-test.so");
}

/* A real shared object without the entry symbol: libm, found via dlinfo. */
static void test_load_without_entry(void **state)
{
	(void)state;
	void *m = dlopen("libm.so.6", RTLD_NOW);
	assert_non_null(m);
	struct link_map *lm = NULL;
	assert_int_equal(dlinfo(m, RTLD_DI_LINKMAP, &lm), 0);
	assert_true(lm && lm->l_name && strchr(lm->l_name, '/'));
	char path[1024], err[2048] = "";
	snprintf(path, sizeof path, "%s", lm->l_name);
	dlclose(m);

	assert_null(adapter_load(path, err, sizeof err));
	assert_contains(err, path);
	assert_contains(err, "does not export steerd_adapter_entry()");
}

/* ---- the example adapter ------------------------------------------------ */

static void test_oscillator_loads(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	assert_string_equal(sa->name, "oscillator");
	assert_string_equal(a->source, test_oscillator_path);
	assert_non_null(a->dl);
	/* The knobs and diagnostics the README promises. */
	const char *fixed[] = { "dt", "mass", "initial_position", "initial_velocity" };
	const char *runtime[] = { "omega0", "damping", "drive_amplitude", "drive_frequency" };
	for (size_t i = 0; i < 4; i++) {
		assert_false(sa->knobs[knob(sa, fixed[i])].runtime);
		assert_true(sa->knobs[knob(sa, runtime[i])].runtime);
	}
	int h = adapter_diag_index(sa, "history");
	assert_true(h >= 0);
	assert_int_equal(sa->diags[h].rank, 1);
	assert_string_equal(sa->diags[h].axis, "history_t");
	adapter_destroy(&a);
}

/* Undamped, undriven, x0 = 1, v0 = 0: x = cos(w0 t), energy constant. */
static void test_oscillator_undamped(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *sim = create_defaults(sa);
	double w0 = sa->get(sim, knob(sa, "omega0")).d, dt = sa->get(sim, knob(sa, "dt")).d;
	assert_near(sa->get(sim, knob(sa, "damping")).d, 0.0, 0.0);
	assert_near(sa->get(sim, knob(sa, "drive_amplitude")).d, 0.0, 0.0);
	double e0 = scalar(sa, sim, "energy");
	assert_true(e0 > 0.0);
	assert_near(scalar(sa, sim, "time"), 0.0, 0.0);

	for (int i = 0; i < 1000; i++) {
		step_n(sa, sim, 1);
		double e = scalar(sa, sim, "energy");
		if (fabs(e - e0) > 1e-6 * e0)
			fail_msg("step %d: energy %.17g drifted from %.17g", i, e, e0);
	}
	assert_int_equal(sa->step_count(sim), 1000);
	double t = sa->time(sim);
	assert_near(t, 1000 * dt, 1e-12);
	assert_near(scalar(sa, sim, "time"), t, 0.0);
	assert_near(scalar(sa, sim, "position"), cos(w0 * t), 1e-8);
	assert_near(scalar(sa, sim, "velocity"), -w0 * sin(w0 * t), 1e-7);

	/* history: the last 64 positions, oldest first, on the history_t axis. */
	int dh = adapter_diag_index(sa, "history"), dt_axis = adapter_diag_index(sa, "history_t");
	assert_int_equal(sa->diag_len(sim, (size_t)dh), 64);
	assert_int_equal(sa->diag_len(sim, (size_t)dt_axis), 64);
	double hx[64], ht[64];
	assert_int_equal(sa->diag_read(sim, (size_t)dh, hx, 64), 64);
	assert_int_equal(sa->diag_read(sim, (size_t)dt_axis, ht, 64), 64);
	assert_near(hx[63], scalar(sa, sim, "position"), 0.0);
	assert_near(ht[63], t, 0.0);
	for (int i = 0; i < 64; i++) {
		assert_near(ht[i], (937 + i) * dt, 1e-12);
		assert_near(hx[i], cos(w0 * ht[i]), 1e-8);
	}
	/* cap is respected */
	assert_int_equal(sa->diag_read(sim, (size_t)dh, hx, 10), 10);
	assert_int_equal(sa->diag_read(sim, (size_t)dh, hx, 0), 0);

	sa->destroy(sim);
	adapter_destroy(&a);
}

/* A fresh run has a one-sample history: the initial state. */
static void test_oscillator_history_starts(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *sim = create_defaults(sa);
	int dh = adapter_diag_index(sa, "history");
	assert_int_equal(sa->diag_len(sim, (size_t)dh), 1);
	step_n(sa, sim, 9);
	assert_int_equal(sa->diag_len(sim, (size_t)dh), 10);
	sa->destroy(sim);
	adapter_destroy(&a);
}

/* Damped, undriven: dE/dt = -4 zeta w0 E_kin <= 0; on average E ~ exp(-2 zeta w0 t). */
static void test_oscillator_damped(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *sim = create_defaults(sa);
	double w0 = sa->get(sim, knob(sa, "omega0")).d;
	set_knob(sa, sim, "damping", 0.1);
	double e0 = scalar(sa, sim, "energy"), prev = e0;
	for (int i = 0; i < 1000; i++) {
		step_n(sa, sim, 1);
		double e = scalar(sa, sim, "energy");
		if (e > prev * (1.0 + 1e-12))
			fail_msg("step %d: damped energy rose from %.17g to %.17g", i, prev, e);
		prev = e;
	}
	double ratio = prev / e0, expect = exp(-2.0 * 0.1 * w0 * sa->time(sim));
	if (!(ratio > 0.8 * expect && ratio < 1.25 * expect))
		fail_msg("energy ratio %g, expected about %g", ratio, expect);
	sa->destroy(sim);
	adapter_destroy(&a);
}

/* Driven and damped: the steady amplitude is F/m / sqrt((w0^2-w^2)^2 + (2 zeta w0 w)^2). */
static void test_oscillator_driven(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *sim = create_defaults(sa);
	double w0 = sa->get(sim, knob(sa, "omega0")).d, m = sa->get(sim, knob(sa, "mass")).d;
	double zeta = 0.5, f = 2.0, w = 3.0;
	set_knob(sa, sim, "damping", zeta);
	set_knob(sa, sim, "drive_amplitude", f);
	set_knob(sa, sim, "drive_frequency", w);
	step_n(sa, sim, 10000); /* the transient decays as exp(-zeta w0 t) ~ e^-31 */
	double amp = 0.0;
	for (int i = 0; i < 2200; i++) { /* > one drive period of 2.09 s */
		step_n(sa, sim, 1);
		amp = fmax(amp, fabs(scalar(sa, sim, "position")));
	}
	double expect = f / m / sqrt(pow(w0 * w0 - w * w, 2) + pow(2 * zeta * w0 * w, 2));
	assert_near(amp, expect, 1e-4 * expect);
	sa->destroy(sim);
	adapter_destroy(&a);
}

static void test_oscillator_set_refusals(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *sim = create_defaults(sa);
	char err[256] = "";

	/* A fixed knob is refused by the adapter itself, and stays as it was. */
	size_t kdt = knob(sa, "dt");
	double dt = sa->get(sim, kdt).d;
	assert_int_equal(sa->set(sim, kdt, (sa_value){ .d = 2e-3 }, err, sizeof err), -1);
	assert_contains(err, "dt");
	assert_contains(err, "fixed");
	assert_near(sa->get(sim, kdt).d, dt, 0.0);
	err[0] = '\0';
	assert_int_equal(sa->set(sim, knob(sa, "mass"), (sa_value){ .d = 2.0 }, err, sizeof err), -1);
	assert_contains(err, "mass");

	/* A runtime knob within bounds but unstable with this dt is refused too. */
	size_t kw = knob(sa, "omega0");
	double w0 = sa->get(sim, kw).d;
	assert_true(1e5 <= sa->knobs[kw].max);
	assert_int_equal(sa->set(sim, kw, (sa_value){ .d = 1e5 }, err, sizeof err), -1);
	assert_contains(err, "unstable");
	assert_near(sa->get(sim, kw).d, w0, 0.0);
	/* A legal change goes through ... */
	set_knob(sa, sim, "omega0", 20.0);
	assert_near(sa->get(sim, kw).d, 20.0, 0.0);
	/* ... but then heavy overdamping, whose fast rate is ~2 zeta w0, does not. */
	set_knob(sa, sim, "damping", 50.0); /* rate ~2000/s: dt * rate = 2.0 */
	assert_int_equal(sa->set(sim, knob(sa, "damping"), (sa_value){ .d = 100.0 }, err,
	                         sizeof err), -1);
	assert_contains(err, "unstable");
	assert_near(sa->get(sim, knob(sa, "damping")).d, 50.0, 0.0);
	sa->destroy(sim);

	/* create checks the same relation */
	sa_value values[32];
	defaults(sa, values);
	values[kw].d = 5000.0;
	assert_null(sa->create(values, NULL, err, sizeof err));
	assert_contains(err, "unstable");
	adapter_destroy(&a);
}

/* Compares every diagnostic bitwise. */
static void assert_same_diags(const sa_adapter *sa, const void *x, const void *y, int step)
{
	for (size_t d = 0; d < sa->n_diags; d++) {
		double bx[64], by[64];
		size_t nx = sa->diag_read(x, d, bx, 64), ny = sa->diag_read(y, d, by, 64);
		if (nx != ny || memcmp(bx, by, nx * sizeof bx[0]) != 0)
			fail_msg("step %d: diagnostic %s differs after restore", step,
			         sa->diags[d].name);
	}
	assert_int_equal(sa->step_count(x), sa->step_count(y));
	double tx = sa->time(x), ty = sa->time(y);
	assert_memory_equal(&tx, &ty, sizeof tx);
}

/* Runs to step 500 with runtime changes, saves; returns the running sim. */
static void *run_and_save(const sa_adapter *sa, store *st)
{
	void *sim = create_defaults(sa);
	step_n(sa, sim, 200);
	set_knob(sa, sim, "damping", 0.05);
	set_knob(sa, sim, "drive_amplitude", 2.0);
	set_knob(sa, sim, "drive_frequency", 3.0);
	step_n(sa, sim, 300);
	char err[256] = "";
	sa_writer w = store_writer(st);
	if (sa->save(sim, &w, err, sizeof err) != 0)
		fail_msg("save: %s", err);
	return sim;
}

/* A fresh instance as the host makes one for restore: created with the current knobs. */
static void *fresh_like(const sa_adapter *sa, const void *sim)
{
	sa_value values[32];
	char err[256] = "";
	for (size_t k = 0; k < sa->n_knobs; k++)
		values[k] = sa->get(sim, k);
	void *fresh = sa->create(values, NULL, err, sizeof err);
	if (!fresh)
		fail_msg("create: %s", err);
	return fresh;
}

static void test_oscillator_save_restore(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	static store st;
	memset(&st, 0, sizeof st);
	void *sim = run_and_save(sa, &st);
	void *copy = fresh_like(sa, sim);
	char err[256] = "";
	sa_reader r = store_reader(&st);
	if (sa->restore(copy, &r, err, sizeof err) != 0)
		fail_msg("restore: %s", err);
	assert_same_diags(sa, sim, copy, 500);
	for (size_t k = 0; k < sa->n_knobs; k++)
		assert_true(adapter_value_equal(&sa->knobs[k], sa->get(sim, k), sa->get(copy, k)));
	for (int i = 1; i <= 1000; i++) {
		step_n(sa, sim, 1);
		step_n(sa, copy, 1);
		assert_same_diags(sa, sim, copy, 500 + i);
	}
	/* Saving the restored copy again gives the same bytes. */
	static store st2, st3;
	memset(&st2, 0, sizeof st2);
	memset(&st3, 0, sizeof st3);
	sa_writer w2 = store_writer(&st2), w3 = store_writer(&st3);
	assert_int_equal(sa->save(sim, &w2, err, sizeof err), 0);
	assert_int_equal(sa->save(copy, &w3, err, sizeof err), 0);
	assert_int_equal(st2.n, st3.n);
	for (size_t i = 0; i < st2.n; i++) {
		assert_string_equal(st2.item[i].name, st3.item[i].name);
		assert_int_equal(st2.item[i].n, st3.item[i].n);
		assert_memory_equal(st2.item[i].data, st3.item[i].data, st2.item[i].n * 8);
	}
	sa->destroy(sim);
	sa->destroy(copy);
	adapter_destroy(&a);
}

/* Restores a tampered copy of a good state; must fail with a message naming why. */
static void expect_restore_fails(const sa_adapter *sa, const store *good, const void *like,
                                 void (*tamper)(store *), const char *why)
{
	static store st;
	st = *good;
	tamper(&st);
	void *sim = fresh_like(sa, like);
	char err[256] = "";
	sa_reader r = store_reader(&st);
	assert_int_equal(sa->restore(sim, &r, err, sizeof err), -1);
	assert_contains(err, why);
	sa->destroy(sim);
}

static void put_f64(store *st, const char *name, size_t i, double x)
{
	store_item *it = store_find(st, name);
	assert_non_null(it);
	memcpy(it->data + 8 * i, &x, 8);
}

static void drop(store *st, const char *name)
{
	store_item *it = store_find(st, name);
	assert_non_null(it);
	it->name[0] = '\0';
}

static void nan_x(store *st) { put_f64(st, "x", 0, NAN); }
static void inf_v(store *st) { put_f64(st, "v", 0, -INFINITY); }
static void nan_history(store *st) { put_f64(st, "history/x", 17, NAN); }
static void no_step(store *st) { drop(st, "step"); }
static void no_knobs(store *st) { drop(st, "knobs"); }
static void long_history(store *st)
{
	store_find(st, "history/x")->n = 65;
	store_find(st, "history/t")->n = 65;
}
static void empty_history(store *st)
{
	store_find(st, "history/x")->n = 0;
	store_find(st, "history/t")->n = 0;
}
static void uneven_history(store *st) { store_find(st, "history/t")->n = 10; }
static void few_knobs(store *st) { store_find(st, "knobs")->n = 3; }
static void other_dt(store *st) { put_f64(st, "knobs", 0, 2e-3); }          /* dt is knob 0 */
static void bad_damping(store *st) { put_f64(st, "knobs", 5, -1.0); }      /* damping */
static void unstable(store *st) { put_f64(st, "knobs", 4, 1e5); }          /* omega0 */
static void x_as_int(store *st) { store_find(st, "x")->dtype = SA_I64; }

static void test_oscillator_restore_checks(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	/* The tamperers above rely on the knob order. */
	assert_int_equal(knob(sa, "dt"), 0);
	assert_int_equal(knob(sa, "omega0"), 4);
	assert_int_equal(knob(sa, "damping"), 5);
	static store good;
	memset(&good, 0, sizeof good);
	void *sim = run_and_save(sa, &good);

	expect_restore_fails(sa, &good, sim, nan_x, "not finite");
	expect_restore_fails(sa, &good, sim, inf_v, "not finite");
	expect_restore_fails(sa, &good, sim, nan_history, "history/x");
	expect_restore_fails(sa, &good, sim, no_step, "lacks");
	expect_restore_fails(sa, &good, sim, no_knobs, "knobs");
	expect_restore_fails(sa, &good, sim, long_history, "65 elements");
	expect_restore_fails(sa, &good, sim, empty_history, "0 elements");
	expect_restore_fails(sa, &good, sim, uneven_history, "times");
	expect_restore_fails(sa, &good, sim, few_knobs, "3 knobs");
	expect_restore_fails(sa, &good, sim, other_dt, "dt");
	expect_restore_fails(sa, &good, sim, bad_damping, "damping");
	expect_restore_fails(sa, &good, sim, unstable, "unstable");
	expect_restore_fails(sa, &good, sim, x_as_int, "lacks");

	/* A failed restore leaves the instance untouched (the host destroys it anyway). */
	void *fresh = fresh_like(sa, sim), *ref = fresh_like(sa, sim);
	static store st;
	st = good;
	nan_history(&st);
	char err[256];
	sa_reader r = store_reader(&st);
	assert_int_equal(sa->restore(fresh, &r, err, sizeof err), -1);
	assert_same_diags(sa, fresh, ref, 0);
	sa->destroy(fresh);
	sa->destroy(ref);
	sa->destroy(sim);
	adapter_destroy(&a);
}

/* Two instances share nothing. */
static void test_oscillator_instances_independent(void **state)
{
	(void)state;
	adapter *a = load_oscillator();
	const sa_adapter *sa = a->sa;
	void *s1 = create_defaults(sa), *s2 = create_defaults(sa), *ref = create_defaults(sa);
	set_knob(sa, s1, "damping", 0.3);
	for (int i = 0; i < 100; i++) {
		step_n(sa, s1, 1);
		step_n(sa, s2, 1);
		step_n(sa, ref, 1);
	}
	assert_same_diags(sa, s2, ref, 100);
	assert_true(scalar(sa, s1, "energy") < scalar(sa, s2, "energy"));
	sa->destroy(s1);
	sa->destroy(s2);
	sa->destroy(ref);
	adapter_destroy(&a);
}

/* ---- adapter_validate on crafted descriptors ---------------------------- */

static void *stub_create(const sa_value *v, const sa_host *h, char *e, size_t n) { (void)v; (void)h; (void)e; (void)n; return NULL; }
static void stub_destroy(void *s) { (void)s; }
static int stub_step(void *s, char *e, size_t n) { (void)s; (void)e; (void)n; return 0; }
static uint64_t stub_count(const void *s) { (void)s; return 0; }
static double stub_time(const void *s) { (void)s; return 0.0; }
static sa_value stub_get(const void *s, size_t k) { (void)s; (void)k; return (sa_value){ .i = 0 }; }
static int stub_set(void *s, size_t k, sa_value v, char *e, size_t n)
{
	(void)s; (void)k; (void)v; (void)e; (void)n;
	return 0;
}
static size_t stub_len(const void *s, size_t d) { (void)s; (void)d; return 1; }
static size_t stub_read(const void *s, size_t d, double *o, size_t c)
{
	(void)s; (void)d; (void)o; (void)c;
	return 0;
}
static int stub_save(const void *s, const sa_writer *w, char *e, size_t n)
{
	(void)s; (void)w; (void)e; (void)n;
	return 0;
}
static int stub_restore(void *s, const sa_reader *r, char *e, size_t n)
{
	(void)s; (void)r; (void)e; (void)n;
	return 0;
}

static const char *const mode_choices[] = { "fast", "exact", NULL };
static const char *const no_choices[] = { NULL };

/* A valid descriptor the tests below break one field at a time. */
typedef struct crafted {
	sa_knob knobs[4];
	sa_diag diags[4];
	sa_adapter sa;
} crafted;

static void craft(crafted *c)
{
	memset(c, 0, sizeof *c);
	c->knobs[0] = (sa_knob){ "dt", SA_DOUBLE, "s", 0.0, 1.0, { .d = 0.5 }, "step", 0, NULL };
	c->knobs[1] = (sa_knob){ "n", SA_INT, "", 1, 100, { .i = 10 }, "count", 0, NULL };
	c->knobs[2] = (sa_knob){ "on", SA_BOOL, "", 0, 0, { .i = 1 }, "switch", 1, NULL };
	c->knobs[3] = (sa_knob){ "mode", SA_ENUM, "", 0, 0, { .i = 1 }, "mode", 1, mode_choices };
	c->diags[0] = (sa_diag){ "e", "J", "energy", 0, NULL };
	c->diags[1] = (sa_diag){ "rho", "C/m^3", "density", 1, "x" };
	c->diags[2] = (sa_diag){ "x", "m", "grid", 1, NULL };
	c->diags[3] = (sa_diag){ "phi", "V", "potential", 1, "x" };
	c->sa = (sa_adapter){
		SA_ABI_INIT, .name = "crafted", .version = "0", .description = "t",
		.knobs = c->knobs, .n_knobs = 4, .diags = c->diags, .n_diags = 4,
		.create = stub_create, .destroy = stub_destroy, .step = stub_step,
		.step_count = stub_count, .time = stub_time, .get = stub_get, .set = stub_set,
		.diag_len = stub_len, .diag_read = stub_read, .save = stub_save,
		.restore = stub_restore,
	};
}

static void expect_invalid(const crafted *c, const char *why1, const char *why2)
{
	char err[256] = "";
	assert_int_equal(adapter_validate(&c->sa, true, err, sizeof err), -1);
	assert_contains(err, why1);
	if (why2)
		assert_contains(err, why2);
}

static void test_validate(void **state)
{
	(void)state;
	crafted c;
	char err[256] = "";

	craft(&c);
	if (adapter_validate(&c.sa, true, err, sizeof err) != 0)
		fail_msg("the crafted descriptor should be valid: %s", err);

	assert_int_equal(adapter_validate(NULL, true, err, sizeof err), -1);
	assert_contains(err, "NULL");

	craft(&c);
	c.sa.abi_major = 3;
	expect_invalid(&c, "adapter ABI 3", "steerd speaks ABI 2.1");

	craft(&c);
	c.sa.version = NULL;
	expect_invalid(&c, "lacks a name", NULL);

	craft(&c);
	c.sa.step = NULL;
	expect_invalid(&c, "crafted", "NULL");
	craft(&c);
	c.sa.restore = NULL;
	expect_invalid(&c, "save without restore", NULL);

	craft(&c);
	c.sa.knobs = NULL;
	expect_invalid(&c, "no knobs", NULL);
	craft(&c);
	c.sa.diags = NULL;
	expect_invalid(&c, "no diags", NULL);
	craft(&c); /* zero knobs and diags are fine */
	c.sa.knobs = NULL;
	c.sa.n_knobs = 0;
	c.sa.diags = NULL;
	c.sa.n_diags = 0;
	assert_int_equal(adapter_validate(&c.sa, true, err, sizeof err), 0);

	craft(&c);
	c.knobs[2].name = "dt";
	expect_invalid(&c, "'dt'", "twice");

	craft(&c);
	c.knobs[1].name = "Bad-Name";
	expect_invalid(&c, "knob 1", "invalid name");
	craft(&c);
	c.knobs[1].name = NULL;
	expect_invalid(&c, "knob 1", "invalid name");
	craft(&c);
	c.knobs[1].name = "2n";
	expect_invalid(&c, "invalid name", NULL);

	craft(&c);
	c.knobs[0].unit = NULL;
	expect_invalid(&c, "'dt'", "unit");

	craft(&c);
	c.knobs[0].def.d = 1.5;
	expect_invalid(&c, "default of knob 'dt'", "out of range");
	craft(&c);
	c.knobs[0].def.d = NAN;
	expect_invalid(&c, "default of knob 'dt'", "finite");
	craft(&c);
	c.knobs[1].def.i = 0;
	expect_invalid(&c, "default of knob 'n'", NULL);
	craft(&c);
	c.knobs[2].def.i = 2;
	expect_invalid(&c, "default of knob 'on'", "true or false");
	craft(&c);
	c.knobs[3].def.i = 2;
	expect_invalid(&c, "default of knob 'mode'", "choice");

	craft(&c);
	c.knobs[0].min = 2.0;
	expect_invalid(&c, "'dt'", "min > max");
	craft(&c);
	c.knobs[0].max = NAN;
	expect_invalid(&c, "'dt'", "min > max");

	craft(&c);
	c.knobs[3].choices = NULL;
	expect_invalid(&c, "enum knob 'mode'", "no choices");
	craft(&c);
	c.knobs[3].choices = no_choices;
	expect_invalid(&c, "enum knob 'mode'", "no choices");

	craft(&c);
	c.knobs[0].type = (sa_type)9;
	expect_invalid(&c, "'dt'", "unknown type");

	craft(&c);
	c.diags[1].axis = "y";
	expect_invalid(&c, "'rho'", "missing axis 'y'");
	craft(&c);
	c.diags[2].rank = 2;
	expect_invalid(&c, "diagnostic 2", "malformed");
	craft(&c);
	c.diags[0].unit = NULL;
	expect_invalid(&c, "malformed", NULL);
	craft(&c);
	c.diags[3].name = "rho";
	expect_invalid(&c, "'rho'", "twice");
	/* An axis must be an array, and only arrays have one. */
	craft(&c);
	c.diags[1].axis = "e";
	expect_invalid(&c, "'rho'", "scalar");
	craft(&c);
	c.diags[0].axis = "x";
	expect_invalid(&c, "'e'", "scalar");
	/* Regression: a later malformed diagnostic (NULL name) is reported, not
	 * dereferenced while looking up an earlier one's axis. */
	craft(&c);
	c.diags[1].axis = "nope";
	c.diags[3].name = NULL;
	expect_invalid(&c, "diagnostic 3", "malformed");
}

/* ---- adapter_normalize: descriptors of other ABI versions ---------------- */

/* ABI 2.0's sa_adapter ends where 2.1 appended read_scalars. */
#define SIZE_2_0 offsetof(sa_adapter, read_scalars)

static int rs_stub(const void *s, double *o, size_t n) { (void)s; (void)o; (void)n; return 0; }
static int later_stub(void) { return 0; }

static void test_normalize(void **state)
{
	(void)state;
	crafted c;
	sa_adapter out;
	char err[256] = "";

	/* This minor: copied as is. */
	craft(&c);
	c.sa.read_scalars = rs_stub;
	assert_int_equal(adapter_normalize(&c.sa, &out, err, sizeof err), 0);
	assert_ptr_equal(out.read_scalars, rs_stub);
	assert_ptr_equal(out.get, stub_get);
	assert_int_equal(out.size, sizeof(sa_adapter));

	/* 2.0: its descriptor stops before read_scalars, and what follows it in
	 * memory (here a non-NULL pointer) is not the adapter's. */
	craft(&c);
	c.sa.abi_minor = 0;
	c.sa.size = SIZE_2_0;
	c.sa.read_scalars = rs_stub;
	assert_int_equal(adapter_normalize(&c.sa, &out, err, sizeof err), 0);
	assert_null(out.read_scalars);
	assert_ptr_equal(out.restore, stub_restore);
	assert_int_equal(out.abi_minor, 0);
	assert_int_equal(out.size, sizeof(sa_adapter));
	assert_int_equal(adapter_validate(&out, true, err, sizeof err), 0);

	/* A later minor with fields appended: read up to what this host knows. */
	struct {
		sa_adapter known;
		int (*later[3])(void);
	} future;
	craft(&c);
	future.known = c.sa;
	future.known.abi_minor = SA_ABI_MINOR + 5;
	future.known.size = sizeof future;
	future.known.read_scalars = rs_stub;
	future.later[0] = future.later[1] = future.later[2] = later_stub;
	assert_int_equal(adapter_normalize(&future.known, &out, err, sizeof err), 0);
	assert_ptr_equal(out.read_scalars, rs_stub);
	assert_int_equal(out.abi_minor, SA_ABI_MINOR + 5);
	assert_int_equal(out.size, sizeof(sa_adapter));
	assert_int_equal(adapter_validate(&out, true, err, sizeof err), 0);

	/* ABI 1: its first (and only) version field was 1. */
	struct {
		uint32_t abi_version;
		const char *name;
	} v1 = { 1, "old" };
	memset(&out, 0xa5, sizeof out);
	assert_int_equal(adapter_normalize((const sa_adapter *)(const void *)&v1, &out, err,
	                                   sizeof err), -1);
	assert_contains(err, "ABI 1");
	assert_contains(err, "ABI 2.1");
	assert_null(out.get); /* a refused descriptor leaves nothing to use */

	/* A later major. */
	craft(&c);
	c.sa.abi_major = SA_ABI_MAJOR + 1;
	assert_int_equal(adapter_normalize(&c.sa, &out, err, sizeof err), -1);
	assert_contains(err, "ABI 3");
	assert_contains(err, "ABI 2.1");

	/* A size below 2.0's (size left 0, or a truncated struct). */
	craft(&c);
	c.sa.size = 0;
	assert_int_equal(adapter_normalize(&c.sa, &out, err, sizeof err), -1);
	assert_contains(err, "smaller than ABI 2.0");
	craft(&c);
	c.sa.size = SIZE_2_0 - 8;
	assert_int_equal(adapter_normalize(&c.sa, &out, err, sizeof err), -1);
	assert_contains(err, "SA_ABI_INIT");

	assert_int_equal(adapter_normalize(NULL, &out, err, sizeof err), -1);
	assert_contains(err, "NULL");
}

/* ---- the shared knob checks --------------------------------------------- */

static const sa_knob k_double = { "dt", SA_DOUBLE, "s", -1.0, 2.0, { .d = 0.0 }, "", 1, NULL };
static const sa_knob k_int = { "n", SA_INT, "", -5, 100, { .i = 1 }, "", 1, NULL };
static const sa_knob k_bool = { "on", SA_BOOL, "", 0, 0, { .i = 0 }, "", 1, NULL };
static const sa_knob k_enum = { "mode", SA_ENUM, "", 0, 0, { .i = 0 }, "", 1, mode_choices };

static int check(const sa_knob *kn, sa_value v, char *err, size_t errlen)
{
	err[0] = '\0';
	return adapter_check_value(kn, v, err, errlen);
}

static void test_check_value(void **state)
{
	(void)state;
	char err[256];
	/* doubles: finite and within inclusive bounds */
	assert_int_equal(check(&k_double, (sa_value){ .d = -1.0 }, err, sizeof err), 0);
	assert_int_equal(check(&k_double, (sa_value){ .d = 2.0 }, err, sizeof err), 0);
	assert_int_equal(check(&k_double, (sa_value){ .d = -0.0 }, err, sizeof err), 0);
	assert_int_equal(check(&k_double, (sa_value){ .d = nextafter(2.0, 3.0) }, err, sizeof err), -1);
	assert_contains(err, "out of range");
	assert_contains(err, "dt");
	assert_contains(err, " s"); /* the unit */
	assert_int_equal(check(&k_double, (sa_value){ .d = nextafter(-1.0, -2.0) }, err, sizeof err), -1);
	assert_int_equal(check(&k_double, (sa_value){ .d = NAN }, err, sizeof err), -1);
	assert_contains(err, "finite");
	assert_int_equal(check(&k_double, (sa_value){ .d = INFINITY }, err, sizeof err), -1);
	assert_contains(err, "finite");
	assert_int_equal(check(&k_double, (sa_value){ .d = -INFINITY }, err, sizeof err), -1);
	/* Infinite bounds mean unbounded, but the value must still be finite. */
	sa_knob open = k_double;
	open.min = -INFINITY;
	open.max = INFINITY;
	assert_int_equal(check(&open, (sa_value){ .d = 1e300 }, err, sizeof err), 0);
	assert_int_equal(check(&open, (sa_value){ .d = INFINITY }, err, sizeof err), -1);

	/* ints */
	assert_int_equal(check(&k_int, (sa_value){ .i = -5 }, err, sizeof err), 0);
	assert_int_equal(check(&k_int, (sa_value){ .i = 100 }, err, sizeof err), 0);
	assert_int_equal(check(&k_int, (sa_value){ .i = 101 }, err, sizeof err), -1);
	assert_contains(err, "n = 101");
	assert_int_equal(check(&k_int, (sa_value){ .i = -6 }, err, sizeof err), -1);
	assert_int_equal(check(&k_int, (sa_value){ .i = INT64_MAX }, err, sizeof err), -1);
	assert_int_equal(check(&k_int, (sa_value){ .i = INT64_MIN }, err, sizeof err), -1);

	/* bools are 0 or 1 */
	assert_int_equal(check(&k_bool, (sa_value){ .i = 0 }, err, sizeof err), 0);
	assert_int_equal(check(&k_bool, (sa_value){ .i = 1 }, err, sizeof err), 0);
	assert_int_equal(check(&k_bool, (sa_value){ .i = 2 }, err, sizeof err), -1);
	assert_contains(err, "true or false");
	assert_int_equal(check(&k_bool, (sa_value){ .i = -1 }, err, sizeof err), -1);

	/* enums index their choices */
	assert_int_equal(check(&k_enum, (sa_value){ .i = 0 }, err, sizeof err), 0);
	assert_int_equal(check(&k_enum, (sa_value){ .i = 1 }, err, sizeof err), 0);
	assert_int_equal(check(&k_enum, (sa_value){ .i = 2 }, err, sizeof err), -1);
	assert_contains(err, "mode");
	assert_int_equal(check(&k_enum, (sa_value){ .i = -1 }, err, sizeof err), -1);

	/* unknown type */
	sa_knob odd = k_int;
	odd.type = (sa_type)0;
	assert_int_equal(check(&odd, (sa_value){ .i = 0 }, err, sizeof err), -1);
	assert_contains(err, "unknown type");
}

static int from(const sa_knob *kn, double x, sa_value *out, char *err, size_t errlen)
{
	err[0] = '\0';
	return adapter_value_from_double(kn, x, out, err, errlen);
}

static void test_value_from_double(void **state)
{
	(void)state;
	char err[256];
	sa_value v;
	const sa_knob *all[] = { &k_double, &k_int, &k_bool, &k_enum };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(from(all[i], NAN, &v, err, sizeof err), -1);
		assert_contains(err, "finite");
		assert_int_equal(from(all[i], INFINITY, &v, err, sizeof err), -1);
		assert_int_equal(from(all[i], -INFINITY, &v, err, sizeof err), -1);
	}

	/* doubles pass through, bounds unchecked */
	assert_int_equal(from(&k_double, 1e10, &v, err, sizeof err), 0);
	assert_near(v.d, 1e10, 0.0);

	/* ints must be integral */
	assert_int_equal(from(&k_int, 3.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, 3);
	assert_int_equal(from(&k_int, -7.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, -7);
	assert_int_equal(from(&k_int, -0.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, 0);
	assert_int_equal(from(&k_int, 2.5, &v, err, sizeof err), -1);
	assert_contains(err, "n must be an integer");
	assert_int_equal(from(&k_int, 1e-300, &v, err, sizeof err), -1);
	assert_int_equal(from(&k_int, 4.0e18, &v, err, sizeof err), 0); /* exact */
	assert_int_equal(v.i, 4000000000000000000LL);
	assert_int_equal(from(&k_int, 1e19, &v, err, sizeof err), -1); /* would overflow */
	assert_int_equal(from(&k_int, -1e19, &v, err, sizeof err), -1);
	assert_int_equal(from(&k_int, 1e300, &v, err, sizeof err), -1);

	/* bools are 0 or 1 */
	assert_int_equal(from(&k_bool, 1.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, 1);
	assert_int_equal(from(&k_bool, 0.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, 0);
	assert_int_equal(from(&k_bool, 2.0, &v, err, sizeof err), -1);
	assert_contains(err, "true or false");
	assert_int_equal(from(&k_bool, 0.5, &v, err, sizeof err), -1);
	assert_int_equal(from(&k_bool, -1.0, &v, err, sizeof err), -1);

	/* enums: an integral index; the range is adapter_check_value's job */
	assert_int_equal(from(&k_enum, 1.0, &v, err, sizeof err), 0);
	assert_int_equal(v.i, 1);
	assert_int_equal(from(&k_enum, 1.5, &v, err, sizeof err), -1);
	assert_int_equal(from(&k_enum, 7.0, &v, err, sizeof err), 0);
	assert_int_equal(check(&k_enum, v, err, sizeof err), -1);
}

static void test_enum_index(void **state)
{
	(void)state;
	assert_int_equal(adapter_enum_index(&k_enum, "fast"), 0);
	assert_int_equal(adapter_enum_index(&k_enum, "exact"), 1);
	assert_int_equal(adapter_enum_index(&k_enum, "Exact"), -1); /* case matters */
	assert_int_equal(adapter_enum_index(&k_enum, ""), -1);
	assert_int_equal(adapter_enum_index(&k_enum, "fastest"), -1);
	assert_int_equal(adapter_enum_index(&k_int, "fast"), -1); /* not an enum */
	assert_int_equal(adapter_enum_index(&k_double, "fast"), -1);
}

static void test_value_equal(void **state)
{
	(void)state;
	/* doubles compare bitwise: -0 differs from 0, a NaN equals itself */
	assert_true(adapter_value_equal(&k_double, (sa_value){ .d = 1.5 }, (sa_value){ .d = 1.5 }));
	assert_false(adapter_value_equal(&k_double, (sa_value){ .d = 1.5 },
	                                 (sa_value){ .d = nextafter(1.5, 2.0) }));
	assert_false(adapter_value_equal(&k_double, (sa_value){ .d = 0.0 }, (sa_value){ .d = -0.0 }));
	assert_true(adapter_value_equal(&k_double, (sa_value){ .d = NAN }, (sa_value){ .d = NAN }));
	assert_true(adapter_value_equal(&k_double, (sa_value){ .d = INFINITY },
	                                (sa_value){ .d = INFINITY }));
	assert_false(adapter_value_equal(&k_double, (sa_value){ .d = INFINITY },
	                                 (sa_value){ .d = -INFINITY }));
	/* the others by integer */
	assert_true(adapter_value_equal(&k_int, (sa_value){ .i = 7 }, (sa_value){ .i = 7 }));
	assert_false(adapter_value_equal(&k_int, (sa_value){ .i = 7 }, (sa_value){ .i = -7 }));
	assert_true(adapter_value_equal(&k_bool, (sa_value){ .i = 1 }, (sa_value){ .i = 1 }));
	assert_false(adapter_value_equal(&k_bool, (sa_value){ .i = 1 }, (sa_value){ .i = 0 }));
	assert_false(adapter_value_equal(&k_enum, (sa_value){ .i = 0 }, (sa_value){ .i = 1 }));

	assert_near(adapter_value_as_double(&k_double, (sa_value){ .d = 2.5 }), 2.5, 0.0);
	assert_near(adapter_value_as_double(&k_int, (sa_value){ .i = -3 }), -3.0, 0.0);
	assert_near(adapter_value_as_double(&k_enum, (sa_value){ .i = 1 }), 1.0, 0.0);
}

static void test_names_and_indices(void **state)
{
	(void)state;
	assert_string_equal(adapter_type_name(SA_DOUBLE), "double");
	assert_string_equal(adapter_type_name(SA_INT), "int");
	assert_string_equal(adapter_type_name(SA_BOOL), "bool");
	assert_string_equal(adapter_type_name(SA_ENUM), "enum");
	assert_string_equal(adapter_type_name((sa_type)42), "?");

	crafted c;
	craft(&c);
	assert_int_equal(adapter_knob_index(&c.sa, "dt"), 0);
	assert_int_equal(adapter_knob_index(&c.sa, "mode"), 3);
	assert_int_equal(adapter_knob_index(&c.sa, "nope"), -1);
	assert_int_equal(adapter_diag_index(&c.sa, "x"), 2);
	assert_int_equal(adapter_diag_index(&c.sa, "X"), -1);
}

int main(int argc, char **argv)
{
	/* The example .so lives beside the tests: <dir of argv[0]>/../examples/. */
	const char *self = argc > 0 ? argv[0] : "";
	const char *slash = strrchr(self, '/');
	int dirlen = slash ? (int)(slash - self) : 1;
	snprintf(test_oscillator_path, sizeof test_oscillator_path,
	         "%.*s/../examples/liboscillator.so", dirlen, slash ? self : ".");

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_pic1d),
		cmocka_unit_test(test_builtin_names),
		cmocka_unit_test(test_load_unknown_builtin),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_without_entry),
		cmocka_unit_test(test_oscillator_loads),
		cmocka_unit_test(test_oscillator_undamped),
		cmocka_unit_test(test_oscillator_history_starts),
		cmocka_unit_test(test_oscillator_damped),
		cmocka_unit_test(test_oscillator_driven),
		cmocka_unit_test(test_oscillator_set_refusals),
		cmocka_unit_test(test_oscillator_save_restore),
		cmocka_unit_test(test_oscillator_restore_checks),
		cmocka_unit_test(test_oscillator_instances_independent),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_value_from_double),
		cmocka_unit_test(test_enum_index),
		cmocka_unit_test(test_value_equal),
		cmocka_unit_test(test_names_and_indices),
	};
	return cmocka_run_group_tests_name("sim_adapter", tests, NULL, NULL);
}
