/* SPDX-License-Identifier: MIT */
/*
 * checkpoint_mpi.h — the simulation's part of a checkpoint file of an MPI run,
 * written by every rank together (parallel HDF5). MPI build only.
 *
 * Called on every rank at the same boundary (steerd/mpi/mpi_layer.c, op
 * OP_CHECKPOINT): on rank 0 by its run when a checkpoint file is written
 * (run.h write_sim_file), on the other ranks when rank 0 announces it. path
 * is the file rank 0's run writes. Returns 0, or -1 with err; the outcome of
 * every rank is combined (mpi_agree), so a failure on one rank fails the
 * checkpoint on all, naming the rank.
 *
 * TODO(ck16, issue 16): the parallel writer. Until it lands
 * (checkpoint_mpi.c) this refuses with more than one rank, so `checkpoint`
 * answers `refused` and periodic and on_exit checkpoints fail with
 * checkpoint_failed; the run goes on. With one rank it writes nothing and
 * succeeds: rank 0 writes the whole file serially.
 */
#ifndef STEERD_CHECKPOINT_MPI_H
#define STEERD_CHECKPOINT_MPI_H

#include <mpi.h>
#include <stddef.h>

#include "steerd_adapter.h"

int checkpoint_mpi_write_sim(MPI_Comm comm, const sa_adapter *sa, void *sim, const char *path,
                             char *err, size_t errlen);

#endif
