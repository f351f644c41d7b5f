/* SPDX-License-Identifier: MIT */
/*
 * mpi_image.h — the parts of saved states that the ranks other than 0 keep
 * in memory (snapshot-state, rewind, search): each rank's own save(), kept
 * under the id rank 0 wrote into its own image (MPI_IMAGE_ATTR), so that a
 * restore of that image on rank 0 restores the same state on every rank.
 */
#ifndef STEERD_MPI_IMAGE_H
#define STEERD_MPI_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "steerd_adapter.h"

/* The attribute rank 0's save() adds to its own image: the state's id. */
#define MPI_IMAGE_ATTR "steerd_mpi/image"

/*
 * Rank 0 releases each state when its run frees the image (OP_RELEASE,
 * run_image_hooks), so a rank keeps what rank 0 keeps: 8 snapshot-states
 * and a search's few. As a backstop, at most this many are kept, the least
 * recently used going first; a restore of a state gone fails on every rank
 * with a message, and changes nothing.
 */
#define MPI_IMAGES_MAX 24

typedef struct mpi_blob mpi_blob;

typedef struct mpi_images {
	struct {
		uint64_t id, used;
		mpi_blob *blob; /* shared among ids saved without a change in between */
	} slot[MPI_IMAGES_MAX];
	size_t n;
	uint64_t clock;
	mpi_blob *last; /* the newest saved: reused while the state has not changed */
} mpi_images;

/* save() into a new image under id; unchanged (the state is as at the last
 * save): share that image. 0 or -1 with err. */
int mpi_image_save(mpi_images *im, const sa_adapter *sa, const void *sim, uint64_t id,
                   bool unchanged, char *err, size_t errlen);

/* restore() the image id into sim. 0 or -1 with err. */
int mpi_image_restore(mpi_images *im, const sa_adapter *sa, void *sim, uint64_t id, char *err,
                      size_t errlen);

/* Forget the state id (rank 0 freed its image). */
void mpi_image_release(mpi_images *im, uint64_t id);

void mpi_images_free(mpi_images *im);

#endif
