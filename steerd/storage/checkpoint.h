/* SPDX-License-Identifier: MIT */
/*
 * checkpoint.h — HDF5 checkpoints with exact restart.
 *
 * A checkpoint holds the complete state of a run: what the adapter saves
 * through the host's sa_writer, plus the host's own state (knob values applied
 * and requested, ramps, schedule position, config text, steering journal). A
 * restored simulation continues bitwise like the original.
 *
 * Layout (format version CHECKPOINT_FORMAT_VERSION):
 *   /                       openPMD 1.1.0 root attributes (see openpmd.h)
 *   /data/<step>/           the openPMD iteration: meshes from the rank-1
 *                           diagnostics, particles hard-linked to the state
 *   /steerd                 attrs format="steerd-checkpoint", format_version,
 *                           abi_version, adapter, adapter_version,
 *                           steerd_version, step, time, schedule_pos,
 *                           next_ramp_id, write_seq (uint64: the run's
 *                           checkpoint write sequence, which only grows:
 *                           the highest one in a directory was written
 *                           last; files of steerd 0.1 lack it and read 0)
 *   /steerd/knobs           compound[n_knobs] {name, type, applied, requested,
 *                           applied_int, requested_int}: the *_int fields are
 *                           exact for int/bool/enum knobs, the others hold
 *                           every value as a double
 *   /steerd/ramps           compound[n_ramps] {id, knob, from, to, start_step,
 *                           steps, progress, client}
 *   /steerd/config          the config file's text (fixed-length string)
 *   /steerd/journal         the steering journal as JSON text
 *   /steerd/history/...     the run's past (history_h5.c; files only, not
 *                           in-memory images; absent in older files)
 *   /steerd/state/...       everything the adapter wrote: arrays as contiguous
 *                           rank-1 datasets, attributes as scalar attributes of
 *                           the group of their parent path ("knobs/gap" is
 *                           attribute "gap" of /steerd/state/knobs)
 * Every dataset under /steerd carries an XXH64 checksum of its contents
 * (attribute steerd_xxh64; an array an MPI run wrote in parts carries one per
 * part instead, h5io.h, checkpoint_mpi.h) and the file uses the HDF5 1.8+ format, whose
 * metadata is checksummed: corruption is detected, not restored.
 *
 * Reading treats the file as untrusted: anything missing, malformed,
 * corrupt, foreign or incompatible (other adapter, ABI or format version,
 * unknown or missing knobs, values out of bounds) is refused with a message
 * naming the file and the problem, and nothing is returned.
 *
 * HDF5 is used from one thread at a time: the caller serialises checkpoint
 * calls (the daemon makes them on the simulation thread only).
 */
#ifndef STEERD_CHECKPOINT_H
#define STEERD_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "ramp.h"

#define CHECKPOINT_FORMAT_VERSION 1u

/* Limits on what a reader accepts (bounds checked before allocating). */
#define CHECKPOINT_MAX_KNOBS 4096
#define CHECKPOINT_MAX_CONFIG (16u << 20)  /* bytes of config text */
#define CHECKPOINT_MAX_JOURNAL (256u << 20) /* bytes of journal JSON */

/* The host's state besides the adapter's. Nothing is taken over. */
typedef struct checkpoint_info {
	uint64_t step;
	double time;                /* s */
	const sa_value *knobs;      /* applied values, one per adapter knob */
	const sa_value *requested;  /* requested values (a ramp's target, else the
	                               applied one); NULL: same as knobs */
	const ramp *ramps;          /* n_ramps active ramps */
	size_t n_ramps;
	uint64_t next_ramp_id;
	uint64_t schedule_pos;      /* next schedule entry */
	uint64_t write_seq;         /* the checkpoint write sequence number */
	const char *config_text;    /* the config file's text; NULL: "" */
	const json_t *journal;      /* array of {step, client, knob, old, new}; NULL: [] */
	const char *journal_text;   /* or the same as JSON objects, one per line; wins over journal */
	const char *run_id;         /* the run's identity (identity.h); NULL: not written */
	struct history *history;    /* the run's past (history.h), for files; NULL: none */
} checkpoint_info;

/*
 * Write a checkpoint of sim to path, atomically: it goes to a temporary file
 * in the same directory (path + ".tmp.<pid>.<n>"), which is closed, fsync'ed
 * and renamed over path, and then the directory is fsync'ed. On failure path
 * is untouched and the temporary file removed. *bytes (may be NULL) gets the
 * file's size. 0, or -1 with "path: problem" in err.
 */
/*
 * True once an HDF5 file failed to close (full disk, file size limit): HDF5
 * 1.10.8 then crashes in its own exit handler, so the daemon must leave with
 * _exit() (the operating system frees what is left).
 */
bool checkpoint_library_damaged(void);

int checkpoint_write(const char *path, const sa_adapter *sa, const void *sim,
                     const checkpoint_info *info, uint64_t *bytes, char *err, size_t errlen);

/*
 * The same checkpoint in memory (HDF5 core driver, no backing store). On
 * success *image is malloc'd (free() it) and holds *len bytes of HDF5 file.
 */
int checkpoint_to_image(const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                        void **image, size_t *len, char *err, size_t errlen);

/* A checkpoint read back. Everything is owned: free with checkpoint_loaded_free. */
typedef struct checkpoint_loaded {
	void *sim;            /* created with the saved knob values, then restored;
	                         or the live instance restored into (in_place) */
	bool in_place;        /* sim is the caller's (checkpoint_read_into): never destroyed here */
	uint64_t step;
	double time;
	sa_value *knobs;      /* applied values [sa->n_knobs] */
	sa_value *requested;  /* requested values [sa->n_knobs] */
	ramp *ramps;          /* [n_ramps] */
	size_t n_ramps;
	uint64_t next_ramp_id, schedule_pos;
	uint64_t write_seq;   /* 0 when the file has none (steerd 0.1) */
	char *config_text;    /* NUL-terminated */
	json_t *journal;      /* an array */
	char run_id[40];      /* /steerd run_id; "" in files written before run ids */
	struct history *history; /* /steerd/history (history.h); NULL in files without one */
} checkpoint_loaded;

/*
 * Read the checkpoint at path for adapter sa. On success fills *out (which
 * the caller then owns); on failure *out is zeroed, nothing is left
 * allocated, and err says "path: problem".
 */
int checkpoint_read(const char *path, const sa_adapter *sa, checkpoint_loaded *out, char *err,
                    size_t errlen);

/*
 * Everything but the simulation (out->sim stays NULL; the adapter's state is
 * neither read nor verified): what rank 0 of an MPI run reads before every
 * rank creates its instance and checkpoint_mpi_read_into() restores it
 * (checkpoint_mpi.h), which verifies the whole file.
 */
int checkpoint_read_meta(const char *path, const sa_adapter *sa, checkpoint_loaded *out,
                         char *err, size_t errlen);

/*
 * Check every checksum of the checkpoint at path without reading it into
 * anything: before a restart from a directory chooses a file that many ranks
 * then read (checkpoint_read_meta does not look at the simulation's arrays),
 * so a damaged newest file is skipped as in a serial restart. 0, or -1 with
 * err ("path: problem").
 */
int checkpoint_verify(const char *path, char *err, size_t errlen);

/*
 * Only the config text saved in the checkpoint at path (NUL-terminated, owned
 * by the caller), to learn the adapter before reading the rest.
 */
int checkpoint_read_config(const char *path, char **text, char *err, size_t errlen);

/*
 * Only what ordering checkpoints needs: the write sequence (0 for a file
 * without one) and the step. The file is opened as untrusted and /steerd's
 * format checked; the rest is not read (checkpoint_read does that).
 */
int checkpoint_peek(const char *path, uint64_t *write_seq, uint64_t *step, char *err,
                    size_t errlen);

/* The same as checkpoint_read from an image in memory (copied; the caller keeps image). */
int checkpoint_from_image(const void *image, size_t len, const sa_adapter *sa,
                          checkpoint_loaded *out, char *err, size_t errlen);

/*
 * The same, restoring into the live instance `into` instead of creating one
 * (SA_SINGLE_INSTANCE adapters and embedded codes). On failure the instance
 * may be partly overwritten: the caller restores its own copy (run.h). A
 * file's checksums are all verified before the instance is touched.
 */
int checkpoint_read_into(const char *path, const sa_adapter *sa, void *into,
                         checkpoint_loaded *out, char *err, size_t errlen);
int checkpoint_from_image_into(const void *image, size_t len, const sa_adapter *sa, void *into,
                               checkpoint_loaded *out, char *err, size_t errlen);

/* Destroy the simulation and free everything; zeroes *l. NULL-safe. */
void checkpoint_loaded_free(const sa_adapter *sa, checkpoint_loaded *l);

/*
 * For tests only (not thread-safe; NULL restores the defaults): a fixed
 * `date` attribute so that images compare byte for byte, and a failure
 * injected after the temporary file is complete but before the rename.
 */
typedef struct checkpoint_test_hooks {
	const char *date;
	int fail_before_rename;
} checkpoint_test_hooks;
void checkpoint_set_test_hooks(const checkpoint_test_hooks *hooks);

#endif
