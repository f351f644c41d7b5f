/* SPDX-License-Identifier: MIT */
/*
 * pic1d_field.c — the grid and the electrostatic field solve.
 *
 * Poisson's equation with Dirichlet ends (phi = 0 at the cathode, V at the
 * anode) is the constant tridiagonal system phi[i-1] - 2 phi[i] + phi[i+1] =
 * -rho[i] dx^2 / eps0 on the interior nodes. Its Thomas factorisation depends
 * only on the number of cells, so it is computed once; a solve is then one
 * forward and one backward sweep.
 */
#include <math.h>
#include <stdlib.h>

#include "pic1d_internal.h"

int pic1d_grid_init(pic1d_grid *g, double gap, size_t cells)
{
	g->cells = cells;
	g->gap = gap;
	g->dx = gap / (double)cells;
	g->inv_dx = (double)cells / gap;
	g->q = calloc(cells + 2, sizeof *g->q);
	g->q_lanes = calloc((cells + 2) * PIC1D_LANES, sizeof *g->q_lanes);
	g->phi = calloc(cells + 1, sizeof *g->phi);
	g->e = calloc(cells + 2, sizeof *g->e);
	g->adt = calloc(cells + 2, sizeof *g->adt);
	g->cp = calloc(cells + 1, sizeof *g->cp);
	g->inv_den = calloc(cells + 1, sizeof *g->inv_den);
	if (!g->q || !g->q_lanes || !g->phi || !g->e || !g->adt || !g->cp || !g->inv_den)
		return -1;

	/* Thomas factors of tridiag(1, -2, 1) over nodes 1 .. cells-1. */
	double cp_prev = 0.0;
	for (size_t i = 1; i < cells; i++) {
		double den = -2.0 - cp_prev;
		g->inv_den[i] = 1.0 / den;
		g->cp[i] = g->inv_den[i];
		cp_prev = g->cp[i];
	}
	return 0;
}

void pic1d_grid_free(pic1d_grid *g)
{
	free(g->q);
	free(g->q_lanes);
	free(g->phi);
	free(g->e);
	free(g->adt);
	free(g->cp);
	free(g->inv_den);
	g->q = g->q_lanes = g->phi = g->e = g->adt = g->cp = g->inv_den = NULL;
}

/*
 * Charge density at node i, C/m^3. The end nodes own half a cell, so the
 * charge deposited there is spread over dx/2: this is what makes the
 * one-sided end fields below satisfy Gauss's law over that half cell.
 */
double pic1d_rho_at(const pic1d_grid *g, size_t i)
{
	double vol = (i == 0 || i == g->cells) ? 0.5 * g->dx : g->dx;
	return -PIC1D_E * g->q[i] / vol;
}

/*
 * Solve for phi from g->q, then the node fields, the velocity kicks the push
 * gathers, the potential minimum and the field energy.
 */
void pic1d_field_solve(pic1d_grid *g, double anode_voltage, double dt)
{
	const size_t n = g->cells;
	const double dx = g->dx;
	double *phi = g->phi;
	/* rhs = -rho dx^2/eps0 with rho = -e q/dx */
	const double s = PIC1D_E * dx / PIC1D_EPS0;

	/* forward sweep; phi[] holds the modified right-hand side */
	double prev = 0.0; /* phi[0] = 0 on the cathode */
	for (size_t i = 1; i < n; i++) {
		double rhs = s * g->q[i] - (i == n - 1 ? anode_voltage : 0.0);
		prev = (rhs - prev) * g->inv_den[i];
		phi[i] = prev;
	}
	/* backward sweep */
	phi[0] = 0.0;
	phi[n] = anode_voltage;
	for (size_t i = n - 1; i-- > 1;)
		phi[i] -= g->cp[i] * phi[i + 1];

	/*
	 * Node fields: central differences inside; at the electrodes the field
	 * on the surface, E(half cell) minus the half cell's charge over eps0,
	 * so the electrode's surface charge is eps0 E exactly.
	 */
	double *e = g->e;
	const double inv_2dx = 0.5 / dx, inv_dx = 1.0 / dx;
	const double q_over_eps0 = PIC1D_E / PIC1D_EPS0;
	e[0] = -(phi[1] - phi[0]) * inv_dx + q_over_eps0 * g->q[0];
	for (size_t i = 1; i < n; i++)
		e[i] = -(phi[i + 1] - phi[i - 1]) * inv_2dx;
	e[n] = -(phi[n] - phi[n - 1]) * inv_dx - q_over_eps0 * g->q[n];
	e[n + 1] = e[n];

	/*
	 * What the push gathers. Inside, the node field. At an electrode the
	 * node's charge fills half a cell over which the field rises linearly
	 * from the surface value to E(dx/2), so the charge there feels on
	 * average the mean of the two (this is also the Maxwell-stress force on
	 * it, so momentum stays consistent). Gathering the bare surface field
	 * instead would leave a just-emitted sheet without its own half-jump:
	 * with E(0) ~ 0 in space-charge-limited emission it would creep off the
	 * cathode in a field ~x and pile up there.
	 */
	const double kick = -PIC1D_E / PIC1D_ME * dt;
	g->adt[0] = kick * 0.5 * (e[0] - (phi[1] - phi[0]) * inv_dx);
	for (size_t i = 1; i < n; i++)
		g->adt[i] = kick * e[i];
	g->adt[n] = kick * 0.5 * (e[n] - (phi[n] - phi[n - 1]) * inv_dx);
	g->adt[n + 1] = g->adt[n];

	size_t imin = 0;
	double energy = 0.0;
	for (size_t i = 0; i < n; i++) {
		double ec = (phi[i + 1] - phi[i]) * inv_dx;
		energy += ec * ec;
		if (phi[i + 1] < phi[imin])
			imin = i + 1;
	}
	g->field_energy = 0.5 * PIC1D_EPS0 * energy * dx;
	g->phi_min = phi[imin];
	g->phi_min_x = (double)imin * dx;
}
