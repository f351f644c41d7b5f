/* SPDX-License-Identifier: MIT */
/*
 * checkpoint_internal.h — the parts of checkpoint.c that the MPI writer and
 * reader (checkpoint_mpi.c) share with it: the same file properties, the same
 * temporary name, commit and checks, and the same /steerd and openPMD parts.
 * Not for other callers: checkpoint.h is the interface.
 */
#ifndef STEERD_CHECKPOINT_INTERNAL_H
#define STEERD_CHECKPOINT_INTERNAL_H

#include <hdf5.h>

#include "checkpoint.h"
#include "h5io.h"

/* File access (1.8+ format, strong close, locking where possible) and creation. */
hid_t checkpoint_fapl(void);
hid_t checkpoint_fcpl(void);

/* Everything a reader would refuse, refused before writing: 0 or -1. */
int checkpoint_check_info(const sa_adapter *sa, const checkpoint_info *info, const char *label,
                          char *err, size_t errlen);

/* The journal as one JSON array (malloc'd), or NULL when out of memory. */
char *checkpoint_dump_journal(const checkpoint_info *info);

/* The openPMD date of now ("YYYY-MM-DD HH:mm:ss +zzzz"; the test hook's when set). */
void checkpoint_date(char *buf, size_t cap);

/*
 * Create path.tmp.PID.N exclusively (tmp: tlen bytes); 0, or -1 with a
 * message.
 */
int checkpoint_tmp_create(const char *path, char *tmp, size_t tlen, char *err, size_t errlen);

/*
 * fsync tmp, rename it to path, fsync the directory; *bytes the size.
 * 0: done; -1: renamed, but the directory sync failed; 1: not renamed (tmp
 * is still there: the caller removes it).
 */
int checkpoint_commit(const char *tmp, const char *path, uint64_t *bytes, char *err,
                      size_t errlen);

/* A file failed to close: checkpoint_library_damaged() is true from now on. */
void checkpoint_mark_damaged(void);

/*
 * After the adapter's state is in st (/steerd/state): /steerd's attributes,
 * knobs, ramps, config, journal and history in g (/steerd), and the openPMD
 * view of the file (saved: the ranges of the saved F64 arrays, for the
 * particle patches; date NULL: now). 0, or -1 with "label: problem".
 */
int checkpoint_write_rest(hid_t file, hid_t g, hid_t st, const h5io_state *saved,
                          const sa_adapter *sa, const void *sim, const checkpoint_info *info,
                          const char *journal_text, const char *date, const char *label,
                          char *err, size_t errlen);

/* Open an untrusted checkpoint read-only after checks with clear messages. */
hid_t checkpoint_open_untrusted(const char *path, char *err, size_t errlen);

/* /steerd's attributes and knob table into l (g: the /steerd group). */
int checkpoint_read_head(hid_t g, const sa_adapter *sa, checkpoint_loaded *l, const char *label,
                         char *err, size_t errlen);

#endif
