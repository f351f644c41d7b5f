/* SPDX-License-Identifier: MIT */
/*
 * checkpoint_mpi.h — checkpoints of an MPI run: one HDF5 file written and
 * read by every rank together with parallel HDF5 (MPI-IO), in the layout of
 * a serial checkpoint (checkpoint.h), so that the openPMD view, `--restart`
 * of a serial steerd and every reader of serial checkpoints read it too.
 * Built only with -DSTEERD_MPI (the MPI build, linked with hdf5-openmpi).
 *
 * Writing, on every rank at the same step (checkpoint_mpi_write):
 *   1. rank 0 checks what it is given and creates the temporary file
 *      (path.tmp.PID.N, as serially); every rank learns its name;
 *   2. every rank opens it with MPI-IO and the adapter's save() runs on every
 *      rank (sa_writer in an MPI run, steerd_adapter.h): each `attr` and
 *      `array` (global state, the same on every rank: checked) is written
 *      once; each `array_part` becomes one dataset of all the ranks' parts in
 *      rank order, rank r writing its n_r elements at offset
 *      n_0 + ... + n_{r-1} in one collective H5Dwrite, and checksummed part
 *      by part (h5io.h: steerd_parts, steerd_xxh64_parts), so no rank ever
 *      handles another rank's data. Every call ends with the ranks agreeing
 *      that it succeeded everywhere (one small allreduce), so a failure on
 *      one rank fails the call on all instead of leaving them in different
 *      collectives. The file is then closed (MPI_File_close: synced);
 *   3. rank 0 alone reopens it (serial driver) and adds what only it holds,
 *      with the code of serial checkpoints: /steerd's attributes, knobs,
 *      ramps, config, journal and history, and the openPMD view (meshes from
 *      the diagnostics, which are global; particle records linked to the
 *      saved arrays; patches from the ranges every rank reduced in 2);
 *   4. rank 0 fsyncs it, renames it to path and fsyncs the directory.
 * Only a complete file ever gets the final name: a rank that fails or dies
 * at any point before 4 leaves at most the temporary file (which no restart
 * reads), and the checkpoints written before stay whole.
 *
 * Reading (checkpoint_mpi_read_into), on every rank: the file is opened with
 * MPI-IO, every array verified against its checksums with the work shared
 * (each rank verifies a share of the parts; rank 0 the arrays written
 * whole), then the adapter's restore() reads on every rank: `attr` and
 * `array` the whole values, `part` this rank's part (its own when the file
 * was written by as many ranks, else an even share: redistribution).
 *
 * Errors: both return the same result on every rank, and the same message
 * (the lowest failing rank's, naming it when it is not rank 0).
 */
#ifndef STEERD_CHECKPOINT_MPI_H
#define STEERD_CHECKPOINT_MPI_H

#include <mpi.h>

#include "checkpoint.h"

/*
 * Write a checkpoint of the run to path, collectively: every rank of comm
 * calls it with its own sim. path and info are read on rank 0 only (other
 * ranks may pass NULL for both): info is steerd's state besides the
 * adapter's, as for checkpoint_write(). *bytes (may be NULL) gets the file's
 * size on every rank. 0, or -1 with "path: problem" in err on every rank.
 */
int checkpoint_mpi_write(MPI_Comm comm, const char *path, const sa_adapter *sa, const void *sim,
                         const checkpoint_info *info, uint64_t *bytes, char *err, size_t errlen);

/*
 * Restore sim from the checkpoint at path, collectively: every rank of comm
 * calls it with its own instance, made by create() with the saved knob values
 * (rank 0 reads them, with all the rest of steerd's state, by
 * checkpoint_read_meta(), and the host gives them to every rank). path is
 * read on rank 0 only. Verifies every array of the file, the adapter's
 * restore on every rank, and that the restored step and knobs are those of
 * /steerd. On failure (-1, the same message on every rank) the instances may
 * be partly overwritten: the host destroys them, or puts back its own copy.
 */
int checkpoint_mpi_read_into(MPI_Comm comm, const char *path, const sa_adapter *sa, void *sim,
                             char *err, size_t errlen);

#endif
