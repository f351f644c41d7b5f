/* SPDX-License-Identifier: MIT */
/*
 * bind.c — the variable-binding descriptor builder (steerd.h, steerd_desc_*):
 * a code declares its knobs, diagnostics, clock and state as addresses of
 * plain variables, and this file writes the sa_adapter and its callbacks.
 * Every callback runs on the code's thread inside steerd_open/boundary/close
 * (lib.c sees to that), so the variables are read and written between steps.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "lib.h"

/* Names are short: they become HDF5 paths ("arrays/NAME") and wire names. */
#define BIND_MAX_NAME 64

typedef enum var_kind { VAR_F64, VAR_I32, VAR_I64 } var_kind;

typedef struct knob_binding {
	void *var;
	var_kind kind;
} knob_binding;

/* A diagnostic or state array: room for len at data, n (if any) in use. */
typedef struct array_binding {
	void *data;
	size_t len;
	const int32_t *n;
} array_binding;

typedef struct state_binding {
	char *name;
	sa_dtype dtype; /* SA_F64 or SA_I64 */
	array_binding a;
} state_binding;

struct steerd_desc {
	sa_adapter sa; /* what steerd_desc_adapter returns; its tables are below */
	sa_knob *knobs;
	knob_binding *kb;
	size_t n_knobs;
	sa_diag *diags;
	array_binding *db; /* scalars: data is the variable, len 1 */
	size_t n_diags;
	state_binding *states;
	size_t n_states;
	int64_t *step;
	double *time;
	bool sealed;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	steerd_set_last_error(msg);
	return -1;
}

static size_t in_use(const array_binding *a)
{
	if (!a->n)
		return a->len;
	if (*a->n <= 0)
		return 0;
	return (size_t)*a->n < a->len ? (size_t)*a->n : a->len;
}

/* ------------------------------------------------------------- callbacks */

static uint64_t b_step_count(const void *sim)
{
	const steerd_desc *d = sim;
	return *d->step < 0 ? 0 : (uint64_t)*d->step;
}

static double b_time(const void *sim) { return *((const steerd_desc *)sim)->time; }

static sa_value b_get(const void *sim, size_t k)
{
	const knob_binding *b = &((const steerd_desc *)sim)->kb[k];
	switch (b->kind) {
	case VAR_F64: return (sa_value){ .d = *(const double *)b->var };
	case VAR_I32: return (sa_value){ .i = *(const int32_t *)b->var };
	default: return (sa_value){ .i = *(const int64_t *)b->var };
	}
}

/* steerd checked v against the knob's bounds, which fit the variable's type. */
static void put_knob(const knob_binding *b, sa_value v)
{
	switch (b->kind) {
	case VAR_F64: *(double *)b->var = v.d; break;
	case VAR_I32: *(int32_t *)b->var = (int32_t)v.i; break;
	default: *(int64_t *)b->var = v.i; break;
	}
}

static int b_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	put_knob(&((steerd_desc *)sim)->kb[k], v);
	return 0;
}

static size_t b_diag_len(const void *sim, size_t d)
{
	const steerd_desc *s = sim;
	return s->diags[d].rank == 0 ? 1 : in_use(&s->db[d]);
}

static size_t b_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	size_t n = b_diag_len(sim, d);
	if (n > cap)
		n = cap;
	memcpy(out, ((const steerd_desc *)sim)->db[d].data, n * sizeof *out);
	return n;
}

static int b_read_scalars(const void *sim, double *out, size_t n)
{
	const steerd_desc *s = sim;
	size_t j = 0;
	for (size_t d = 0; d < s->n_diags && j < n; d++)
		if (s->diags[d].rank == 0)
			out[j++] = *(const double *)s->db[d].data;
	return j == n ? 0 : -1;
}

/* Where each part of the state goes inside the checkpoint's state group. */
static void state_path(char *out, size_t len, const char *group, const char *name)
{
	snprintf(out, len, "%s/%s", group, name);
}

static int b_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const steerd_desc *d = sim;
	char path[BIND_MAX_NAME + 16];
	if (w->attr(w->ctx, "clock/step", SA_I64, d->step) < 0 ||
	    w->attr(w->ctx, "clock/time", SA_F64, d->time) < 0) {
		snprintf(err, errlen, "cannot write the clock");
		return -1;
	}
	for (size_t k = 0; k < d->n_knobs; k++) {
		sa_value v = b_get(d, k);
		state_path(path, sizeof path, "knobs", d->knobs[k].name);
		bool f = d->kb[k].kind == VAR_F64;
		if (w->attr(w->ctx, path, f ? SA_F64 : SA_I64, f ? (const void *)&v.d : &v.i) < 0) {
			snprintf(err, errlen, "cannot write knob %s", d->knobs[k].name);
			return -1;
		}
	}
	for (size_t i = 0; i < d->n_states; i++) {
		const state_binding *s = &d->states[i];
		state_path(path, sizeof path, "arrays", s->name);
		if (w->array(w->ctx, path, s->dtype, in_use(&s->a), s->a.data) < 0) {
			snprintf(err, errlen, "cannot write state array %s", s->name);
			return -1;
		}
	}
	return 0;
}

/*
 * Everything from the file is checked before anything is written: sizes,
 * the clock and the knobs' bounds. Only a read failing half-way (a corrupt
 * file) leaves the arrays half-written; steerd then puts its copy back.
 */
static int b_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	steerd_desc *d = sim;
	char path[BIND_MAX_NAME + 16], why[256];
	int64_t step;
	double time;
	if (r->attr(r->ctx, "clock/step", SA_I64, &step) < 0 ||
	    r->attr(r->ctx, "clock/time", SA_F64, &time) < 0) {
		snprintf(err, errlen, "the saved clock (clock/step, clock/time) is missing");
		return -1;
	}
	if (step < 0 || !isfinite(time)) {
		snprintf(err, errlen, "the saved clock is invalid (step %lld, time %g)",
		         (long long)step, time);
		return -1;
	}
	sa_value *knobs = calloc(d->n_knobs ? d->n_knobs : 1, sizeof *knobs);
	if (!knobs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	for (size_t k = 0; k < d->n_knobs; k++) {
		bool f = d->kb[k].kind == VAR_F64;
		state_path(path, sizeof path, "knobs", d->knobs[k].name);
		if (r->attr(r->ctx, path, f ? SA_F64 : SA_I64, f ? (void *)&knobs[k].d : &knobs[k].i) < 0) {
			snprintf(err, errlen, "knob %s is missing from the saved state", d->knobs[k].name);
			goto out;
		}
		if (adapter_check_value(&d->knobs[k], knobs[k], why, sizeof why) < 0) {
			snprintf(err, errlen, "saved knob: %s", why);
			goto out;
		}
	}
	for (size_t i = 0; i < d->n_states; i++) {
		const state_binding *s = &d->states[i];
		size_t n;
		state_path(path, sizeof path, "arrays", s->name);
		if (r->array_size(r->ctx, path, s->dtype, &n) < 0) {
			snprintf(err, errlen, "state array %s is missing or of another type", s->name);
			goto out;
		}
		if (n != in_use(&s->a)) {
			snprintf(err, errlen, "state array %s has %zu elements saved, the code has %zu now",
			         s->name, n, in_use(&s->a));
			goto out;
		}
	}
	for (size_t i = 0; i < d->n_states; i++) {
		const state_binding *s = &d->states[i];
		state_path(path, sizeof path, "arrays", s->name);
		if (r->array(r->ctx, path, s->dtype, in_use(&s->a), s->a.data) < 0) {
			snprintf(err, errlen, "cannot read state array %s", s->name);
			goto out;
		}
	}
	for (size_t k = 0; k < d->n_knobs; k++)
		put_knob(&d->kb[k], knobs[k]);
	*d->step = step;
	*d->time = time;
	rc = 0;
out:
	free(knobs);
	return rc;
}

/* ------------------------------------------------------------ declaring */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* May d take a declaration named name (kind says what, for messages)? */
static int check_decl(const steerd_desc *d, const char *fn, const char *name, const void *var)
{
	if (!d)
		return fail("%s: no descriptor (NULL)", fn);
	if (d->sealed)
		return fail("%s: the descriptor is in use (steerd_desc_adapter was called): declare "
		            "everything before", fn);
	if (!name)
		return fail("%s: no name (NULL)", fn);
	if (!adapter_valid_name(name) || strlen(name) > BIND_MAX_NAME)
		return fail("%s: name '%s' is not [a-z][a-z0-9_]* of at most %d characters", fn, name,
		            BIND_MAX_NAME);
	if (!var)
		return fail("%s: '%s' is bound to no variable (NULL)", fn, name);
	return 0;
}

/* Knobs and diagnostics share one set of names (get takes both). */
static int check_unique(const steerd_desc *d, const char *fn, const char *name)
{
	for (size_t k = 0; k < d->n_knobs; k++)
		if (!strcmp(d->knobs[k].name, name))
			return fail("%s: '%s' is already a knob", fn, name);
	for (size_t i = 0; i < d->n_diags; i++)
		if (!strcmp(d->diags[i].name, name))
			return fail("%s: '%s' is already a diagnostic", fn, name);
	return 0;
}

static int add_knob(steerd_desc *d, const char *fn, const char *name, const char *unit,
                    sa_type type, double min, double max, int runtime, const char *description,
                    void *var, var_kind kind)
{
	if (check_decl(d, fn, name, var) < 0 || check_unique(d, fn, name) < 0)
		return -1;
	if (!(min <= max))
		return fail("%s: knob '%s' has min > max (%g > %g)", fn, name, min, max);
	sa_knob kn = { .name = name, .type = type, .unit = unit ? unit : "",
		       .min = min, .max = max, .description = description ? description : "",
		       .runtime = runtime != 0 };
	knob_binding b = { .var = var, .kind = kind };
	kn.def = b_get(&(steerd_desc){ .kb = &b }, 0);
	char why[256];
	if (adapter_check_value(&kn, kn.def, why, sizeof why) < 0)
		return fail("%s: the variable of knob '%s' holds its default, which is wrong: %s "
		            "(initialise it before declaring the knob)", fn, name, why);
	sa_knob *knobs = realloc(d->knobs, (d->n_knobs + 1) * sizeof *knobs);
	if (knobs)
		d->knobs = knobs;
	knob_binding *kb = knobs ? realloc(d->kb, (d->n_knobs + 1) * sizeof *kb) : NULL;
	if (kb)
		d->kb = kb;
	kn.name = strdup(name);
	kn.unit = strdup(kn.unit);
	kn.description = strdup(kn.description);
	if (!kb || !kn.name || !kn.unit || !kn.description) {
		free((char *)kn.name);
		free((char *)kn.unit);
		free((char *)kn.description);
		return fail("%s: out of memory", fn);
	}
	d->knobs[d->n_knobs] = kn;
	d->kb[d->n_knobs++] = b;
	return 0;
}

int steerd_desc_knob_double(steerd_desc *d, const char *name, const char *unit, double min,
                            double max, int runtime, const char *description, double *var)
{
	return add_knob(d, "steerd_desc_knob_double", name, unit, SA_DOUBLE, min, max, runtime,
	                description, var, VAR_F64);
}

int steerd_desc_knob_int32(steerd_desc *d, const char *name, const char *unit, int32_t min,
                           int32_t max, int runtime, const char *description, int32_t *var)
{
	return add_knob(d, "steerd_desc_knob_int32", name, unit, SA_INT, min, max, runtime,
	                description, var, VAR_I32);
}

int steerd_desc_knob_int64(steerd_desc *d, const char *name, const char *unit, int64_t min,
                           int64_t max, int runtime, const char *description, int64_t *var)
{
	/* sa_knob bounds are doubles: beyond 2^53 they would round. */
	const int64_t exact = (int64_t)1 << 53;
	if (d && (min < -exact || max > exact))
		return fail("steerd_desc_knob_int64: bounds of '%s' beyond +-2^53 cannot be exact",
		            name ? name : "(null)");
	return add_knob(d, "steerd_desc_knob_int64", name, unit, SA_INT, (double)min, (double)max,
	                runtime, description, var, VAR_I64);
}

static int add_diag(steerd_desc *d, const char *fn, const char *name, const char *unit,
                    const char *description, unsigned rank, const void *data, size_t len,
                    const int32_t *n, const char *axis)
{
	if (check_decl(d, fn, name, data) < 0 || check_unique(d, fn, name) < 0)
		return -1;
	if (axis) {
		size_t a = 0;
		while (a < d->n_diags && strcmp(d->diags[a].name, axis))
			a++;
		if (a == d->n_diags || d->diags[a].rank != 1)
			return fail("%s: the axis '%s' of '%s' is no array declared before", fn, axis,
			            name);
	}
	sa_diag *diags = realloc(d->diags, (d->n_diags + 1) * sizeof *diags);
	if (diags)
		d->diags = diags;
	array_binding *db = diags ? realloc(d->db, (d->n_diags + 1) * sizeof *db) : NULL;
	if (db)
		d->db = db;
	sa_diag dg = { .name = strdup(name), .unit = strdup(unit ? unit : ""),
		       .description = strdup(description ? description : ""), .rank = rank,
		       .axis = dup_or_null(axis) };
	if (!db || !dg.name || !dg.unit || !dg.description || (axis && !dg.axis)) {
		free((char *)dg.name);
		free((char *)dg.unit);
		free((char *)dg.description);
		free((char *)dg.axis);
		return fail("%s: out of memory", fn);
	}
	d->diags[d->n_diags] = dg;
	d->db[d->n_diags++] = (array_binding){ .data = (void *)data, .len = len, .n = n };
	return 0;
}

int steerd_desc_scalar(steerd_desc *d, const char *name, const char *unit,
                       const char *description, const double *var)
{
	return add_diag(d, "steerd_desc_scalar", name, unit, description, 0, var, 1, NULL, NULL);
}

int steerd_desc_array(steerd_desc *d, const char *name, const char *unit, const char *description,
                      const double *data, size_t len, const int32_t *n, const char *axis)
{
	return add_diag(d, "steerd_desc_array", name, unit, description, 1, data, len, n, axis);
}

int steerd_desc_clock(steerd_desc *d, int64_t *step, double *time)
{
	if (check_decl(d, "steerd_desc_clock", "clock", step && time ? step : NULL) < 0)
		return -1;
	if (d->step)
		return fail("steerd_desc_clock: the clock is already bound");
	d->step = step;
	d->time = time;
	return 0;
}

static int add_state(steerd_desc *d, const char *fn, const char *name, sa_dtype dtype,
                     void *data, size_t len, const int32_t *n)
{
	if (check_decl(d, fn, name, data) < 0)
		return -1;
	for (size_t i = 0; i < d->n_states; i++)
		if (!strcmp(d->states[i].name, name))
			return fail("%s: '%s' is already a state array", fn, name);
	state_binding *s = realloc(d->states, (d->n_states + 1) * sizeof *s);
	if (s)
		d->states = s;
	char *copy = strdup(name);
	if (!s || !copy) {
		free(copy);
		return fail("%s: out of memory", fn);
	}
	d->states[d->n_states++] = (state_binding){ .name = copy, .dtype = dtype,
		                                    .a = { .data = data, .len = len, .n = n } };
	return 0;
}

int steerd_desc_state_f64(steerd_desc *d, const char *name, double *data, size_t len,
                          const int32_t *n)
{
	return add_state(d, "steerd_desc_state_f64", name, SA_F64, data, len, n);
}

int steerd_desc_state_i64(steerd_desc *d, const char *name, int64_t *data, size_t len,
                          const int32_t *n)
{
	return add_state(d, "steerd_desc_state_i64", name, SA_I64, data, len, n);
}

steerd_desc *steerd_desc_new(const char *name, const char *version, const char *description)
{
	if (!name || !adapter_valid_name(name)) {
		fail("steerd_desc_new: name '%s' is not [a-z][a-z0-9_]*", name ? name : "(null)");
		return NULL;
	}
	steerd_desc *d = calloc(1, sizeof *d);
	if (!d || !(d->sa.name = strdup(name)) ||
	    !(d->sa.version = strdup(version ? version : "")) ||
	    !(d->sa.description = strdup(description ? description : ""))) {
		steerd_desc_destroy(&d);
		fail("steerd_desc_new: out of memory");
		return NULL;
	}
	return d;
}

const sa_adapter *steerd_desc_adapter(steerd_desc *d)
{
	if (!d) {
		fail("steerd_desc_adapter: no descriptor (NULL)");
		return NULL;
	}
	if (!d->step) {
		fail("steerd_desc_adapter: '%s' has no clock: bind its step and time with "
		     "steerd_desc_clock", d->sa.name);
		return NULL;
	}
	sa_adapter *sa = &d->sa;
	sa->abi_major = SA_ABI_MAJOR;
	sa->abi_minor = SA_ABI_MINOR;
	sa->size = sizeof *sa;
	/* Bound variables are one set: there is no second instance to make. */
	sa->flags = SA_SINGLE_INSTANCE;
	sa->knobs = d->knobs;
	sa->n_knobs = d->n_knobs;
	sa->diags = d->diags;
	sa->n_diags = d->n_diags;
	sa->step_count = b_step_count;
	sa->time = b_time;
	sa->get = b_get;
	sa->set = b_set;
	sa->diag_len = b_diag_len;
	sa->diag_read = b_diag_read;
	sa->read_scalars = b_read_scalars;
	sa->save = d->n_states ? b_save : NULL;
	sa->restore = d->n_states ? b_restore : NULL;
	char why[512];
	if (adapter_validate(sa, false, why, sizeof why) < 0) {
		fail("steerd_desc_adapter: %s", why);
		return NULL;
	}
	d->sealed = true;
	return sa;
}

void steerd_desc_destroy(steerd_desc **dp)
{
	if (!dp || !*dp)
		return;
	steerd_desc *d = *dp;
	for (size_t k = 0; k < d->n_knobs; k++) {
		free((char *)d->knobs[k].name);
		free((char *)d->knobs[k].unit);
		free((char *)d->knobs[k].description);
	}
	for (size_t i = 0; i < d->n_diags; i++) {
		free((char *)d->diags[i].name);
		free((char *)d->diags[i].unit);
		free((char *)d->diags[i].description);
		free((char *)d->diags[i].axis);
	}
	for (size_t i = 0; i < d->n_states; i++)
		free(d->states[i].name);
	free(d->knobs);
	free(d->kb);
	free(d->diags);
	free(d->db);
	free(d->states);
	free((char *)d->sa.name);
	free((char *)d->sa.version);
	free((char *)d->sa.description);
	free(d);
	*dp = NULL;
}
