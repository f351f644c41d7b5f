/* SPDX-License-Identifier: MIT */
/* value_json.c — knob values to and from JSON. */
#include "value_json.h"

#include <stdio.h>

int value_from_json(const sa_knob *knob, const json_t *j, sa_value *out, char *err, size_t errlen)
{
	sa_value v;
	if (knob->type == SA_BOOL && json_is_boolean(j)) {
		v.i = json_is_true(j);
	} else if (knob->type == SA_ENUM && json_is_string(j)) {
		int idx = adapter_enum_index(knob, json_string_value(j));
		if (idx < 0) {
			snprintf(err, errlen, "%s has no choice '%s'", knob->name, json_string_value(j));
			return -1;
		}
		v.i = idx;
	} else if (knob->type == SA_INT && json_is_integer(j)) {
		v.i = (int64_t)json_integer_value(j);
	} else if (json_is_number(j) && knob->type != SA_BOOL) {
		if (adapter_value_from_double(knob, json_number_value(j), &v, err, errlen) < 0)
			return -1;
	} else {
		static const char *const expected[] = {
			[SA_DOUBLE] = "a number", [SA_INT] = "an integer",
			[SA_BOOL] = "true or false", [SA_ENUM] = "a choice name",
		};
		snprintf(err, errlen, "%s must be %s", knob->name, expected[knob->type]);
		return -1;
	}
	if (adapter_check_value(knob, v, err, errlen) < 0)
		return -2;
	*out = v;
	return 0;
}

json_t *value_to_json(const sa_knob *knob, sa_value v)
{
	switch (knob->type) {
	case SA_DOUBLE: return json_real(v.d);
	case SA_INT: return json_integer((json_int_t)v.i);
	case SA_BOOL: return json_boolean(v.i);
	case SA_ENUM: return json_string(knob->choices[v.i]);
	}
	return json_null();
}

json_t *knob_schema_json(const sa_knob *knob)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", knob->name, "type",
	                      adapter_type_name(knob->type), "unit", knob->unit, "description",
	                      knob->description, "runtime", knob->runtime != 0, "default",
	                      value_to_json(knob, knob->def));
	if (knob->type == SA_DOUBLE) {
		json_object_set_new(o, "min", json_real(knob->min));
		json_object_set_new(o, "max", json_real(knob->max));
	} else if (knob->type == SA_INT) {
		json_object_set_new(o, "min", json_integer((json_int_t)knob->min));
		json_object_set_new(o, "max", json_integer((json_int_t)knob->max));
	} else if (knob->type == SA_ENUM) {
		json_t *choices = json_array();
		for (size_t i = 0; knob->choices[i]; i++)
			json_array_append_new(choices, json_string(knob->choices[i]));
		json_object_set_new(o, "choices", choices);
	}
	return o;
}

json_t *diag_schema_json(const sa_diag *diag)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s*}", "name", diag->name, "unit", diag->unit,
	                 "description", diag->description, "rank", (int)diag->rank, "axis",
	                 diag->axis);
}
