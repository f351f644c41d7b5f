/* SPDX-License-Identifier: MIT */
/*
 * test_run_quiet.c — run_boundary_quiet, the MPI layer's fast path
 * (steerd/mpi/lib_mpi.c): it must say "quiet" only when run_stepped and
 * run_next at that boundary call the simulation for nothing but reads and
 * say go at once. Each reason for a busy boundary is checked alone, and a
 * run with a schedule and a ramp is stepped with the adapter's set() counted:
 * no set ever happens at a boundary found quiet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cmd.h"
#include "config.h"
#include "mirror.h"
#include "reload.h"
#include "run_internal.h" /* white-box: the quiet flag and the pending counter */
#include "stream.h"

typedef struct fixture {
	config *cfg;
	void *zctx, *ours, *theirs;
	stream *st;
	mirror *m;
	run *r;
	atomic_uint pending;
} fixture;

static int sets; /* set() calls through the counting wrapper */
static int (*real_set)(void *, size_t, sa_value, char *, size_t);
static int counting_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	sets++;
	return real_set(sim, k, v, err, errlen);
}

static void open_run(fixture *f, const char *extra)
{
	char text[1024], err[512];
	snprintf(text, sizeof text,
	         "simulation:\n  adapter: pic1d\n  knobs: {cells: 20, particles_per_step: 2}\n"
	         "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n%s",
	         extra);
	memset(f, 0, sizeof *f);
	if (config_parse("test.yaml", text, strlen(text), &f->cfg, err, sizeof err) < 0)
		fail_msg("config: %s", err);
	real_set = f->cfg->adapter->desc.set;
	f->cfg->adapter->desc.set = counting_set;
	const sa_adapter *sa = f->cfg->adapter->sa;
	f->zctx = zmq_ctx_new();
	f->st = stream_new(f->zctx, f->cfg, sa, NULL, err, sizeof err);
	assert_non_null(f->st);
	size_t n_scalars = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		n_scalars += sa->diags[d].rank == 0;
	f->m = mirror_new(sa->n_knobs, n_scalars);
	f->ours = zmq_socket(f->zctx, ZMQ_PAIR);
	f->theirs = zmq_socket(f->zctx, ZMQ_PAIR);
	assert_int_equal(zmq_bind(f->ours, "inproc://test-run-quiet"), 0);
	assert_int_equal(zmq_connect(f->theirs, "inproc://test-run-quiet"), 0);
	f->r = run_new(f->cfg, f->st, f->m, f->theirs, NULL, true, err, sizeof err);
	assert_non_null(f->r);
	f->r->pending = &f->pending;
	run_begin(f->r);
}

static void close_run(fixture *f)
{
	run_destroy(&f->r);
	zmq_close(f->ours);
	zmq_close(f->theirs);
	mirror_destroy(&f->m);
	stream_destroy(&f->st);
	zmq_ctx_term(f->zctx);
	config_destroy(&f->cfg);
}

/* One step of the simulation, then the boundary: was it quiet? */
static bool step_and_boundary(fixture *f, volatile sig_atomic_t *signalled)
{
	char err[256];
	assert_int_equal(f->r->sa->step(f->r->sim, err, sizeof err), 0);
	bool quiet = run_boundary_quiet(f->r, signalled);
	int before = sets;
	run_stepped(f->r);
	bool go = run_next(f->r, signalled);
	if (quiet) {
		assert_int_equal(sets, before); /* nothing but reads */
		assert_true(go);
	}
	assert_false(f->r->quiet); /* run_next cleared it */
	return quiet;
}

static void quiet_when_nothing_happens(void **state)
{
	(void)state;
	fixture f;
	open_run(&f, "run: {start: running}\n");
	assert_true(step_and_boundary(&f, NULL));
	assert_true(step_and_boundary(&f, NULL));
	close_run(&f);
}

static void busy_for_each_reason(void **state)
{
	(void)state;
	fixture f;
	volatile sig_atomic_t sig = 0;
	open_run(&f, "run: {start: running}\n");
	atomic_store(&f.pending, 1); /* a change was sent */
	assert_false(step_and_boundary(&f, &sig));
	assert_true(step_and_boundary(&f, &sig));
	sig = 1; /* a stop signal */
	assert_false(run_boundary_quiet(f.r, &sig));
	sig = 0;
	reload_signal = 1; /* SIGHUP */
	assert_false(run_boundary_quiet(f.r, &sig));
	reload_signal = 0;
	run_set_state(f.r, RUN_PAUSED, "tester");
	assert_false(run_boundary_quiet(f.r, &sig));
	run_request_steps(f.r, 3, "tester");
	assert_false(run_boundary_quiet(f.r, &sig));
	run_set_state(f.r, RUN_RUNNING, "tester");
	assert_true(run_boundary_quiet(f.r, &sig));
	f.r->quiet = false;
	close_run(&f);

	open_run(&f, "run: {start: running, max_steps: 2}\n");
	assert_true(step_and_boundary(&f, NULL));
	assert_false(step_and_boundary(&f, NULL)); /* max_steps: the run stops there */
	close_run(&f);

	open_run(&f, "run: {start: running, max_steps_per_second: 100000}\n");
	assert_false(step_and_boundary(&f, NULL));
	close_run(&f);

	open_run(&f, "run: {start: running}\ncheckpoint: {directory: /dev/null/steerd-test, "
	             "every_steps: 3, every_seconds: 0, on_exit: false}\n");
	assert_true(step_and_boundary(&f, NULL));
	assert_true(step_and_boundary(&f, NULL));
	assert_false(step_and_boundary(&f, NULL)); /* step 3: a checkpoint is due (it fails: no such directory) */
	close_run(&f);
}

static void no_set_at_a_quiet_boundary(void **state)
{
	(void)state;
	fixture f;
	open_run(&f, "run: {start: running}\nschedule:\n"
	             "  - {at: 4, set: {injected_current: 150}}\n"
	             "  - {at: 8, ramp: {anode_voltage: {to: 800, steps: 5}}}\n");
	int quiet = 0, busy = 0;
	for (int i = 0; i < 20; i++)
		step_and_boundary(&f, NULL) ? quiet++ : busy++;
	assert_int_equal(busy, 1 + 6); /* step 4's set; the ramp's boundaries 8..13 */
	assert_int_equal(quiet, 13);
	assert_true(sets > 0);
	close_run(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quiet_when_nothing_happens),
		cmocka_unit_test(busy_for_each_reason),
		cmocka_unit_test(no_set_at_a_quiet_boundary),
	};
	return cmocka_run_group_tests_name("run_quiet", tests, NULL, NULL);
}
