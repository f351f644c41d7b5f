/* SPDX-License-Identifier: MIT */
/*
 * mpi_layer.h — how rank 0's run reaches the other ranks' simulations.
 *
 * Rank 0 runs the normal run (run.c, unchanged) over a wrapped adapter:
 * every call that the other ranks must join — set, save, restore, and the
 * diagnostic reads of an adapter with SA_MPI_COLLECTIVE_DIAGS — is first
 * announced with a broadcast of a 32-byte op header (mpi_send), and every
 * other rank, waiting in mpi_serve, makes the same call on its own
 * simulation; the outcome of each call is gathered on rank 0, which fails
 * it naming the rank that refused. A boundary with ops ends with OP_GO or
 * OP_STOP. Every broadcast of ops is nonblocking (MPI_Ibcast: blocking and
 * nonblocking collectives never match), so a waiting rank polls it with a
 * growing sleep instead of Open MPI's busy wait.
 */
#ifndef STEERD_MPI_LAYER_H
#define STEERD_MPI_LAYER_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "checkpoint.h"
#include "mpi_image.h"

enum mpi_op {
	OP_GO = 1,       /* the boundary ends: step */
	OP_STOP,         /* the boundary ends: the run stops (steerd_close follows) */
	OP_END,          /* steerd_close on rank 0 is done with the simulation */
	OP_OPENED,       /* steerd_open on rank 0 is done: a = 0 ok, else failed (payload: why) */
	OP_SET,          /* set(a, v) */
	OP_SAVE,         /* save into the in-memory image id */
	OP_RESTORE,      /* restore the in-memory image id */
	OP_CHECKPOINT,   /* write the simulation's part of the file (payload: path) */
	OP_DIAG_LEN,     /* SA_MPI_COLLECTIVE_DIAGS: diag_len(a) */
	OP_DIAG_READ,    /* diag_read(a, cap = id) */
	OP_READ_SCALARS, /* read_scalars(n = id) */
	OP_RELEASE,      /* forget the in-memory image id: rank 0 freed its own */
};

typedef struct mpi_layer {
	MPI_Comm comm;        /* steerd's duplicate of the code's communicator */
	int rank, size;
	bool collective_diags; /* SA_MPI_COLLECTIVE_DIAGS */
	sa_host host;         /* hosted: given to create(), with mpi_comm */
	bool restarting;      /* opening: rank 0 was given a restart (told to every rank) */
	int stage;            /* opening (lib_mpi.c): 0, 1 config agreed, 2 serving,
	                         3 restart read on rank 0 only; -1 given up */
	/* rank 0 */
	sa_adapter real;      /* the adapter's own calls, before wrapping */
	void *run_sim;        /* the run's simulation (in place: it never changes) */
	uint64_t next_image;  /* ids of saved states */
	bool listening;       /* the other ranks wait for ops (a boundary's slow path) */
	struct mpi_kept {     /* the run's images and their ids (run_image_hooks) */
		const void *image;
		uint64_t id;
	} *kept;
	size_t n_kept, cap_kept;
	uint64_t last_kept;   /* the id of the newest image: saves since without one are dead */
	uint64_t *released;   /* ids to release when the other ranks next listen */
	size_t n_released, cap_released;
	/* the other ranks */
	const sa_adapter *sa; /* the calls made on this rank's simulation */
	void *sim;
	bool owns_sim;        /* hosted: created here, destroyed at close */
	bool unchanged;       /* nothing changed the state since the last save */
	mpi_images images;
} mpi_layer;

/* A layer over a duplicate of comm (collective). NULL with err. */
mpi_layer *mpi_layer_new(MPI_Comm comm, char *err, size_t errlen);
void mpi_layer_free(mpi_layer **lp);

/* Rank 0: route desc's calls through the layer (more than one rank only). */
void mpi_wrap_adapter(mpi_layer *L, sa_adapter *desc);

/* Rank 0: the other ranks wait for ops from now on (listening) or not; ids
 * released meanwhile are sent when they listen again. */
void mpi_listening(mpi_layer *L, bool listening);

/* Rank 0: announce an op (payload: len bytes, or none). */
void mpi_send(mpi_layer *L, int op, int a, uint64_t id, uint64_t v, const void *payload,
              uint32_t len);

/* Ranks other than 0: make the calls announced until an op of GO, STOP,
 * END or OPENED, which is returned (OPENED: *status and why in msg). */
int mpi_serve(mpi_layer *L, int *status, char *msg, size_t msglen);

/*
 * Every rank: did any rank fail (rc < 0, with msg)? 0 everywhere if none;
 * else -1 everywhere, and in err "rank R of N: msg" (the lowest such rank;
 * the same text on every rank). One MPI_Allreduce of an int; the messages
 * are gathered only when one failed.
 */
int mpi_agree(mpi_layer *L, int rc, const char *msg, char *err, size_t errlen);

/* Rank 0's run: write a checkpoint file with every rank (run.h
 * run_file_writer; checkpoint_mpi.h). */
int mpi_write_file(void *layer, const char *path, const checkpoint_info *info, uint64_t *bytes,
                   char *err, size_t errlen);

#endif
