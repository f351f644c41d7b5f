/* SPDX-License-Identifier: MIT */
/*
 * lib_mpi.h — libsteerd-mpi's front door (sim-adapter/steerd_mpi.h): open on
 * every rank, the collective boundary, close. lib.c hands an MPI run's
 * calls here (s->mpi set).
 */
#ifndef STEERD_LIB_MPI_H
#define STEERD_LIB_MPI_H

#include <mpi.h>
#include <signal.h>

#include "lib.h"
#include "mpi_layer.h"
#include "steerd_mpi.h"

/* steerd_open_with on every rank of comm (a->desc NULL: hosted, every rank
 * creates its instance from the config). NULL on every rank on failure. */
steerd *steerd_open_mpi_with(MPI_Comm comm, const steerd_open_args *a, int *status, char *err,
                             size_t errlen);

/* steerd_boundary, steerd_run of an MPI run (every rank). */
int mpi_boundary(steerd *s, volatile sig_atomic_t *signalled);
int mpi_run(steerd *s);

/* steerd_close: rank 0 after run_end (the other ranks return); the others. */
void mpi_ended(steerd *s);
int mpi_worker_close(steerd **sp);

#endif
