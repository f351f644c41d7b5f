/* SPDX-License-Identifier: GPL-3.0-or-later */
/* units.h — numbers with SI prefixes and units, as people type them. */
#ifndef CONSOLE_UNITS_H
#define CONSOLE_UNITS_H

#include <jansson.h>
#include <stddef.h>

/* Numbers with units ("1.2 kA/m^2", "5ns"): quantity_parse (steerd/quantity.h),
 * the one grammar the daemon's config loader and the Python package share. */
#include "quantity.h"

/* "20s", "500ms", "1.5", "2min", "1h": seconds (default unit s). */
int units_duration(const char *text, double *seconds, char *err, size_t errlen);

/* A span of the run: "500" steps (an integer >= 1: 1 and *steps) or simulated
 * time with its unit, "5ns", "5 ns", "1.2e-7 s" (> 0: 2 and *seconds); -1 and err. */
int units_steps_or_time(const char *text, long long *steps, double *seconds, char *err,
                        size_t errlen);

/* The JSON value for a knob (a hello knob object): numbers with units for
 * double/int, true/false for bool, a choice name for enum. NULL and err. */
json_t *units_knob_value(const json_t *knob, const char *text, char *err, size_t errlen);

#endif
