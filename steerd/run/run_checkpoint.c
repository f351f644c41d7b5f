/* SPDX-License-Identifier: MIT */
/* run_checkpoint.c — checkpoints, in-memory states and restart for the run (see run.h). */
#include "run_internal.h"
#include "history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint_dir.h"
#include "clock.h"
#include "identity.h"
#include "log.h"
#include "value_json.h"

/* The host's state as the checkpoint module wants it; requested = ramp targets. */
/* id: storage for the run's identity, which info points into. */
static void fill_info(run *r, checkpoint_info *info, sa_value *requested, run_identity *id)
{
	*id = identity_get();
	for (size_t k = 0; k < r->sa->n_knobs; k++)
		requested[k] = r->pub.knobs[k];
	for (size_t i = 0; i < r->pub.n_ramps; i++) {
		const ramp *rp = &r->pub.ramps[i];
		const sa_knob *kn = &r->sa->knobs[rp->knob];
		requested[rp->knob] = ramp_value_at(rp, kn, rp->start_step + rp->steps);
	}
	*info = (checkpoint_info){
		.step = r->pub.step, .time = r->pub.time, .knobs = r->pub.knobs,
		.requested = requested, .ramps = r->pub.ramps, .n_ramps = r->pub.n_ramps,
		.next_ramp_id = r->next_ramp_id, .schedule_pos = r->sched_pos,
		.write_seq = r->ckpt_seq,
		.config_text = r->cfg->text, .journal_text = r->journal.text ? r->journal.text : "",
		.run_id = id->run_id,
	};
}

static const char *checkpoint_dir(const run *r)
{
	return r->cfg->checkpoint_dir ? r->cfg->checkpoint_dir : ".";
}

/* Drop path from a list of written checkpoints (it has been written again). */
static void forget(char **files, size_t *n, const char *path)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(files[i], path) == 0) {
			free(files[i]);
			memmove(files + i, files + i + 1, (--*n - i) * sizeof *files);
			return;
		}
}

/*
 * Add path (taken over) as the newest of a list and remove the oldest files
 * beyond keep. Every name is unique (periodic ones carry the write sequence;
 * a name written again was forgotten first), so the file just announced is
 * never the one removed.
 */
static void rotate(char ***files, size_t *n, unsigned keep, char *path)
{
	char **grown = realloc(*files, (*n + 1) * sizeof *grown);
	if (!grown) {
		free(path);
		return;
	}
	*files = grown;
	grown[(*n)++] = path;
	if (keep == 0)
		keep = 1;
	while (*n > keep) {
		if (unlink(grown[0]) != 0 && errno != ENOENT)
			log_warn("cannot remove old checkpoint %s: %s", grown[0], strerror(errno));
		free(grown[0]);
		memmove(grown, grown + 1, --*n * sizeof *grown);
	}
}

/* The checkpoint directory as an absolute path (malloc'd): replies name files absolutely. */
static char *absolute_dir(const char *dir)
{
	char *abs = realpath(dir, NULL);
	if (abs || dir[0] == '/')
		return abs ? abs : strdup(dir);
	char *cwd = getcwd(NULL, 0);
	if (cwd && asprintf(&abs, "%s/%s", cwd, dir) < 0)
		abs = NULL;
	free(cwd);
	return abs;
}

/*
 * mkdir -p: the parents of dir (e.g. ~/.local/state/steerd), then dir itself.
 * Only for the first checkpoint: a directory that disappears later is made
 * again alone, so a parent that is gone (an unmounted disk) is reported as a
 * failure rather than silently recreated underneath.
 */
static int mkdir_parents(const char *dir, mode_t mode)
{
	char *copy = strdup(dir);
	if (!copy)
		return -1;
	for (char *p = copy + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return mkdir(dir, mode);
}

static void make_dir(run *r, const char *dir)
{
	if (!r->cfg->checkpoint_dir)
		return;
	if ((r->ckpt_dir_made ? mkdir(dir, 0755) : mkdir_parents(dir, 0755)) == 0) {
		if (r->ckpt_dir_made) { /* it was there before: someone removed it */
			log_warn("checkpoint directory %s had disappeared; created it again", dir);
			run_event(r, "checkpoint_directory_recreated", json_pack("{s:s}", "path", dir));
		}
	} else if (errno != EEXIST) {
		log_warn("cannot create checkpoint directory %s: %s", dir, strerror(errno));
	}
	r->ckpt_dir_made = true;
}

int run_checkpoint(run *r, const char *name, json_t **result, char *err, size_t errlen)
{
	if (!r->sa->save) {
		snprintf(err, errlen, "%s provides no save: no checkpoint can be written", r->sa->name);
		return -1;
	}
	const char *dir = checkpoint_dir(r);
	make_dir(r, dir);
	if (!r->ckpt_seq_scanned) {
		/* Above every checkpoint already there, so that the highest one in
		 * the directory is always the one written last (checkpoint_dir.h). */
		uint64_t there = checkpoint_dir_max_seq(dir);
		if (there > r->ckpt_seq)
			r->ckpt_seq = there;
		r->ckpt_seq_scanned = true;
	}
	uint64_t seq = ++r->ckpt_seq;
	char *abs = absolute_dir(dir);
	char *path = NULL;
	int n = !abs ? -1
	        : name ? asprintf(&path, "%s/%s", abs, name)
	               : asprintf(&path, "%s/ckpt_%020llu_step%llu.h5", abs, (unsigned long long)seq,
	                          (unsigned long long)r->pub.step);
	free(abs);
	if (n < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}

	sa_value *requested = calloc(r->sa->n_knobs + 1, sizeof *requested);
	checkpoint_info info;
	run_identity id;
	uint64_t bytes = 0;
	int rc = -1;
	if (!requested) {
		snprintf(err, errlen, "out of memory");
	} else {
		fill_info(r, &info, requested, &id);
		info.history = r->history; /* files keep the past; in-memory states do not */
		/* MPI with N > 1: one file written by every rank (checkpoint_mpi.h). */
		rc = r->write_file ? r->write_file(r->write_file_ctx, path, &info, &bytes, err, errlen)
		                   : checkpoint_write(path, r->sa, r->sim, &info, &bytes, err, errlen);
	}
	free(requested);
	if (rc < 0) {
		log_error("checkpoint at step %llu failed: %s; the run goes on",
		          (unsigned long long)r->pub.step, err);
		run_event(r, "checkpoint_failed", json_pack("{s:s, s:s}", "path", path, "message", err));
		free(path);
		return -1;
	}
	log_info("checkpoint %s written (step %llu, write_seq %llu, %llu bytes)", path,
	         (unsigned long long)r->pub.step, (unsigned long long)seq, (unsigned long long)bytes);
	json_t *desc = json_pack("{s:s, s:I, s:I, s:I}", "path", path, "step", (json_int_t)r->pub.step,
	                         "bytes", (json_int_t)bytes, "write_seq", (json_int_t)seq);
	run_event(r, "checkpoint_written", json_incref(desc));
	if (result)
		*result = desc;
	else
		json_decref(desc);
	/* A name written again replaced its file: it is only the newest now. */
	forget(r->ckpt_files, &r->n_ckpt_files, path);
	forget(r->named_files, &r->n_named_files, path);
	if (name)
		rotate(&r->named_files, &r->n_named_files, r->cfg->checkpoint_keep_named, path);
	else
		rotate(&r->ckpt_files, &r->n_ckpt_files, r->cfg->checkpoint_keep, path);
	return 0;
}

void run_checkpoint_policy(run *r)
{
	const config *cfg = r->cfg;
	if (!cfg->checkpoint_dir)
		return;
	bool due = cfg->checkpoint_every_steps && r->pub.step % cfg->checkpoint_every_steps == 0;
	if (cfg->checkpoint_every_seconds) {
		double now = clock_seconds();
		if (r->next_ckpt_time == 0)
			r->next_ckpt_time = now + cfg->checkpoint_every_seconds;
		if (now >= r->next_ckpt_time && !r->quiet) { /* quiet: due at the next boundary */
			due = true;
			r->next_ckpt_time = now + cfg->checkpoint_every_seconds;
		}
	}
	char err[1024];
	if (due)
		run_checkpoint(r, NULL, NULL, err, sizeof err);
}

static run_state_image *find_state(run *r, const char *name)
{
	for (size_t i = 0; i < r->n_states; i++)
		if (strcmp(r->states[i].name, name) == 0)
			return &r->states[i];
	return NULL;
}

static void (*image_made)(void *ctx, const void *image);
static void (*image_freed)(void *ctx, const void *image);
static void *image_ctx;

void run_image_hooks(void (*made)(void *ctx, const void *image),
                     void (*freed)(void *ctx, const void *image), void *ctx)
{
	image_made = made;
	image_freed = freed;
	image_ctx = ctx;
}

void run_image_free(void *image)
{
	if (image && image_freed)
		image_freed(image_ctx, image);
	free(image);
}

int run_image(run *r, void **image, size_t *len, char *err, size_t errlen)
{
	if (!r->sa->save) {
		snprintf(err, errlen, "%s provides no save/restore: its state cannot be kept", r->sa->name);
		return -1;
	}
	sa_value *requested = calloc(r->sa->n_knobs + 1, sizeof *requested);
	if (!requested) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	checkpoint_info info;
	run_identity id;
	fill_info(r, &info, requested, &id);
	int rc = checkpoint_to_image(r->sa, r->sim, &info, image, len, err, errlen);
	free(requested);
	if (rc == 0 && image_made)
		image_made(image_ctx, *image);
	return rc;
}

/*
 * Restore into the live instance (r->in_place): keep a copy of its state
 * first, and put it back if the restore fails, so that a failed restore
 * leaves the run as it was. If even that fails the state is lost: the run
 * pauses and says so (the code's own state is beyond steerd's reach).
 */
static int restore_in_place(run *r, const void *image, size_t len, char *err, size_t errlen)
{
	void *backup = NULL;
	size_t blen = 0;
	if (run_image(r, &backup, &blen, err, errlen) < 0)
		return -1;
	checkpoint_loaded l;
	int rc = checkpoint_from_image_into(image, len, r->sa, r->sim, &l, err, errlen);
	if (rc == 0 && (rc = run_adopt(r, &l, true, err, errlen)) < 0)
		checkpoint_loaded_free(r->sa, &l);
	if (rc < 0) {
		char why[512];
		checkpoint_loaded back;
		if (checkpoint_from_image_into(backup, blen, r->sa, r->sim, &back, why, sizeof why) == 0)
			checkpoint_loaded_free(r->sa, &back);
		else
			run_step_failed(r, "the simulation's state could not be put back after a failed "
			                   "restore; do not trust it");
	}
	run_image_free(backup);
	return rc;
}

int run_restore_image(run *r, const void *image, size_t len, char *err, size_t errlen)
{
	if (r->in_place) {
		if (restore_in_place(r, image, len, err, errlen) < 0)
			return -1;
		run_refresh(r);
		return 0;
	}
	checkpoint_loaded l;
	if (checkpoint_from_image(image, len, r->sa, &l, err, errlen) < 0)
		return -1;
	if (run_adopt(r, &l, true, err, errlen) < 0) {
		checkpoint_loaded_free(r->sa, &l);
		return -1;
	}
	run_refresh(r);
	return 0;
}

int run_save_state(run *r, const char *name, const char *client, json_t **result, char *err,
                   size_t errlen)
{
	run_state_image *slot = find_state(r, name);
	if (!slot && r->n_states == RUN_MAX_STATES) {
		snprintf(err, errlen, "already %d states kept: reuse a name or drop-state one",
		         RUN_MAX_STATES);
		return -3;
	}
	void *image = NULL;
	size_t len = 0;
	if (run_image(r, &image, &len, err, errlen) < 0)
		return -1;
	if (!slot)
		slot = &r->states[r->n_states++];
	run_image_free(slot->image);
	snprintf(slot->name, sizeof slot->name, "%s", name);
	slot->image = image;
	slot->len = len;
	slot->step = r->pub.step;
	*result = json_pack("{s:s, s:I, s:I}", "name", name, "step", (json_int_t)r->pub.step, "bytes",
	                    (json_int_t)len);
	run_event(r, "state_saved", json_pack("{s:s, s:s}", "name", name, "client", client));
	return 0;
}

int run_drop_state(run *r, const char *name, const char *client, json_t **result, char *err,
                   size_t errlen)
{
	run_state_image *slot = find_state(r, name);
	if (!slot) {
		snprintf(err, errlen, "no state called '%s'", name);
		return -2;
	}
	uint64_t step = slot->step;
	run_image_free(slot->image);
	/* Keep the others in the order they were saved. */
	size_t i = (size_t)(slot - r->states);
	memmove(&r->states[i], &r->states[i + 1], (r->n_states - i - 1) * sizeof *slot);
	r->n_states--;
	memset(&r->states[r->n_states], 0, sizeof *slot);
	*result = json_pack("{s:s, s:I, s:I}", "name", name, "step", (json_int_t)step, "kept",
	                    (json_int_t)r->n_states);
	run_event(r, "state_dropped", json_pack("{s:s, s:s}", "name", name, "client", client));
	return 0;
}

int run_rewind(run *r, const char *name, const char *client, json_t **result, char *err,
               size_t errlen)
{
	run_state_image *slot = find_state(r, name);
	if (!slot) {
		snprintf(err, errlen, "no state called '%s' (snapshot-state first)", name);
		return -2;
	}
	uint64_t from = r->pub.step;
	if (run_restore_image(r, slot->image, slot->len, err, errlen) < 0)
		return -1;
	run_journal_add(r, json_pack("{s:I, s:s, s:s, s:I}", "step", (json_int_t)from,
	                                            "client", client, "rewind", name, "to_step",
	                                            (json_int_t)r->pub.step));
	run_event(r, "rewound", json_pack("{s:s, s:I, s:I, s:s}", "name", name, "from_step",
	                                  (json_int_t)from, "to_step", (json_int_t)r->pub.step,
	                                  "client", client));
	*result = json_pack("{s:s, s:I, s:I}", "name", name, "from_step", (json_int_t)from, "step",
	                    (json_int_t)r->pub.step);
	return 0;
}

int run_adopt(run *r, checkpoint_loaded *l, bool keep_journal, char *err, size_t errlen)
{
	const sa_adapter *sa = r->sa;
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (!sa->knobs[k].runtime && (r->owns_sim || r->cfg->knob_given[k]) &&
		    !adapter_value_equal(&sa->knobs[k], l->knobs[k], r->cfg->knobs[k])) {
			snprintf(err, errlen, "fixed knob %s differs between the checkpoint and the config",
			         sa->knobs[k].name);
			return -1;
		}
	if (l->n_ramps > sa->n_knobs || l->schedule_pos > r->cfg->n_schedule) {
		snprintf(err, errlen, "checkpoint has more ramps than knobs or a schedule position past the end");
		return -1;
	}
	if (!l->in_place) { /* a new instance replaces the old one */
		sa->destroy(r->sim);
		r->sim = l->sim;
	}
	l->sim = NULL;
	for (size_t k = 0; k < sa->n_knobs; k++)
		r->pub.knobs[k] = sa->get(r->sim, k);
	memcpy(r->pub.ramps, l->ramps, l->n_ramps * sizeof *l->ramps);
	r->pub.n_ramps = l->n_ramps;
	r->pub.step = sa->step_count(r->sim);
	r->pub.time = sa->time(r->sim);
	r->pub.steps_left = 0;
	r->next_ramp_id = l->next_ramp_id;
	r->sched_pos = l->schedule_pos;
	if (l->write_seq > r->ckpt_seq) /* the sequence never goes back */
		r->ckpt_seq = l->write_seq;
	if (!keep_journal && journal_load(&r->journal, l->journal) < 0)
		log_error("out of memory: the checkpoint's journal is lost");
	if (!keep_journal) /* a restart: the checkpoint's past (if it has one) goes on */
		history_adopt(r->history, &l->history);
	checkpoint_loaded_free(sa, l);
	return 0;
}

void run_checkpoint_free(run *r)
{
	for (size_t i = 0; i < r->n_states; i++)
		run_image_free(r->states[i].image);
	r->n_states = 0;
	for (size_t i = 0; i < r->n_ckpt_files; i++)
		free(r->ckpt_files[i]);
	free(r->ckpt_files);
	r->ckpt_files = NULL;
	r->n_ckpt_files = 0;
	for (size_t i = 0; i < r->n_named_files; i++)
		free(r->named_files[i]);
	free(r->named_files);
	r->named_files = NULL;
	r->n_named_files = 0;
}
