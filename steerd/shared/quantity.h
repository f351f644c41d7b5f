/* SPDX-License-Identifier: MIT */
/*
 * quantity.h — a number with an optional SI prefix and unit, as people type
 * it ("1.5 kA/m^2", "900 V", "5ns", "2k"), to a plain number in the unit the
 * value is given in on the wire. The one grammar of PROTOCOL.md ("Values as
 * text"): steer-console, the config loader and the Python package
 * (console/python/steerd/units.py) implement it, and tests/data/units.tsv
 * holds the cases all three are tested against.
 */
#ifndef STEERD_QUANTITY_H
#define STEERD_QUANTITY_H

#include <stddef.h>

/*
 * text: spaces, a decimal number (no inf, nan or hex), spaces, then nothing,
 * `unit` exactly, an SI prefix followed by `unit` exactly, or (only) an SI
 * prefix; trailing spaces. Case matters. The unit itself wins over a prefix:
 * for unit "m", "1 m" is a metre and "5 mm" 5e-3. unit NULL or "" is
 * dimensionless ("2k" = 2000). 0 and *out, or -1 with a message in err.
 */
int quantity_parse(const char *text, const char *unit, double *out, char *err, size_t errlen);

/* The I-th SI prefix symbol ("k", "m", ...), NULL past the last: for
 * completion. Only the ASCII spellings ("u", not the micro signs). */
const char *quantity_prefix(size_t i);

#endif
