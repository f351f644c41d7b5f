/* SPDX-License-Identifier: MIT */
/* own_scalars.c — steerd's own scalar diagnostics (see own_scalars.h). */
#include "own_scalars.h"

#include <string.h>

const sa_diag own_scalars[OWN_N_SCALARS] = {
	[OWN_BOUNDARY_FRACTION] = { .name = "steerd_boundary_fraction", .unit = "",
	                            .description = "fraction of wall time steerd spent at the last "
	                                           "boundary (changes, diagnostics, history) rather "
	                                           "than stepping",
	                            .rank = 0 },
};

int own_scalar_index(const char *name)
{
	for (int i = 0; i < OWN_N_SCALARS; i++)
		if (strcmp(own_scalars[i].name, name) == 0)
			return i;
	return -1;
}

double own_boundary_fraction(double boundary_s, double step_s)
{
	if (boundary_s < 0)
		boundary_s = 0;
	if (step_s < 0)
		step_s = 0;
	return boundary_s + step_s > 0 ? boundary_s / (boundary_s + step_s) : 0.0;
}
