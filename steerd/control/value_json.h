/* SPDX-License-Identifier: MIT */
/* value_json.h — knob values to and from JSON, checked against the knob's type and bounds. */
#ifndef STEERD_VALUE_JSON_H
#define STEERD_VALUE_JSON_H

#include <jansson.h>

#include "adapter.h"

/*
 * Convert untrusted JSON to a value of knob's type and check its bounds:
 * numbers for double/int (ints integral), true/false for bool, the choice's
 * name for enum. 0; -1 for a wrong type, -2 for a value out of bounds, with
 * a message in err.
 */
int value_from_json(const sa_knob *knob, const json_t *j, sa_value *out, char *err, size_t errlen);

/* New JSON for a value: real, integer, boolean or the enum choice's name. */
json_t *value_to_json(const sa_knob *knob, sa_value v);

/* The knob's schema as a JSON object (name, type, unit, min, max, default, ...). */
json_t *knob_schema_json(const sa_knob *knob);

/* The diagnostic's schema as a JSON object (name, unit, rank, axis, description). */
json_t *diag_schema_json(const sa_diag *diag);

#endif
