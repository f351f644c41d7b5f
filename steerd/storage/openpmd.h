/* SPDX-License-Identifier: MIT */
/*
 * openpmd.h — the openPMD 1.1.0 (base standard) view of a checkpoint, so that
 * openPMD readers (openPMD-viewer, yt, openPMD-api) open it.
 *
 *   /                          openPMD, openPMDextension, basePath, meshesPath*,
 *                              particlesPath*, iterationEncoding, iterationFormat,
 *                              author, software, softwareVersion, date
 *   /data/<step>/              time, dt, timeUnitSI
 *   /data/<step>/meshes/NAME   every rank-1 diagnostic whose axis diagnostic is
 *                              evenly spaced (cartesian, 1D); Fletcher32
 *   /data/<step>/particles/... the adapter's `records`: hard links to the saved
 *                              state arrays (timeOffset from the record),
 *                              constant records as groups, a constant zero
 *                              positionOffset when none is given, weighting as
 *                              openPMD fixes it, and particlePatches (one patch)
 *
 * iterationEncoding: groupBased, iterationFormat = basePath: every checkpoint
 * is a file of its own (names carry the write sequence, not a series pattern).
 * (*) meshesPath and particlesPath are written only when there are meshes or
 * particles: in openPMD 1.1.0 the attribute promises that the group exists.
 */
#ifndef STEERD_OPENPMD_H
#define STEERD_OPENPMD_H

#include <hdf5.h>
#include <stdint.h>

#include "h5io.h"
#include "steerd_adapter.h"

typedef struct openpmd_iteration {
	uint64_t step;
	double time, dt;    /* s */
	const char *date;   /* "YYYY-MM-DD HH:mm:ss +zzzz" */
	const h5io_state *saved; /* ranges of the saved arrays (particlePatches), or NULL */
} openpmd_iteration;

/*
 * Write the openPMD part into file. state is the group holding the adapter's
 * saved arrays (the particle records link to them). 0, or -1 with a message.
 */
int openpmd_write(hid_t file, hid_t state, const sa_adapter *sa, const void *sim,
                  const openpmd_iteration *it, char *err, size_t errlen);

#endif
