/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run_checkpoint.c — checkpoints, in-memory states and restart for the run (see run.h). */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "value_json.h"

/* The host's state as the checkpoint module wants it; requested = ramp targets. */
static void fill_info(run *r, checkpoint_info *info, sa_value *requested)
{
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
		.config_text = r->cfg->text, .journal_text = r->journal.text ? r->journal.text : "",
	};
}

static const char *checkpoint_dir(const run *r)
{
	return r->cfg->checkpoint_dir ? r->cfg->checkpoint_dir : ".";
}

/* Forget the oldest rotated checkpoints beyond checkpoint.keep. */
static void rotate(run *r, char *path)
{
	char **grown = realloc(r->ckpt_files, (r->n_ckpt_files + 1) * sizeof *grown);
	if (!grown) {
		free(path);
		return;
	}
	r->ckpt_files = grown;
	r->ckpt_files[r->n_ckpt_files++] = path;
	unsigned keep = r->cfg->checkpoint_keep ? r->cfg->checkpoint_keep : 1;
	while (r->n_ckpt_files > keep) {
		if (unlink(r->ckpt_files[0]) != 0 && errno != ENOENT)
			log_warn("cannot remove old checkpoint %s: %s", r->ckpt_files[0], strerror(errno));
		free(r->ckpt_files[0]);
		memmove(r->ckpt_files, r->ckpt_files + 1, --r->n_ckpt_files * sizeof *r->ckpt_files);
	}
}

int run_checkpoint(run *r, const char *name, json_t **result, char *err, size_t errlen)
{
	const char *dir = checkpoint_dir(r);
	char *path = NULL;
	int n = name ? asprintf(&path, "%s/%s", dir, name)
	             : asprintf(&path, "%s/ckpt_%09llu.h5", dir, (unsigned long long)r->pub.step);
	if (n < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (r->cfg->checkpoint_dir) {
		if (mkdir(dir, 0755) == 0) {
			if (r->ckpt_dir_made) { /* it was there before: someone removed it */
				log_warn("checkpoint directory %s had disappeared; created it again", dir);
				run_event(r, "checkpoint_directory_recreated", json_pack("{s:s}", "path", dir));
			}
		} else if (errno != EEXIST) {
			log_warn("cannot create checkpoint directory %s: %s", dir, strerror(errno));
		}
		r->ckpt_dir_made = true;
	}

	sa_value *requested = calloc(r->sa->n_knobs + 1, sizeof *requested);
	checkpoint_info info;
	uint64_t bytes = 0;
	int rc = -1;
	if (!requested) {
		snprintf(err, errlen, "out of memory");
	} else {
		fill_info(r, &info, requested);
		rc = checkpoint_write(path, r->sa, r->sim, &info, &bytes, err, errlen);
	}
	free(requested);
	if (rc < 0) {
		log_error("checkpoint at step %llu failed: %s; the run goes on",
		          (unsigned long long)r->pub.step, err);
		run_event(r, "checkpoint_failed", json_pack("{s:s, s:s}", "path", path, "message", err));
		free(path);
		return -1;
	}
	log_info("checkpoint %s written (step %llu, %llu bytes)", path,
	         (unsigned long long)r->pub.step, (unsigned long long)bytes);
	json_t *desc = json_pack("{s:s, s:I, s:I}", "path", path, "step", (json_int_t)r->pub.step,
	                         "bytes", (json_int_t)bytes);
	run_event(r, "checkpoint_written", json_incref(desc));
	if (result)
		*result = desc;
	else
		json_decref(desc);
	if (name)
		free(path); /* named checkpoints are the client's to keep */
	else
		rotate(r, path);
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
		if (now >= r->next_ckpt_time) {
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

int run_image(run *r, void **image, size_t *len, char *err, size_t errlen)
{
	sa_value *requested = calloc(r->sa->n_knobs + 1, sizeof *requested);
	if (!requested) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	checkpoint_info info;
	fill_info(r, &info, requested);
	int rc = checkpoint_to_image(r->sa, r->sim, &info, image, len, err, errlen);
	free(requested);
	return rc;
}

int run_restore_image(run *r, const void *image, size_t len, char *err, size_t errlen)
{
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
	free(slot->image);
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
	free(slot->image);
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
		if (!sa->knobs[k].runtime && !adapter_value_equal(&sa->knobs[k], l->knobs[k], r->cfg->knobs[k])) {
			snprintf(err, errlen, "fixed knob %s differs between the checkpoint and the config",
			         sa->knobs[k].name);
			return -1;
		}
	if (l->n_ramps > sa->n_knobs || l->schedule_pos > r->cfg->n_schedule) {
		snprintf(err, errlen, "checkpoint has more ramps than knobs or a schedule position past the end");
		return -1;
	}
	sa->destroy(r->sim);
	r->sim = l->sim;
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
	if (!keep_journal && journal_load(&r->journal, l->journal) < 0)
		log_error("out of memory: the checkpoint's journal is lost");
	checkpoint_loaded_free(sa, l);
	return 0;
}

void run_checkpoint_free(run *r)
{
	for (size_t i = 0; i < r->n_states; i++)
		free(r->states[i].image);
	r->n_states = 0;
	for (size_t i = 0; i < r->n_ckpt_files; i++)
		free(r->ckpt_files[i]);
	free(r->ckpt_files);
	r->ckpt_files = NULL;
	r->n_ckpt_files = 0;
}
