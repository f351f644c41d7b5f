/* SPDX-License-Identifier: MIT */
/*
 * adapter_slow.c — a benchmark adapter whose every step takes step_ms of wall
 * time (default 100 ms) and does nothing else: bench_control hosts it in
 * steerd to show that reads (`get`) are answered at once however long a step
 * takes. Built against the public steerd_adapter.h only, like any external
 * adapter.
 *
 * Knob:       step_ms (runtime double, ms, [0, 60000], default 100)
 * Diagnostic: steps_slept (scalar, the number of steps done, as a double)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "steerd_adapter.h"

enum { SLOW_K_STEP_MS, SLOW_N_KNOBS };
enum { SLOW_D_STEPS, SLOW_N_DIAGS };

static const sa_knob slow_knobs[SLOW_N_KNOBS] = {
	[SLOW_K_STEP_MS] = { "step_ms", SA_DOUBLE, "ms", 0.0, 60000.0, { .d = 100.0 },
	                     "wall time each step sleeps", 1, NULL },
};

static const sa_diag slow_diags[SLOW_N_DIAGS] = {
	[SLOW_D_STEPS] = { "steps_slept", "", "steps done so far", 0, NULL },
};

typedef struct slow {
	double step_ms;
	uint64_t steps;
} slow;

static int slow_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void *slow_create(const sa_value *values, const sa_host *host, char *err, size_t errlen)
{
	(void)host;
	slow *s = calloc(1, sizeof *s);
	if (!s) {
		slow_fail(err, errlen, "out of memory");
		return NULL;
	}
	s->step_ms = values[SLOW_K_STEP_MS].d;
	return s;
}

static void slow_destroy(void *sim)
{
	free(sim);
}

/* Sleeps the whole step_ms, resuming after a signal: a step is never cut short. */
static int slow_step(void *sim, char *err, size_t errlen)
{
	slow *s = sim;
	double ms = s->step_ms;
	struct timespec left = { .tv_sec = (time_t)(ms / 1e3),
	                         .tv_nsec = (long)((ms - 1e3 * (double)(time_t)(ms / 1e3)) * 1e6) };
	if (left.tv_nsec >= 1000000000L)
		left.tv_nsec = 999999999L;
	while (nanosleep(&left, &left) != 0)
		if (errno != EINTR)
			return slow_fail(err, errlen, "nanosleep failed (errno %d)", errno);
	s->steps++;
	return 0;
}

static uint64_t slow_step_count(const void *sim)
{
	return ((const slow *)sim)->steps;
}

static double slow_time(const void *sim)
{
	const slow *s = sim;
	return (double)s->steps * s->step_ms * 1e-3;
}

static sa_value slow_get(const void *sim, size_t k)
{
	(void)k;
	return (sa_value){ .d = ((const slow *)sim)->step_ms };
}

static int slow_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	if (k != SLOW_K_STEP_MS)
		return slow_fail(err, errlen, "no knob %zu", k);
	((slow *)sim)->step_ms = v.d;
	return 0;
}

static size_t slow_diag_len(const void *sim, size_t d)
{
	(void)sim;
	(void)d;
	return 1;
}

static size_t slow_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	if (d != SLOW_D_STEPS || cap == 0)
		return 0;
	out[0] = (double)((const slow *)sim)->steps;
	return 1;
}

static int slow_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const slow *s = sim;
	if (w->attr(w->ctx, "step", SA_U64, &s->steps) < 0 ||
	    w->attr(w->ctx, "step_ms", SA_F64, &s->step_ms) < 0)
		return slow_fail(err, errlen, "cannot write the state");
	return 0;
}

static int slow_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	slow *s = sim;
	uint64_t steps;
	double ms;
	if (r->attr(r->ctx, "step", SA_U64, &steps) < 0 ||
	    r->attr(r->ctx, "step_ms", SA_F64, &ms) < 0)
		return slow_fail(err, errlen, "saved state lacks step or step_ms");
	if (!(ms >= slow_knobs[SLOW_K_STEP_MS].min && ms <= slow_knobs[SLOW_K_STEP_MS].max))
		return slow_fail(err, errlen, "saved step_ms is out of range");
	s->steps = steps;
	s->step_ms = ms;
	return 0;
}

static const sa_adapter slow_adapter = {
	SA_ABI_INIT,
	.name = "slow",
	.version = "1.0",
	.description = "benchmark adapter: each step sleeps step_ms",
	.knobs = slow_knobs,
	.n_knobs = SLOW_N_KNOBS,
	.diags = slow_diags,
	.n_diags = SLOW_N_DIAGS,
	.create = slow_create,
	.destroy = slow_destroy,
	.step = slow_step,
	.step_count = slow_step_count,
	.time = slow_time,
	.get = slow_get,
	.set = slow_set,
	.diag_len = slow_diag_len,
	.diag_read = slow_diag_read,
	.save = slow_save,
	.restore = slow_restore,
};

__attribute__((visibility("default"))) const sa_adapter *steerd_adapter_entry(void)
{
	return &slow_adapter;
}
