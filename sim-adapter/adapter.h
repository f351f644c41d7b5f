/* SPDX-License-Identifier: MIT */
/*
 * adapter.h — the host side of the sim-adapter ABI: finding an adapter
 * (built in, or a shared object loaded with dlopen), checking its ABI version
 * and descriptor, and the knob checks every caller shares.
 */
#ifndef STEERD_ADAPTER_HOST_H
#define STEERD_ADAPTER_HOST_H

#include <stdbool.h>
#include "steerd_adapter.h"

/* A loaded adapter. Owns the dlopen handle, if any. */
typedef struct adapter {
	const sa_adapter *sa; /* the descriptor (&desc); never NULL */
	sa_adapter desc;      /* the adapter's descriptor as this host's ABI minor sees it */
	void *dl;             /* dlopen handle of an external adapter, or NULL */
	char *source;         /* "builtin", the shared object's path, or "embedded"; owned */
	bool embedded;        /* a code's own descriptor (adapter_wrap, hosted false) */
} adapter;

/*
 * Load the adapter named `name`: a built-in name (e.g. "pic1d") or, when it
 * contains a '/' or ends in ".so", the path of a shared object exporting
 * SA_ENTRY_SYMBOL. A wrong ABI version or an inconsistent descriptor is
 * refused. Returns NULL with a message in err.
 */
adapter *adapter_load(const char *name, char *err, size_t errlen);

/* Does simulation.adapter name a shared object (a '/' in it, or ending in .so)
 * rather than a built-in adapter? */
bool adapter_name_is_path(const char *name);

/*
 * While refuse is true, adapter_load refuses external adapters (shared
 * objects) without opening them, and adapter_external_refused() then says
 * so: a config read from a checkpoint must not run code on its own word.
 * Process-wide, not thread-safe: set it around loading, before threads exist.
 */
void adapter_refuse_external(bool refuse);
bool adapter_external_refused(void);

/* Unload and free; sets *ap to NULL. NULL-safe. */
void adapter_destroy(adapter **ap);

/*
 * Wrap a descriptor given by a code that embeds steerd (hosted false: create,
 * destroy and step may be NULL), or by adapter_load (hosted true). The
 * descriptor is normalized and validated; source names it in messages.
 */
adapter *adapter_wrap(const sa_adapter *desc, const char *source, bool hosted, char *err,
                      size_t errlen);

/*
 * Copy a descriptor of any ABI 2 minor into *out as this host sees it: fields
 * the adapter's size does not reach are zero (absent), fields this host does
 * not know are dropped. A different major or a size below 2.0's is refused.
 */
int adapter_normalize(const sa_adapter *in, sa_adapter *out, char *err, size_t errlen);

/* Is s a valid knob, diagnostic or adapter name ([a-z][a-z0-9_]*)? */
bool adapter_valid_name(const char *s);

/* Check a normalized descriptor for consistency (also run by adapter_wrap). */
int adapter_validate(const sa_adapter *sa, bool hosted, char *err, size_t errlen);

/* Index of the knob or diagnostic called name, or -1. */
int adapter_knob_index(const sa_adapter *sa, const char *name);
int adapter_diag_index(const sa_adapter *sa, const char *name);

/* Names of the built-in adapters, NULL-terminated. */
const char *const *adapter_builtin_names(void);

/* Name of a sa_type ("double", "int", "bool", "enum"). */
const char *adapter_type_name(sa_type t);

/*
 * Check v against knob's type and bounds (NaN and Inf refused for doubles,
 * bool is 0/1, enum index within choices). 0 or -1 with a message.
 */
int adapter_check_value(const sa_knob *knob, sa_value v, char *err, size_t errlen);

/*
 * Convert a double (as from JSON or YAML) to knob's value type: ints must be
 * integral, bools 0/1. Does not check bounds. 0 or -1 with a message.
 */
int adapter_value_from_double(const sa_knob *knob, double x, sa_value *out,
                              char *err, size_t errlen);

/* Index of an enum choice by name, or -1. */
int adapter_enum_index(const sa_knob *knob, const char *choice);

/* The value as a double (enum: its index). */
double adapter_value_as_double(const sa_knob *knob, sa_value v);

/* Equal values of the knob's type (doubles compared bitwise). */
bool adapter_value_equal(const sa_knob *knob, sa_value a, sa_value b);

#endif
