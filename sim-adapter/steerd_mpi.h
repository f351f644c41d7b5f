/* SPDX-License-Identifier: MIT — libsteerd-mpi's public API; embed steerd in an MPI code. */
/*
 * steerd_mpi.h — steer an MPI code (libsteerd-mpi: pkg-config steerd-mpi).
 * A separate header, so that codes without MPI never need mpi.h.
 *
 * Every rank of the communicator opens steerd with its own part of the
 * simulation and goes through the same boundaries:
 *
 *     MPI_Init(&argc, &argv);
 *     steerd_options o = STEERD_OPTIONS_INIT;
 *     steerd_options_from_args(&o, &argc, argv, err, sizeof err);
 *     steerd *s = steerd_open_mpi(MPI_COMM_WORLD, &desc, &my_state, &o, err, sizeof err);
 *     while (steerd_boundary(s) == STEERD_GO)     // every rank
 *         if (my_step(&my_state) < 0)
 *             steerd_step_failed(s, why);           // on the rank that failed
 *     steerd_close(&s);                            // every rank
 *     MPI_Finalize();
 *
 * Rank 0 is steerd: only it reads the config, binds the endpoints, runs
 * steerd's threads and writes the connection file; clients attach to it
 * exactly as to a serial run. Every change is announced by rank 0 to the
 * other ranks at the boundary where it applies, and each rank applies it to
 * its own state through the same callback: set() (knobs from the config,
 * clients, ramps, schedules, searches), save() and restore() (snapshot-state,
 * rewind and search: each rank keeps its own part in memory). So a change
 * takes effect at the same step on every rank, and a run given the same
 * changes at the same steps is as deterministic as the code is.
 *
 * Cost. A boundary where nothing changes is one MPI_Allreduce of two ints
 * (every rank's step-failure flag and rank 0's "something to do"); a
 * boundary with changes adds one broadcast of 32 bytes per change and one
 * to say go or stop; while paused the other ranks wait without spinning a
 * CPU (polling a nonblocking broadcast, sleeping up to 1 ms between polls).
 *
 * What the descriptor must do in an MPI run:
 *   - get, step_count and time read local values that are the same on every
 *     rank (the step and the knobs);
 *   - diag_len, diag_read and read_scalars are called on rank 0 only and
 *     must give global values without communicating (e.g. reduced during
 *     the step) — unless the adapter sets SA_MPI_COLLECTIVE_DIAGS: then they
 *     are called on every rank together and may communicate, and every
 *     boundary takes the slower path (the reads are announced);
 *   - set, save and restore are called on every rank together and may
 *     communicate; a rank that refuses fails the call on every rank (the
 *     message names it); set must decide alike on every rank;
 *   - save() writes the rank's own part: the in-memory states of
 *     snapshot-state, rewind and search are one per rank. A checkpoint
 *     file is one file written by every rank (parallel HDF5): save() writes
 *     the global state with array/attr (the same on every rank: checked) and
 *     the rank's own share with array_part (steerd_adapter.h). A restart
 *     (options->restart) restores every rank's instance in place from such
 *     a file, with any number of ranks: rank 0 reads steerd's state, every
 *     rank its own part (the same N) or an even share (another N).
 *
 * Step failures. A rank whose step fails calls steerd_step_failed(): at
 * the next boundary every rank learns of it, the run pauses on all ranks
 * together and rank 0 reports the rank and its message (event step_failed).
 *
 * Errors that end the job. steerd sets nothing on the communicator: with
 * MPI's default error handler (MPI_ERRORS_ARE_FATAL) an MPI error ends the
 * job, and so does a rank that dies — Open MPI 4.1 has no fault-tolerant
 * MPI, so mpirun then kills every rank. The newest checkpoint file stays
 * whole (it is written under a temporary name and renamed), and the run
 * continues from it with --restart.
 *
 * Threads. As steerd.h: call steerd_open_mpi, steerd_boundary,
 * steerd_step_failed and steerd_close from one thread of each rank (MPI's
 * MPI_THREAD_FUNNELED suffices: steerd's own threads on rank 0 make no MPI
 * calls). steerd_run() works too for a descriptor with step(): every rank
 * steps with it.
 */
#ifndef STEERD_MPI_H
#define STEERD_MPI_H

#include <mpi.h>

#include "steerd.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Open steerd on every rank of comm (collective: every rank calls it, with
 * its own desc and sim; desc is the same table on every rank). options are
 * read on rank 0 (the config, the connection file, the path of
 * options->restart, whose file every rank then reads its part of). Returns a handle on every rank,
 * or NULL on every rank with the same message in err (rank 0's reason).
 * steerd keeps a duplicate of comm (MPI_Comm_dup) until steerd_close.
 */
STEERD_EXPORT steerd *steerd_open_mpi(MPI_Comm comm, const sa_adapter *desc, void *sim,
                                      const steerd_options *options, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* STEERD_MPI_H */
