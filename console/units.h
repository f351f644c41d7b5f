/* SPDX-License-Identifier: GPL-3.0-or-later */
/* units.h — numbers with SI prefixes and units, as people type them. */
#ifndef CONSOLE_UNITS_H
#define CONSOLE_UNITS_H

#include <jansson.h>
#include <stddef.h>

/*
 * "1.2k", "1.2 kA/m^2", "1.2kA/m^2", "500m", "2e3", "3 MV" for unit "A/m^2"
 * or "V": a number, an optional SI prefix and an optional unit that must be
 * `unit` exactly (case-sensitive). A suffix equal to the unit is the unit,
 * never a prefix: for unit "m", "1 m" is a metre and "5 mm" is 5e-3.
 * 0, or -1 with a message in err.
 */
int units_parse(const char *text, const char *unit, double *out, char *err, size_t errlen);

/* The I-th SI prefix symbol a unit takes ("k", "m", ...), NULL past the
 * last: for completion. Only the ASCII spellings ("u", not the micro sign). */
const char *units_prefix(size_t i);

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
