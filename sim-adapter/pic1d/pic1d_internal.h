/* SPDX-License-Identifier: MIT */
/*
 * pic1d_internal.h — private state and functions of the pic1d adapter, shared
 * by its source files and the benchmark. Not part of any public ABI.
 *
 * Units are SI throughout. Macroparticle weights are electrons per m^2 (the
 * model is a 1D slab, so every extensive quantity is per unit electrode area).
 */
#ifndef STEERD_PIC1D_INTERNAL_H
#define STEERD_PIC1D_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../steerd_adapter.h"

/* CODATA 2018 exact / recommended values. */
#define PIC1D_E    1.602176634e-19  /* elementary charge, C */
#define PIC1D_ME   9.1093837015e-31 /* electron mass, kg */
#define PIC1D_EPS0 8.8541878128e-12 /* vacuum permittivity, F/m */

/* Knob indices: the order of pic1d_knobs[]. Fixed knobs first, then runtime. */
enum pic1d_knob_index {
	PIC1D_K_GAP,
	PIC1D_K_CELLS,
	PIC1D_K_DT,
	PIC1D_K_PPS,
	PIC1D_K_SEED,
	PIC1D_K_EMISSION,
	PIC1D_K_WINDOW,
	PIC1D_K_PHASE_SAMPLE,
	PIC1D_K_MAX_PARTICLES,
	PIC1D_K_CURRENT,
	PIC1D_K_VOLTAGE,
	PIC1D_K_INJ_ENERGY,
	PIC1D_K_THERMAL,
	PIC1D_K_VC_THRESHOLD,
	PIC1D_N_KNOBS
};

enum pic1d_emission { PIC1D_EMIT_BEAM = 0, PIC1D_EMIT_SCL = 1 };

/* Diagnostic indices: the order of pic1d_diags[]. */
enum pic1d_diag_index {
	PIC1D_D_STEP,
	PIC1D_D_TIME,
	PIC1D_D_J_INJ,
	PIC1D_D_J_TR,
	PIC1D_D_J_REF,
	PIC1D_D_PARTICLES,
	PIC1D_D_PHI_MIN,
	PIC1D_D_PHI_MIN_X,
	PIC1D_D_REF_FRACTION,
	PIC1D_D_VC,
	PIC1D_D_FIELD_ENERGY,
	PIC1D_D_KINETIC_ENERGY,
	PIC1D_D_DROPPED,
	PIC1D_D_DT,
	PIC1D_D_TRANSIT,
	PIC1D_D_X,
	PIC1D_D_PHI,
	PIC1D_D_EFIELD,
	PIC1D_D_RHO,
	PIC1D_D_PHASE_X,
	PIC1D_D_PHASE_V,
	PIC1D_N_DIAGS
};

extern const sa_knob pic1d_knobs[PIC1D_N_KNOBS];
extern const sa_diag pic1d_diags[PIC1D_N_DIAGS];

/* Macroparticles as structure of arrays: the push streams through each. */
typedef struct pic1d_particles {
	double *x; /* position, m, always in (0, gap) between steps */
	double *v; /* velocity at the last half step, m/s */
	double *w; /* weight, electrons/m^2 */
	size_t n, cap;
} pic1d_particles;

/*
 * The grid: cells+1 nodes, node 0 on the cathode. q, e and adt have one
 * padding entry past the anode node so the gather/deposit of a particle whose
 * x/dx rounds up to `cells` stays in bounds without a branch (its weight on
 * the padding entry is exactly 0).
 */
/*
 * Particles that follow each other in the arrays sit in the same cell (they
 * were emitted together), so a single deposit array makes every update wait
 * for the previous one's store. Successive particles deposit into different
 * copies ("lanes") instead, which keeps the adds independent.
 */
#define PIC1D_LANES 4

typedef struct pic1d_grid {
	size_t cells;
	double gap, dx, inv_dx;
	double *q;       /* deposited weight per node, electrons/m^2 [cells+2] */
	double *q_lanes; /* the push's deposit: PIC1D_LANES interleaved copies of q,
	                    [(cells+2) * PIC1D_LANES], summed into q after it */
	double *phi;     /* potential, V [cells+1] */
	double *e;       /* electric field at nodes, V/m [cells+2] */
	double *adt;     /* (q/m) E dt: velocity kick per step, m/s [cells+2] */
	double *cp;      /* Thomas: precomputed upper coefficients [cells+1] */
	double *inv_den; /* Thomas: precomputed 1/pivots [cells+1] */
	double phi_min, phi_min_x; /* minimum of phi over the nodes, and where */
	double field_energy;       /* eps0/2 integral of E^2, J/m^2 */
} pic1d_grid;

/* Moving averages of the per-step currents over a ring of `window` steps. */
enum { PIC1D_AVG_INJ, PIC1D_AVG_TR, PIC1D_AVG_REF, PIC1D_AVG_N };

typedef struct pic1d_avg {
	size_t window; /* steps */
	size_t pos;    /* next slot to write */
	size_t count;  /* filled slots, <= window */
	double *ring;  /* [window * PIC1D_AVG_N], slot-major */
	double sum[PIC1D_AVG_N];
} pic1d_avg;

/* Per-step tallies of the absorbed and injected weight (electrons/m^2). */
typedef struct pic1d_tally {
	double w_injected, w_transmitted, w_reflected;
	double kinetic; /* sum of w v^2 over the particles left in the gap */
} pic1d_tally;

struct pic1d_par; /* an MPI run's communicator and buffer (pic1d_par.c) */

typedef struct pic1d {
	sa_value knob[PIC1D_N_KNOBS];
	pic1d_grid grid;
	pic1d_particles p;
	pic1d_avg avg;
	uint64_t step;
	uint64_t dropped;      /* macroparticles not injected: max_particles */
	double kinetic_energy; /* J/m^2, from the half-step velocities */
	/*
	 * Particle decomposition (pic1d_par.c): in an MPI run each rank holds
	 * p, its share of the particles; everything else is global and the same
	 * on every rank. Serial: rank 0 of 1, par NULL, n_global == p.n.
	 */
	int rank, nranks;
	size_t n_global;         /* macroparticles in the gap on all ranks */
	struct pic1d_par *par;
} pic1d;

/* Message helper: formats into err and returns -1. */
int pic1d_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* knobs (pic1d_knobs.c) */
int pic1d_knob_in_bounds(size_t k, sa_value v, char *err, size_t errlen);
int pic1d_check_courant(const sa_value *knob, char *err, size_t errlen);
double pic1d_speed_of_energy(double ev); /* nonrelativistic speed, m/s */
double pic1d_transit_time(const sa_value *knob); /* s, see pic1d_knobs.c; 0 if none */

/* grid and field solve (pic1d_field.c) */
int pic1d_grid_init(pic1d_grid *g, double gap, size_t cells);
void pic1d_grid_free(pic1d_grid *g);
void pic1d_field_solve(pic1d_grid *g, double anode_voltage, double dt);
double pic1d_rho_at(const pic1d_grid *g, size_t i);

/* particles and the push (pic1d_particles.c) */
int pic1d_particles_reserve(pic1d_particles *p, size_t need, size_t limit);
void pic1d_particles_free(pic1d_particles *p);
void pic1d_push(pic1d_particles *p, pic1d_grid *g, double dt, pic1d_tally *t);

/* the parallel run (pic1d_par.c; without STEERD_MPI a serial stand-in) */
/* failed: create() ran out of memory on this rank (all ranks fail then) */
int pic1d_par_init(pic1d *s, const sa_host *host, int failed, char *err, size_t errlen);
void pic1d_par_free(pic1d *s);
int pic1d_par_reduce(pic1d *s, pic1d_tally *t, int no_room, char *err, size_t errlen);
size_t pic1d_inject_share(const pic1d *s);
/*
 * Restore: the particles of every rank together (*n_global) and whether any
 * rank failed (failed: this one did, its message already in err). 0, or -1 on
 * every rank, with a message naming the failure elsewhere.
 */
int pic1d_par_count(pic1d *s, size_t n_local, int failed, size_t *n_global, char *err,
                    size_t errlen);

/* injection at the cathode (pic1d_inject.c) */
void pic1d_inject(pic1d *s, double cathode_accel, double w_each, pic1d_tally *t);
double pic1d_scl_surface_weight(pic1d *s);

/* moving averages and diagnostics (pic1d_diag.c) */
int pic1d_avg_init(pic1d_avg *a, size_t window);
void pic1d_avg_free(pic1d_avg *a);
void pic1d_avg_push(pic1d_avg *a, const double val[PIC1D_AVG_N]);
double pic1d_avg_mean(const pic1d_avg *a, int which);
size_t pic1d_diag_len(const void *sim, size_t d);
size_t pic1d_diag_read(const void *sim, size_t d, double *out, size_t cap);
int pic1d_read_scalars(const void *sim, double *out, size_t n);

/* save/restore (pic1d_state.c) */
int pic1d_save(const void *sim, const sa_writer *w, char *err, size_t errlen);
int pic1d_restore(void *sim, const sa_reader *r, char *err, size_t errlen);

/* counter-based random numbers (pic1d_rng.c) */
uint64_t pic1d_rng_u64(uint64_t seed, uint64_t step, uint64_t index);
double pic1d_rng_open01(uint64_t seed, uint64_t step, uint64_t index);

/* the adapter calls (pic1d_adapter.c), also used by the benchmark */
void *pic1d_create(const sa_value *values, const sa_host *host, char *err, size_t errlen);
void pic1d_destroy(void *sim);
int pic1d_step(void *sim, char *err, size_t errlen);

#endif
