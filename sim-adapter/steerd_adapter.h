/* SPDX-License-Identifier: MIT — the public sim-adapter ABI; wrap any code with it. */
/*
 * steerd_adapter.h — how a simulation describes itself to steerd: its knobs,
 * its diagnostics and the calls that step, steer, read and save it.
 *
 * The same descriptor (sa_adapter) serves two ways of running:
 *   - hosted: the simulation is a plugin (.so, or built in) that gives up
 *     main(); steerd creates instances with create() and steps them. The
 *     plugin exports steerd_adapter_entry().
 *   - embedded: the code keeps its own main() and time loop, creates its own
 *     state and hands it to steerd_open() (steerd.h); steerd never calls
 *     create/destroy/step then, which may be NULL.
 *
 * The adapter declares
 *   - knobs: every input of the model (type, SI unit, bounds, default, and
 *     whether it may change while the run goes on). The host builds its config
 *     schema from this table: every config value of the simulation is a knob.
 *   - diagnostics: scalars (rank 0) and arrays (rank 1) with units.
 * and provides calls to get/set knobs, read diagnostics, save and restore its
 * complete state through a writer/reader the host supplies. Adapters never
 * call HDF5 or ZeroMQ through steerd's handles (a code may use HDF5 itself:
 * see steerd.h).
 *
 * Versions (ABI 2). abi_major is the first field and is read before anything
 * else: a different major is refused with a message naming both. abi_minor
 * and size say which version of this struct the adapter was built against:
 * a minor version only appends optional fields, so an adapter built against
 * 2.0 loads in a 2.1 host (fields past its size count as absent), and a 2.1
 * adapter loads in a 2.0 host (which reads no further than it knows).
 *
 * Lifetimes. The descriptor, its tables (knobs, diags, choices, records) and
 * every string in them are read-only and must live and stay unchanged until
 * the adapter is no longer used: for a plugin, until steerd exits (steerd
 * never unloads an adapter while a run uses it; it unloads it at exit); for
 * an embedded code, until steerd_close() returns.
 *
 * Threading. The host calls every function of one instance from a single
 * thread, always the same one: the simulation thread (hosted) or the thread
 * that calls steerd_boundary() (embedded). That makes the adapter safe for
 * MPI_THREAD_FUNNELED, OpenMP masters and CUDA contexts. Different instances
 * must not share mutable state, unless the adapter sets SA_SINGLE_INSTANCE.
 *
 * Errors. Calls that can fail return 0 on success and -1 on failure, writing
 * a one-line, NUL-terminated human message (no trailing newline) into err
 * (errlen bytes, errlen >= 1). Nothing may unwind through these calls: a C++
 * adapter catches every exception inside each function and turns it into -1
 * and a message (an exception crossing into C is undefined behaviour).
 */
#ifndef STEERD_ADAPTER_H
#define STEERD_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The major changes with any incompatible change of the structures below; the
 * minor when optional fields are appended to sa_adapter. */
#define SA_ABI_MAJOR 2u
#define SA_ABI_MINOR 1u
/* Put first in a descriptor: { SA_ABI_INIT, .name = ..., ... } */
#define SA_ABI_INIT .abi_major = SA_ABI_MAJOR, .abi_minor = SA_ABI_MINOR, .size = sizeof(sa_adapter)

/* sa_adapter.flags */
#define SA_SINGLE_INSTANCE 1u /* only one instance may live at a time (global
                                 state, most Fortran): restart, rewind and
                                 search restore into the live instance */
#define SA_MPI_COLLECTIVE_DIAGS 2u /* MPI run (steerd_mpi.h): diag_len, diag_read
                                 and read_scalars communicate, so steerd calls
                                 them on every rank together (else on rank 0 only) */

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
	/*
	 * ABI 2.1, MPI runs (read it only when sa_host.mpi_comm was given: every
	 * host that gives one sets it). In an MPI run every call of save() is
	 * collective: every rank makes the same calls in the same order, and
	 * `array` and `attr` take the same values on every rank (the global
	 * state; they are written once). array_part writes this rank's n
	 * elements of the array `name`, which holds every rank's part in rank
	 * order (distributed state: particles). A serial host sets it too, as
	 * the same as array.
	 */
	int (*array_part)(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data);
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
	/*
	 * ABI 2.1, MPI runs (as array_part above): this rank's part of an array
	 * written with array_part (or with array, by a serial run). When the
	 * file was written by as many ranks as read it, each rank gets back
	 * exactly the part it wrote; otherwise rank r of N gets the elements
	 * [n r / N, n (r + 1) / N) of the whole (n elements): the state is
	 * redistributed. part_size gives the count, part reads exactly that
	 * many. restore() then fails on every rank if it fails on one.
	 */
	int (*part_size)(void *ctx, const char *name, sa_dtype dtype, size_t *n);
	int (*part)(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out);
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

/* Severity of a message sent to the host's log. */
typedef enum sa_log_level { SA_LOG_ERROR = 0, SA_LOG_WARN = 1, SA_LOG_INFO = 2, SA_LOG_DEBUG = 3 } sa_log_level;

/*
 * What the host gives create(): a log so that the simulation's messages reach
 * steerd's log (stderr or journald, with steerd's level filter). The struct
 * and ctx live as long as the instance; log may be called from the thread
 * that calls the adapter only. message: one line, no trailing newline.
 */
typedef struct sa_host {
	size_t size; /* sizeof(sa_host) as the host was built: read fields below it only */
	void *ctx;
	void (*log)(void *ctx, sa_log_level level, const char *message);
	/*
	 * ABI 2.1: in an MPI run, a pointer to the MPI_Comm that all ranks of
	 * this simulation share (cast it: *(const MPI_Comm *)mpi_comm); NULL in a
	 * serial run. Every rank creates its own instance with the same knob
	 * values; step, set, save, restore and destroy are then called on every
	 * rank at the same step, so collectives inside them match. diag_len,
	 * diag_read and read_scalars are called on rank 0 only, and must not
	 * communicate, unless the adapter sets SA_MPI_COLLECTIVE_DIAGS (then on
	 * every rank together). See steerd_mpi.h.
	 */
	const void *mpi_comm;
} sa_host;

typedef struct sa_adapter {
	uint32_t abi_major;      /* SA_ABI_MAJOR; must stay the first field */
	uint32_t abi_minor;      /* SA_ABI_MINOR of the header built against */
	uint32_t size;           /* sizeof(sa_adapter) of the header built against */
	uint32_t flags;          /* SA_SINGLE_INSTANCE, or 0 */
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
	 * checks relations between knobs. host lives as long as the instance
	 * (NULL when the caller has no log to offer, e.g. a test).
	 * Returns NULL (and a message) on error. Hosted only (NULL embedded).
	 */
	void *(*create)(const sa_value *values, const sa_host *host, char *err, size_t errlen);

	/* Free everything create() made. NULL is a no-op. Hosted only. */
	void (*destroy)(void *sim);

	/* Advance one time step. Hosted only: an embedded code steps itself. */
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
	 * Overwrite the state of sim with a saved state, knob values included.
	 * Without SA_SINGLE_INSTANCE (and hosted), sim is freshly made by
	 * create() with the knob values current at save time (the host saves
	 * them with get()), and on failure the host destroys it, so a partial
	 * restore is never used. With SA_SINGLE_INSTANCE or embedded, sim is the
	 * live instance: the host keeps a copy of its state first and restores
	 * that if this call fails. save and restore are optional (both or
	 * neither): without them checkpoint, rewind and search are refused with
	 * a message naming what is missing.
	 */
	int (*restore)(void *sim, const sa_reader *r, char *err, size_t errlen);

	/* Optional (may be NULL/0): openPMD particle records of the saved state. */
	const sa_record *records;
	size_t n_records;

	/* ---- ABI 2.1 (optional; absent when size does not reach them) ---- */

	/*
	 * Every scalar (rank-0) diagnostic at once, in the order of diags, into
	 * out (n of them): 0 or -1. When given, the host calls it once per
	 * boundary instead of one diag_read per scalar (an MPI code reduces them
	 * all in one collective here).
	 */
	int (*read_scalars)(const void *sim, double *out, size_t n);
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
