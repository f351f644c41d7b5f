/* SPDX-License-Identifier: MIT */
/*
 * units.h — SI unit strings (as in the adapter's knob and diagnostic tables)
 * to openPMD's unitDimension and unitSI.
 *
 * Accepted: products and quotients of m, kg, s, A, K, mol, cd, V, C, J, W, N,
 * Pa, Hz, T, Ohm, F, S, Wb, H, eV (= 1.602176634e-19 J) and the dimensionless
 * rad and sr, each with an optional ^exponent (an integer or a decimal,
 * possibly negative); '*', '.' or spaces multiply, '/' divides the factor or
 * parenthesised group that follows; "1" is allowed as a factor ("1/s").
 * Examples: "V/m", "C/m^3", "A/m^2", "J/m^2", "kg*m/(A*s^3)", "m^-3", "".
 */
#ifndef STEERD_UNITS_H
#define STEERD_UNITS_H

/* Indices of unitDimension: powers of L, M, T, I, theta, N, J. */
enum { UNIT_L, UNIT_M, UNIT_T, UNIT_I, UNIT_THETA, UNIT_N, UNIT_J, UNIT_NDIM };

/*
 * Parse unit (NULL or "" is dimensionless). On success fills dim[7] and
 * *unit_si (the factor that turns a value in this unit into SI base units,
 * 1 except for eV) and returns 0; -1 for anything not understood.
 */
int units_parse(const char *unit, double dim[UNIT_NDIM], double *unit_si);

#endif
