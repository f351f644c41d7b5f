/* SPDX-License-Identifier: MIT */
/*
 * checkpoint_dir.h — the checkpoints in a directory, ordered by when they
 * were written.
 *
 * Neither file names nor steps say which checkpoint is the newest: the step
 * goes back on `rewind` and on search restores, several checkpoints can
 * share a step, and names are chosen by clients. Every checkpoint records a
 * write sequence number (/steerd write_seq, checkpoint.h) that only grows
 * over a run and its restarts; the checkpoint written last is the one with
 * the highest. Files without one (steerd 0.1) count as 0; ties go to the
 * most recently modified file, then to the name sorting last.
 */
#ifndef STEERD_CHECKPOINT_DIR_H
#define STEERD_CHECKPOINT_DIR_H

#include <stddef.h>
#include <stdint.h>

typedef struct checkpoint_entry {
	char *path;         /* DIR/NAME; owned */
	uint64_t write_seq; /* 0 for a file without one */
	uint64_t step;
	int64_t mtime_ns;   /* modification time, for ties */
} checkpoint_entry;

/* Called with "path: reason" for each *.h5 file that is not a usable checkpoint. */
typedef void (*checkpoint_dir_skip_fn)(const char *message);

/*
 * The readable checkpoints (regular files named *.h5 whose /steerd
 * attributes read) in dir, newest first. *out is malloc'd (free with
 * checkpoint_dir_free), *n may be 0. Only /steerd's attributes are read
 * here: a damaged file may still be listed; checkpoint_read decides.
 * -1 with "dir: reason" in err when dir cannot be read.
 */
int checkpoint_dir_list(const char *dir, checkpoint_dir_skip_fn skipped, checkpoint_entry **out,
                        size_t *n, char *err, size_t errlen);

void checkpoint_dir_free(checkpoint_entry **entries, size_t n);

/* The highest write sequence in dir (0 when there is none or dir cannot be read). */
uint64_t checkpoint_dir_max_seq(const char *dir);

#endif
