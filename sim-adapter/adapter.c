/* SPDX-License-Identifier: MIT */
/* adapter.c — load built-in and external adapters; shared knob checks. */
#include "adapter.h"

#include <dlfcn.h>
#include <stddef.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pic1d/pic1d.h"

static const struct builtin {
	const char *name;
	sa_entry_fn entry;
} builtins[] = {
	{ "pic1d", pic1d_adapter },
};

#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *const *adapter_builtin_names(void)
{
	static const char *names[N_BUILTINS + 1];
	for (size_t i = 0; i < N_BUILTINS; i++)
		names[i] = builtins[i].name;
	names[N_BUILTINS] = NULL;
	return names;
}

static bool valid_identifier(const char *s)
{
	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

bool adapter_valid_name(const char *s) { return valid_identifier(s); }

static int validate_knob(const sa_adapter *sa, size_t k, char *err, size_t errlen)
{
	const sa_knob *kn = &sa->knobs[k];
	if (!valid_identifier(kn->name))
		return fail(err, errlen, "knob %zu has an invalid name", k);
	if (!kn->unit || !kn->description)
		return fail(err, errlen, "knob '%s' lacks a unit or description", kn->name);
	for (size_t j = 0; j < k; j++)
		if (strcmp(sa->knobs[j].name, kn->name) == 0)
			return fail(err, errlen, "knob '%s' is declared twice", kn->name);
	switch (kn->type) {
	case SA_DOUBLE:
	case SA_INT:
		if (!(kn->min <= kn->max))
			return fail(err, errlen, "knob '%s' has min > max", kn->name);
		break;
	case SA_BOOL:
		break;
	case SA_ENUM:
		if (!kn->choices || !kn->choices[0])
			return fail(err, errlen, "enum knob '%s' has no choices", kn->name);
		break;
	default:
		return fail(err, errlen, "knob '%s' has an unknown type", kn->name);
	}
	char why[160];
	if (adapter_check_value(kn, kn->def, why, sizeof why) < 0)
		return fail(err, errlen, "default of knob '%s': %s", kn->name, why);
	return 0;
}

/* The size of sa_adapter in ABI 2.0: every field before read_scalars. */
#define SA_ADAPTER_SIZE_2_0 offsetof(sa_adapter, read_scalars)

int adapter_normalize(const sa_adapter *in, sa_adapter *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!in)
		return fail(err, errlen, "adapter entry returned NULL");
	/* abi_major is the first field in every ABI (ABI 1 called it abi_version). */
	if (in->abi_major != SA_ABI_MAJOR)
		return fail(err, errlen,
		            "adapter built for sim-adapter ABI %u, steerd speaks ABI %u.%u: rebuild it "
		            "against this steerd_adapter.h",
		            (unsigned)in->abi_major, SA_ABI_MAJOR, SA_ABI_MINOR);
	if (in->size < SA_ADAPTER_SIZE_2_0)
		return fail(err, errlen,
		            "adapter descriptor of %u bytes (ABI %u.%u) is smaller than ABI 2.0's %zu: "
		            "set .size = sizeof(sa_adapter) (SA_ABI_INIT does)",
		            (unsigned)in->size, (unsigned)in->abi_major, (unsigned)in->abi_minor,
		            (size_t)SA_ADAPTER_SIZE_2_0);
	/* A newer minor only appends fields: read what this host knows. */
	memcpy(out, in, in->size < sizeof *out ? in->size : sizeof *out);
	out->size = sizeof *out;
	return 0;
}

int adapter_validate(const sa_adapter *sa, bool hosted, char *err, size_t errlen)
{
	if (!sa)
		return fail(err, errlen, "adapter entry returned NULL");
	if (sa->abi_major != SA_ABI_MAJOR)
		return fail(err, errlen, "adapter ABI %u, steerd speaks ABI %u.%u",
		            (unsigned)sa->abi_major, SA_ABI_MAJOR, SA_ABI_MINOR);
	if (!sa->name || !sa->version || !sa->description)
		return fail(err, errlen, "adapter lacks a name, version or description");
	if (!valid_identifier(sa->name))
		return fail(err, errlen, "adapter name '%s' is not [a-z][a-z0-9_]*", sa->name);
	const uint32_t known = SA_SINGLE_INSTANCE | SA_MPI_COLLECTIVE_DIAGS;
	if (sa->flags & ~known)
		return fail(err, errlen, "adapter '%s' sets unknown flags 0x%x", sa->name,
		            (unsigned)(sa->flags & ~known));
	static const char *const hosted_only[] = { "create", "destroy", "step" };
	const void *hosted_fns[] = { (const void *)sa->create, (const void *)sa->destroy,
		                     (const void *)sa->step };
	for (size_t i = 0; hosted && i < 3; i++)
		if (!hosted_fns[i])
			return fail(err, errlen, "adapter '%s' leaves %s NULL (required to host it; "
			            "a code that keeps its own main() embeds steerd instead)",
			            sa->name, hosted_only[i]);
	static const char *const required[] = { "step_count", "time", "get", "set", "diag_len",
		                                "diag_read" };
	const void *fns[] = { (const void *)sa->step_count, (const void *)sa->time,
		              (const void *)sa->get, (const void *)sa->set,
		              (const void *)sa->diag_len, (const void *)sa->diag_read };
	for (size_t i = 0; i < 6; i++)
		if (!fns[i])
			return fail(err, errlen, "adapter '%s' leaves the required function %s NULL",
			            sa->name, required[i]);
	if (!sa->save != !sa->restore)
		return fail(err, errlen, "adapter '%s' gives %s without %s (both or neither)", sa->name,
		            sa->save ? "save" : "restore", sa->save ? "restore" : "save");
	if (sa->n_knobs && !sa->knobs)
		return fail(err, errlen, "adapter '%s' has n_knobs but no knobs", sa->name);
	if (sa->n_diags && !sa->diags)
		return fail(err, errlen, "adapter '%s' has n_diags but no diags", sa->name);
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (validate_knob(sa, k, err, errlen) < 0)
			return -1;
	for (size_t d = 0; d < sa->n_diags; d++) {
		const sa_diag *dg = &sa->diags[d];
		if (!valid_identifier(dg->name) || !dg->unit || !dg->description || dg->rank > 1)
			return fail(err, errlen, "diagnostic %zu of '%s' is malformed", d, sa->name);
		for (size_t j = 0; j < d; j++)
			if (strcmp(sa->diags[j].name, dg->name) == 0)
				return fail(err, errlen, "diagnostic '%s' is declared twice", dg->name);
	}
	/* Axes in a second pass: an axis may name a later diagnostic, whose name
	 * must have been checked (non-NULL) before adapter_diag_index reads it. */
	for (size_t d = 0; d < sa->n_diags; d++) {
		const sa_diag *dg = &sa->diags[d];
		if (!dg->axis)
			continue;
		int a = adapter_diag_index(sa, dg->axis);
		if (a < 0)
			return fail(err, errlen, "diagnostic '%s' names a missing axis '%s'",
			            dg->name, dg->axis);
		if (dg->rank != 1 || sa->diags[a].rank != 1)
			return fail(err, errlen, "diagnostic '%s': an axis joins two arrays, "
			            "but '%s' or its axis '%s' is a scalar", dg->name, dg->name, dg->axis);
	}
	return 0;
}

bool adapter_name_is_path(const char *name)
{
	size_t n = strlen(name);
	return strchr(name, '/') || (n > 3 && strcmp(name + n - 3, ".so") == 0);
}

static bool external_refused_mode, external_was_refused;

void adapter_refuse_external(bool refuse)
{
	external_refused_mode = refuse;
	external_was_refused = false;
}

bool adapter_external_refused(void) { return external_was_refused; }

adapter *adapter_load(const char *name, char *err, size_t errlen)
{
	const sa_adapter *sa = NULL;
	void *dl = NULL;

	if (!adapter_name_is_path(name)) {
		bool found = false;
		for (size_t i = 0; i < N_BUILTINS && !found; i++)
			if (strcmp(builtins[i].name, name) == 0) {
				found = true;
				sa = builtins[i].entry(); /* NULL is refused by validate */
			}
		if (!found) {
			fail(err, errlen, "unknown adapter '%s' (built in:", name);
			for (size_t i = 0; i < N_BUILTINS; i++) {
				size_t used = strlen(err);
				snprintf(err + used, errlen - used, " %s", builtins[i].name);
			}
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, "; or give the path of a .so)");
			return NULL;
		}
	} else if (external_refused_mode) {
		external_was_refused = true;
		fail(err, errlen, "external adapter %s not loaded: loading shared objects is not allowed here",
		     name);
		return NULL;
	} else {
		dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
		if (!dl) {
			fail(err, errlen, "cannot load adapter: %s", dlerror());
			return NULL;
		}
		sa_entry_fn entry;
		/* POSIX guarantees function pointers survive this conversion. */
		*(void **)&entry = dlsym(dl, SA_ENTRY_SYMBOL);
		if (!entry) {
			fail(err, errlen, "%s does not export %s()", name, SA_ENTRY_SYMBOL);
			dlclose(dl);
			return NULL;
		}
		sa = entry();
	}

	adapter *a = adapter_wrap(sa, dl ? name : "builtin", true, err, errlen);
	if (!a) {
		if (dl) {
			char why[512];
			snprintf(why, sizeof why, "%s: %s", name, err);
			snprintf(err, errlen, "%s", why);
			dlclose(dl);
		}
		return NULL;
	}
	a->dl = dl;
	return a;
}

adapter *adapter_wrap(const sa_adapter *desc, const char *source, bool hosted, char *err,
                      size_t errlen)
{
	adapter *a = calloc(1, sizeof *a);
	if (!a || !(a->source = strdup(source))) {
		free(a);
		fail(err, errlen, "out of memory");
		return NULL;
	}
	if (adapter_normalize(desc, &a->desc, err, errlen) < 0 ||
	    adapter_validate(&a->desc, hosted, err, errlen) < 0) {
		adapter_destroy(&a);
		return NULL;
	}
	a->sa = &a->desc;
	a->embedded = !hosted;
	return a;
}

void adapter_destroy(adapter **ap)
{
	if (!ap || !*ap)
		return;
	if ((*ap)->dl)
		dlclose((*ap)->dl);
	free((*ap)->source);
	free(*ap);
	*ap = NULL;
}

int adapter_knob_index(const sa_adapter *sa, const char *name)
{
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (strcmp(sa->knobs[k].name, name) == 0)
			return (int)k;
	return -1;
}

int adapter_diag_index(const sa_adapter *sa, const char *name)
{
	for (size_t d = 0; d < sa->n_diags; d++)
		if (strcmp(sa->diags[d].name, name) == 0)
			return (int)d;
	return -1;
}

const char *adapter_type_name(sa_type t)
{
	switch (t) {
	case SA_DOUBLE: return "double";
	case SA_INT: return "int";
	case SA_BOOL: return "bool";
	case SA_ENUM: return "enum";
	}
	return "?";
}

int adapter_enum_index(const sa_knob *knob, const char *choice)
{
	if (knob->type != SA_ENUM)
		return -1;
	for (int i = 0; knob->choices[i]; i++)
		if (strcmp(knob->choices[i], choice) == 0)
			return i;
	return -1;
}

static int64_t enum_count(const sa_knob *knob)
{
	int64_t n = 0;
	while (knob->choices[n])
		n++;
	return n;
}

int adapter_check_value(const sa_knob *knob, sa_value v, char *err, size_t errlen)
{
	switch (knob->type) {
	case SA_DOUBLE:
		if (!isfinite(v.d))
			return fail(err, errlen, "%s must be a finite number", knob->name);
		if (v.d < knob->min || v.d > knob->max)
			return fail(err, errlen, "%s = %g is out of range [%g, %g] %s", knob->name,
			            v.d, knob->min, knob->max, knob->unit);
		return 0;
	case SA_INT:
		if ((double)v.i < knob->min || (double)v.i > knob->max)
			return fail(err, errlen, "%s = %lld is out of range [%.0f, %.0f]", knob->name,
			            (long long)v.i, knob->min, knob->max);
		return 0;
	case SA_BOOL:
		if (v.i != 0 && v.i != 1)
			return fail(err, errlen, "%s must be true or false", knob->name);
		return 0;
	case SA_ENUM:
		if (v.i < 0 || v.i >= enum_count(knob))
			return fail(err, errlen, "%s: no such choice", knob->name);
		return 0;
	}
	return fail(err, errlen, "%s has an unknown type", knob->name);
}

int adapter_value_from_double(const sa_knob *knob, double x, sa_value *out,
                              char *err, size_t errlen)
{
	if (!isfinite(x))
		return fail(err, errlen, "%s must be a finite number", knob->name);
	switch (knob->type) {
	case SA_DOUBLE:
		out->d = x;
		return 0;
	case SA_INT:
	case SA_ENUM:
		/* 2^62 keeps the conversion exact and away from overflow. */
		if (x != floor(x) || fabs(x) > 4.6e18)
			return fail(err, errlen, "%s must be an integer", knob->name);
		out->i = (int64_t)x;
		return 0;
	case SA_BOOL:
		if (x != 0.0 && x != 1.0)
			return fail(err, errlen, "%s must be true or false", knob->name);
		out->i = (int64_t)x;
		return 0;
	}
	return fail(err, errlen, "%s has an unknown type", knob->name);
}

double adapter_value_as_double(const sa_knob *knob, sa_value v)
{
	return knob->type == SA_DOUBLE ? v.d : (double)v.i;
}

bool adapter_value_equal(const sa_knob *knob, sa_value a, sa_value b)
{
	if (knob->type == SA_DOUBLE)
		return memcmp(&a.d, &b.d, sizeof a.d) == 0;
	return a.i == b.i;
}
