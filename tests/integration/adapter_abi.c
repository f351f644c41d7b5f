/* SPDX-License-Identifier: MIT */
/*
 * adapter_abi.c — a tiny external adapter ("abitest") that
 * tests/integration/test_adapter_abi.py builds in several ABI shapes, to show
 * which descriptors a steerd host loads and how it reads them:
 *
 *   (default)            built against the header given by -I (2.0 or 2.1)
 *   -DWITH_READ_SCALARS  gives the ABI 2.1 read_scalars (needs the 2.1 header)
 *   -DFUTURE_MINOR       claims a minor newer than the header's, with a larger
 *                        descriptor (fields appended that this host does not know)
 *   -DABI_ONE            an ABI 1 descriptor (its first field, abi_version, is 1)
 *
 * The model: a counter that grows by `rate` per step. Scalar `probe` tells
 * the test which path the host read scalars through: diag_read gives 1,
 * read_scalars gives 2 (a real adapter gives the same values both ways).
 * Knob `fail_reads` makes read_scalars fail.
 */
#include <stdio.h>
#include <stdlib.h>

#include "steerd_adapter.h"

#ifdef ABI_ONE /* only the head of the descriptor is used */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#endif

typedef struct abitest {
	uint64_t step;
	double counter, rate;
	int64_t fail_reads;
} abitest;

static const sa_knob knobs[] = {
	{ "rate", SA_DOUBLE, "1/s", 0.0, 10.0, { .d = 1.0 }, "growth per step", 1, NULL },
	{ "fail_reads", SA_BOOL, "", 0, 0, { .i = 0 }, "read_scalars fails (a test probe)", 1, NULL },
};

static const sa_diag diags[] = {
	{ "counter", "", "the counter", 0, NULL },
	{ "probe", "", "1: read by diag_read, 2: read by read_scalars", 0, NULL },
};

static void *abi_create(const sa_value *values, const sa_host *host, char *err, size_t errlen)
{
	(void)host;
	abitest *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->rate = values[0].d;
	a->fail_reads = values[1].i;
	return a;
}

static void abi_destroy(void *sim) { free(sim); }

static int abi_step(void *sim, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	abitest *a = sim;
	a->step++;
	a->counter += a->rate;
	return 0;
}

static uint64_t abi_step_count(const void *sim) { return ((const abitest *)sim)->step; }
static double abi_time(const void *sim) { return (double)((const abitest *)sim)->step; }

static sa_value abi_get(const void *sim, size_t k)
{
	const abitest *a = sim;
	return k == 0 ? (sa_value){ .d = a->rate } : (sa_value){ .i = a->fail_reads };
}

static int abi_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	abitest *a = sim;
	if (k == 0)
		a->rate = v.d;
	else
		a->fail_reads = v.i;
	return 0;
}

static size_t abi_diag_len(const void *sim, size_t d)
{
	(void)sim;
	(void)d;
	return 1;
}

static size_t abi_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	if (cap < 1)
		return 0;
	out[0] = d == 0 ? ((const abitest *)sim)->counter : 1.0;
	return 1;
}

#ifdef WITH_READ_SCALARS
static int abi_read_scalars(const void *sim, double *out, size_t n)
{
	const abitest *a = sim;
	if (n != 2 || a->fail_reads)
		return -1;
	out[0] = a->counter;
	out[1] = 2.0;
	return 0;
}
#endif

#define ABI_FIELDS                                                                   \
	.name = "abitest", .version = "1", .description = "ABI compatibility probe",   \
	.knobs = knobs, .n_knobs = 2, .diags = diags, .n_diags = 2,                    \
	.create = abi_create, .destroy = abi_destroy, .step = abi_step,                \
	.step_count = abi_step_count, .time = abi_time, .get = abi_get, .set = abi_set, \
	.diag_len = abi_diag_len, .diag_read = abi_diag_read

#if defined(ABI_ONE)
/* The head of ABI 1's descriptor: one integer version, then the name. */
static const struct {
	uint32_t abi_version;
	const char *name;
} desc_v1 = { 1, "abitest" };

const sa_adapter *steerd_adapter_entry(void) { return (const sa_adapter *)(const void *)&desc_v1; }
#elif defined(FUTURE_MINOR)
/* A later minor: this header's fields, then ones this host has never heard of. */
static int future_function(void) { return 0; }
static const struct {
	sa_adapter known;
	int (*later[4])(void);
} desc_future = {
	{ .abi_major = SA_ABI_MAJOR, .abi_minor = SA_ABI_MINOR + 7, .size = sizeof desc_future,
	  ABI_FIELDS },
	{ future_function, future_function, future_function, future_function },
};

const sa_adapter *steerd_adapter_entry(void) { return &desc_future.known; }
#else
static const sa_adapter desc = {
	SA_ABI_INIT,
	ABI_FIELDS,
#ifdef WITH_READ_SCALARS
	.read_scalars = abi_read_scalars,
#endif
};

const sa_adapter *steerd_adapter_entry(void) { return &desc; }
#endif
