/* SPDX-License-Identifier: MIT */
/*
 * run_driver.c — the run as other modules see it: its driver (the search)
 * and the few things they read or do, so that struct run stays private to
 * steerd/run/ (run_internal.h).
 */
#include "run_internal.h"

#include <stdio.h>

#include "own_scalars.h"

void run_set_driver(run *r, const run_driver *d, void *ctx)
{
	if (r->driver && r->driver_ctx != ctx)
		r->driver->destroy(r->driver_ctx);
	r->driver = d;
	r->driver_ctx = ctx;
}

void *run_driver_ctx(const run *r, const run_driver *d)
{
	return r->driver == d ? r->driver_ctx : NULL;
}

bool run_driven(const run *r)
{
	return r->driver && r->driver->client(r->driver_ctx) != NULL;
}

int run_driver_abort(run *r, const char *code, const char *message)
{
	return r->driver ? r->driver->abort(r, r->driver_ctx, code, message) : 0;
}

bool run_busy(run *r, change *ch)
{
	if (!run_driven(r))
		return false;
	char what[160];
	r->driver->describe(r, r->driver_ctx, what, sizeof what);
	change_fail(ch, E_BAD_STATE, "%s is under way (cancel {\"search\": true} stops it)", what);
	return true;
}

const sa_adapter *run_adapter(const run *r) { return r->sa; }
uint64_t run_step(const run *r) { return r->pub.step; }
run_state run_state_now(const run *r) { return r->pub.state; }
uint64_t run_steps_left(const run *r) { return r->pub.steps_left; }
sa_value run_knob(const run *r, size_t k) { return r->pub.knobs[k]; }
void *run_sim(const run *r) { return r->sim; }
bool run_owns_sim(const run *r) { return r->owns_sim; }
uint64_t run_write_seq(const run *r) { return r->ckpt_seq; }

const double *run_scalars(const run *r, size_t *n)
{
	*n = mirror_n_scalars(r->mirror);
	return r->pub.scalars;
}

const char *run_scalar_name(const run *r, size_t i)
{
	size_t adapters = mirror_n_scalars(r->mirror) - OWN_N_SCALARS; /* then steerd's own */
	return i < adapters ? r->sa->diags[r->scalar_diag[i]].name : own_scalars[i - adapters].name;
}

int run_set_knob_quiet(run *r, size_t k, sa_value v, char *err, size_t errlen)
{
	if (r->sa->set(r->sim, k, v, err, errlen) < 0)
		return -1;
	r->pub.knobs[k] = r->sa->get(r->sim, k);
	return 0;
}

void run_connect(run *r, atomic_uint *pending, reload_ctx *reload)
{
	r->pending = pending;
	r->reload = reload;
}

void run_not_quiet(run *r) { r->quiet = false; }
void run_restore_in_place(run *r) { r->in_place = true; }

void run_set_file_writer(run *r, run_file_writer write, void *ctx)
{
	r->write_file = write;
	r->write_file_ctx = ctx;
}
