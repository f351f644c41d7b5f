/* SPDX-License-Identifier: MIT — the public sim-adapter ABI; wrap any code with it. */
/*
 * steerd_adapter.h — what a C or C++ simulation implements to be hosted by steerd.
 *
 * An adapter is one const descriptor (sa_adapter) reached through one exported
 * entry function, steerd_adapter_entry(). The host (steerd) reads the first
 * field, abi_version, before anything else and refuses a mismatch.
 *
 * The adapter declares
 *   - knobs: every input of the model (type, SI unit, bounds, default, and
 *     whether it may change while the run goes on). The host builds its config
 *     schema from this table: every config value of the simulation is a knob.
 *   - diagnostics: scalars (rank 0) and arrays (rank 1) with units.
 * and provides calls to create, step, get/set knobs, read diagnostics, save and
 * restore its complete state through a writer/reader the host supplies, and
 * destroy. Adapters never call HDF5 or ZeroMQ themselves.
 *
 * Threading: the host calls every function of one simulation instance from a
 * single thread at a time. Different instances must not share mutable state
 * (no globals), so the host may run several side by side.
 *
 * Errors: calls that can fail return 0 on success and -1 on failure, writing a
 * one-line, NUL-terminated human message (no trailing newline) into err
 * (errlen bytes, errlen >= 1).
 */
#ifndef STEERD_ADAPTER_H
#define STEERD_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of the structures below. */
#define SA_ABI_VERSION 1u

/* Name of the entry function an external adapter (.so) exports. */
#define SA_ENTRY_SYMBOL "steerd_adapter_entry"

typedef enum sa_type {
	SA_DOUBLE = 1, /* value.d */
	SA_INT = 2,    /* value.i */
	SA_BOOL = 3,   /* value.i, 0 or 1 */
	SA_ENUM = 4    /* value.i, index into sa_knob.choices */
} sa_type;

/* A knob value; which member is meaningful follows from the knob's type. */
typedef union sa_value {
	double d;
	int64_t i;
} sa_value;

typedef struct sa_knob {
	const char *name;        /* [a-z][a-z0-9_]*, unique within the adapter */
	sa_type type;
	const char *unit;        /* SI unit, e.g. "A/m^2"; "" when dimensionless */
	double min, max;         /* inclusive bounds, for SA_DOUBLE and SA_INT */
	sa_value def;            /* default, used when the config omits the knob */
	const char *description; /* one line */
	int runtime;             /* nonzero: may change while the run goes on */
	const char *const *choices; /* SA_ENUM only: NULL-terminated names */
} sa_knob;

typedef struct sa_diag {
	const char *name;        /* [a-z][a-z0-9_]*, unique within the adapter */
	const char *unit;        /* SI unit; "" when dimensionless */
	const char *description; /* one line */
	unsigned rank;           /* 0: scalar, 1: array of doubles */
	const char *axis;        /* rank 1: name of the rank-1 diag giving the
	                            coordinates of each element (e.g. "x"), or NULL */
} sa_diag;

/* Element types of saved state. */
typedef enum sa_dtype { SA_F64 = 1, SA_I64 = 2, SA_U64 = 3 } sa_dtype;

/*
 * The host's writer for save(). Names are '/'-separated paths of
 * [A-Za-z0-9_] segments, e.g. "particles/x"; each name is written once.
 * Both calls copy the data before returning; they return 0 or -1.
 */
typedef struct sa_writer {
	void *ctx;
	int (*array)(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data);
	int (*attr)(void *ctx, const char *name, sa_dtype dtype, const void *value);
} sa_writer;

/*
 * The host's reader for restore(). Everything it returns came from an
 * untrusted file: check sizes and values before use.
 * array_size: element count of a named array stored with that dtype;
 * -1 when missing or of another dtype. array: reads exactly n elements.
 * attr: reads one scalar attribute of that dtype. All return 0 or -1.
 */
typedef struct sa_reader {
	void *ctx;
	int (*array_size)(void *ctx, const char *name, sa_dtype dtype, size_t *n);
	int (*array)(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out);
	int (*attr)(void *ctx, const char *name, sa_dtype dtype, void *out);
} sa_reader;

/*
 * Optional openPMD hint: one particle record component of the saved state, so
 * that openPMD readers can open a checkpoint. Positional initializers:
 * { path, state, constant or time offset, unit_si, { unit_dimension } }. (Meshes need no hint: steerd
 * writes every rank-1 diagnostic whose axis is evenly spaced as a mesh.)
 */
typedef struct sa_record {
	const char *path;    /* relative to the iteration, e.g. "particles/electrons/position/x" */
	const char *state;   /* name of the array save() writes, e.g. "particles/x";
	                        NULL for a constant record of value `constant` */
	/*
	 * state == NULL: the value of every particle. state != NULL: when the
	 * saved values hold, in time steps from the step's time (openPMD
	 * timeOffset = this times dt), e.g. -0.5 for a leapfrog velocity saved at
	 * t - dt/2; 0 for most. (One field for both keeps ABI version 1.)
	 */
	double constant;
	double unit_si;      /* factor that turns stored values into SI */
	/*
	 * Powers of L, M, T, I, theta, N, J. For "weighting" (openPMD fixes it
	 * dimensionless) a model of fewer than three dimensions gives what its
	 * weights are per, e.g. L^-2 for particles per m^2 of a 1D slab: steerd
	 * writes unitDimension 0 and says so in the file (steerd_unitDimension).
	 */
	double unit_dimension[7];
} sa_record;

typedef struct sa_adapter {
	uint32_t abi_version;    /* SA_ABI_VERSION; must stay the first field */
	const char *name;        /* e.g. "pic1d" */
	const char *version;     /* the adapter's own version string */
	const char *description; /* one line */

	const sa_knob *knobs;
	size_t n_knobs;
	const sa_diag *diags;
	size_t n_diags;

	/*
	 * Create a simulation at step 0. values[k] is the value of knobs[k]; the
	 * host has already checked each against type and bounds, so create only
	 * checks relations between knobs. Returns NULL (and a message) on error.
	 */
	void *(*create)(const sa_value *values, char *err, size_t errlen);

	/* Free everything create() made. NULL is a no-op. */
	void (*destroy)(void *sim);

	/* Advance one time step. */
	int (*step)(void *sim, char *err, size_t errlen);

	/* Current step count and simulated time (s). */
	uint64_t (*step_count)(const void *sim);
	double (*time)(const void *sim);

	/* Current value of knobs[k]. */
	sa_value (*get)(const void *sim, size_t k);

	/*
	 * Change knobs[k] between steps. The host calls it only for runtime
	 * knobs and values within bounds; the adapter may still refuse, and
	 * then nothing changes.
	 */
	int (*set)(void *sim, size_t k, sa_value v, char *err, size_t errlen);

	/*
	 * Element count of diags[d] now (1 for a scalar). Arrays may change
	 * length from step to step (e.g. a particle sample).
	 */
	size_t (*diag_len)(const void *sim, size_t d);

	/*
	 * Write diags[d] into out (room for cap doubles); returns the number of
	 * doubles written, at most cap.
	 */
	size_t (*diag_read)(const void *sim, size_t d, double *out, size_t cap);

	/* Write the complete state: restore() of it must continue bitwise. */
	int (*save)(const void *sim, const sa_writer *w, char *err, size_t errlen);

	/*
	 * Overwrite the state of sim — freshly made by create() with the knob
	 * values current at save time (the host saves them with get()) — with a
	 * saved state. On failure the host destroys sim, so a partial restore is
	 * never used.
	 */
	int (*restore)(void *sim, const sa_reader *r, char *err, size_t errlen);

	/* Optional (may be NULL/0): openPMD particle records of the saved state. */
	const sa_record *records;
	size_t n_records;
} sa_adapter;

/* The entry function an adapter exports (see SA_ENTRY_SYMBOL). */
typedef const sa_adapter *(*sa_entry_fn)(void);

/*
 * An external adapter defines this; declared here so that C++ adapters get C
 * linkage without writing extern "C" themselves.
 */
const sa_adapter *steerd_adapter_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* STEERD_ADAPTER_H */
