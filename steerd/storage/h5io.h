/* SPDX-License-Identifier: MIT */
/*
 * h5io.h — small HDF5 helpers for checkpoints: fixed-length string and
 * numeric attributes, contiguous datasets carrying a checksum, text datasets,
 * and the adapter's sa_writer / sa_reader over an HDF5 group.
 *
 * Every object made here records no modification times, so the same state
 * gives the same bytes. Every reader treats the file as untrusted: types,
 * shapes and sizes are checked before anything is allocated or read, and
 * dataset contents are checked against the checksum written with them.
 *
 * All functions return 0 (or a valid id) on success and -1 (or H5I_INVALID_HID)
 * on failure; none prints anything. HDF5 is not reentrant here: call from one
 * thread at a time.
 */
#ifndef STEERD_H5IO_H
#define STEERD_H5IO_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "steerd_adapter.h"

/* Name of the uint64 attribute holding a dataset's checksum (XXH64, seed 0). */
#define H5IO_CHECKSUM_ATTR "steerd_xxh64"

/*
 * An array an MPI run wrote in parts (sa_writer.array_part) carries, instead
 * of one checksum, the element count of every rank's part in rank order
 * (H5IO_PARTS_ATTR, uint64[P]) and the XXH64 of each part (uint64[P]): each
 * rank hashes its own part, so writing needs no rank to see the whole.
 * Readers verify it part by part. P is at most H5IO_MAX_PARTS.
 */
#define H5IO_PARTS_ATTR "steerd_parts"
#define H5IO_PARTS_CHECKSUM_ATTR "steerd_xxh64_parts"
#define H5IO_MAX_PARTS ((size_t)1 << 20)

/* Longest '/'-path accepted for saved state names. */
#define H5IO_MAX_NAME 255

/* Turn off HDF5's automatic error printing for the calling thread. */
void h5io_quiet(void);

/*
 * Give the calling thread back the error printing (or handler) it had before
 * the first h5io_quiet() since the last call: an embedding code's own HDF5
 * error handler stays its own (steerd.h). A flag test when nothing was
 * quietened, so it costs nothing at a boundary that touched no HDF5.
 */
void h5io_unquiet(void);

/*
 * XXH64 of the bytes. Element arrays are hashed as the little-endian encoding
 * of their 8-byte elements, so the value does not depend on the host.
 */
uint64_t h5io_xxh64(const void *data, size_t len, uint64_t seed);

/*
 * Whether a computed checksum matches the stored one. Fuzzing builds
 * (-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, tests/fuzz/) take any as
 * matching, so that changed data reaches the code that checks and uses it, as
 * a crafted file with correct checksums would.
 */
static inline int h5io_sum_matches(uint64_t computed, uint64_t stored)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)computed;
	(void)stored;
	return 1;
#else
	return computed == stored;
#endif
}

/* A '/'-path of [A-Za-z0-9_]+ segments, at most H5IO_MAX_NAME long. */
int h5io_valid_path(const char *name);

/* Property lists used for every object: no time tracking. */
hid_t h5io_gcpl(void);

/* Open the group at path below loc, creating missing groups on the way. */
hid_t h5io_mkgroups(hid_t loc, const char *path);

/* Open the group at path when it exists and is a group. */
hid_t h5io_open_group(hid_t loc, const char *path);

/* Whether the link exists (a missing intermediate group counts as missing). */
int h5io_exists(hid_t loc, const char *path);

/* ---- attributes (written: fail if present) ---------------------------- */

int h5io_attr_str(hid_t obj, const char *name, const char *value);
int h5io_attr_strs(hid_t obj, const char *name, const char *const *values, size_t n);
int h5io_attr_f64(hid_t obj, const char *name, double v);
int h5io_attr_f64s(hid_t obj, const char *name, const double *v, size_t n);
int h5io_attr_u32(hid_t obj, const char *name, uint32_t v);
int h5io_attr_u64(hid_t obj, const char *name, uint64_t v);
int h5io_attr_u64s(hid_t obj, const char *name, const uint64_t *v, size_t n);

/* Scalar attribute of an element type (SA_F64, SA_I64, SA_U64): exact type checked. */
int h5io_attr_put(hid_t obj, const char *name, sa_dtype t, const void *v);
int h5io_attr_get(hid_t obj, const char *name, sa_dtype t, void *out);

/* A fixed-length string attribute of at most cap - 1 bytes, NUL-terminated. */
int h5io_attr_get_str(hid_t obj, const char *name, char *buf, size_t cap);
int h5io_attr_get_u32(hid_t obj, const char *name, uint32_t *v);
/*
 * Why h5io_attr_get(obj, name, t) failed, in words for a message: "is
 * missing", or "is present but malformed: -3 (a signed 64-bit integer),
 * expected an unsigned 64-bit integer", ...
 */
void h5io_attr_why(hid_t obj, const char *name, sa_dtype t, char *why, size_t cap);

/* ---- datasets --------------------------------------------------------- */

/*
 * A contiguous rank-1 dataset of n elements of type t with its checksum
 * (xxh64 of the little-endian bytes, in the attribute H5IO_CHECKSUM_ATTR);
 * returns the open dataset (close it) or H5I_INVALID_HID. The _fletcher32
 * one is chunked with HDF5's Fletcher32 filter as well (n > 0), which every
 * HDF5 reader checks: for the openPMD view's own arrays. (The bulk, the
 * saved state, stays contiguous: a chunked, filtered write of 10^7 particles
 * took twice as long, tests/bench/bench_checkpoint.)
 */
hid_t h5io_array_put(hid_t loc, const char *name, sa_dtype t, size_t n, const void *data);
hid_t h5io_array_put_fletcher32(hid_t loc, const char *name, sa_dtype t, size_t n,
                                const void *data);

/* File and memory types of an element type; H5I_INVALID_HID for others. */
hid_t h5io_file_type(sa_dtype t);
hid_t h5io_mem_type(sa_dtype t);

/* Creation properties of every contiguous dataset: no fill, no times. */
hid_t h5io_contiguous_dcpl(void);

/* Open dataset `name` when it is a rank-1 array of exactly type t; its length in *n. */
hid_t h5io_array_open(hid_t loc, const char *name, sa_dtype t, size_t *n);

/* The parts of an array (H5IO_PARTS_ATTR) of n elements. */
typedef struct h5io_parts {
	size_t n;        /* parts */
	uint64_t *count; /* elements of each part [n] */
	uint64_t *sum;   /* XXH64 of each part [n] */
} h5io_parts;

/*
 * 1 and *p filled (h5io_parts_free it) when ds is in parts that add up to n
 * elements, 0 when it is not in parts, -1 when its parts are malformed.
 */
int h5io_parts_get(hid_t ds, size_t n, h5io_parts *p);
void h5io_parts_free(h5io_parts *p);

/* Read elements [offset, offset + n) of a rank-1 dataset with transfer dxpl. */
int h5io_slice_get(hid_t ds, sa_dtype t, size_t offset, size_t n, hid_t dxpl, void *out);

/* Element count of the rank-1 dataset `name` of exactly type t, or -1. */
int h5io_array_size(hid_t loc, const char *name, sa_dtype t, size_t *n);

/*
 * Read exactly n elements; -1 on a wrong type/shape or a missing checksum, -2
 * when the contents do not match a checksum (xxh64, or Fletcher32 of a chunk).
 */
int h5io_array_get(hid_t loc, const char *name, sa_dtype t, size_t n, void *out);

/*
 * Verify every rank-1 array of 8-byte numbers under loc (each object once,
 * however many links it has): it must carry a checksum that its contents
 * match. Other datasets are left to their readers. 0, or -1 with the
 * dataset's path and what is wrong in why.
 */
int h5io_verify_arrays(hid_t loc, char *why, size_t whylen);

/*
 * The same work shared among nranks readers of one file (an MPI run), each
 * calling it with its rank: part i of an array in parts is verified by rank
 * i % nranks, every other array by rank 0. The file is verified when every
 * rank returned 0.
 */
int h5io_verify_arrays_shared(hid_t loc, size_t rank, size_t nranks, char *why, size_t whylen);

/* Text as a scalar fixed-length string dataset, with its checksum. */
int h5io_text_put(hid_t loc, const char *name, const char *text, size_t len);

/*
 * Read a text dataset of at most max bytes: *out is malloc'd and
 * NUL-terminated, *len its length. A reason goes to why on failure.
 */
int h5io_text_get(hid_t loc, const char *name, size_t max, char **out, size_t *len, char *why,
                  size_t whylen);

/* ---- the adapter's writer and reader ---------------------------------- */

/* The range of an F64 array the adapter saved (openPMD particle patches). */
typedef struct h5io_range {
	char name[H5IO_MAX_NAME + 1];
	double lo, hi; /* over its finite elements; lo > hi when it has none */
} h5io_range;

typedef struct h5io_state {
	hid_t group;      /* where state goes / comes from; not owned */
	char detail[192]; /* the first problem met, for messages */
	h5io_range *ranges; /* writer: one per F64 array written; h5io_state_free */
	size_t n_ranges;
} h5io_state;

/* The range the writer noted for the F64 array `name`, or NULL. */
int h5io_state_add_range(h5io_state *ctx, const char *name, double lo, double hi);
/* lo and hi of the finite elements of x (lo > hi when none is finite). */
void h5io_finite_range(const double *x, size_t n, double *lo, double *hi);
/* Note the first problem met in ctx->detail (fmt takes name, then what); -1. */
int h5io_note(h5io_state *ctx, const char *fmt, const char *name, const char *what);
/* Split "a/b/c" into parent "a/b" (in parent, cap bytes) and leaf "c"; NULL if too long. */
const char *h5io_split_path(const char *name, char *parent, size_t cap);
const h5io_range *h5io_state_range(const h5io_state *ctx, const char *name);
void h5io_state_free(h5io_state *ctx);

/*
 * Arrays become datasets, attributes become attributes of the group named by
 * all but the last path segment (created as needed).
 */
void h5io_writer(sa_writer *w, h5io_state *ctx);
void h5io_reader(sa_reader *r, h5io_state *ctx);

#endif
