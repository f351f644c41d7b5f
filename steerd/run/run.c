/* SPDX-License-Identifier: MIT */
/* run.c — the simulation thread: stepping, boundaries, changes, publishing. */
#include "run_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "own_scalars.h"
#include "value_json.h"

#define PAUSED_POLL_MS 100 /* how often a paused run looks at the signal flag */
#define SIGNAL_CHECK_S 0.01 /* a flat-out run looks at the SIGHUP flag this often */
#define RATE_WINDOW_S 0.5   /* steps_per_second is measured over 0.5 to 1 s */
#define RATE_UPDATE_S 0.05  /* and recomputed this often */
#define PACE_SLACK_S 0.1    /* a paced run this far behind its pace starts afresh (no burst) */

/* An indicator as published, and a change of its raw value waiting out the dwell. */
struct run_indicator {
	bool on;          /* as last published (false at start) */
	uint64_t held;    /* consecutive boundaries the raw value has differed from `on` */
	uint64_t since;   /* the first of them */
};

run *run_new(const config *cfg, stream *st, mirror *m, void *pipe, void *sim, bool owns_sim,
             char *err, size_t errlen)
{
	const sa_adapter *sa = cfg->adapter->sa;
	run *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->cfg = cfg;
	r->sa = sa;
	r->stream = st;
	r->mirror = m;
	r->pipe = pipe;
	r->next_ramp_id = 1;
	r->scalar_diag = calloc(sa->n_diags + 1, sizeof *r->scalar_diag);
	r->indicator_slot = calloc(cfg->n_indicators + 1, sizeof *r->indicator_slot);
	r->indicators = calloc(cfg->n_indicators + 1, sizeof *r->indicators);
	if (!r->scalar_diag || !r->indicator_slot || !r->indicators ||
	    mirror_state_init(m, &r->pub) < 0) {
		snprintf(err, errlen, "out of memory");
		run_destroy(&r);
		return NULL;
	}
	size_t n = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 0)
			r->scalar_diag[n++] = d;
	for (size_t i = 0; i < cfg->n_indicators; i++) {
		int slot = mirror_scalar_slot(sa, cfg->indicators[i]);
		if (slot < 0) {
			snprintf(err, errlen, "indicator '%s' is not a scalar diagnostic", cfg->indicators[i]);
			run_destroy(&r);
			return NULL;
		}
		r->indicator_slot[i] = (size_t)slot;
	}
	r->owns_sim = owns_sim || !sim;
	r->in_place = !r->owns_sim || (sa->flags & SA_SINGLE_INSTANCE);
	r->sim = sim ? sim : sa->create(cfg->knobs, log_adapter_host(), err, errlen);
	if (r->sim && run_history_init(r, err, errlen) < 0) {
		if (sim)
			r->sim = NULL; /* the caller's: not destroyed here */
		run_destroy(&r);
		return NULL;
	}
	if (!r->sim) {
		run_destroy(&r);
		return NULL;
	}
	if (cfg->checkpoint_dir && !sa->save)
		log_warn("%s provides no save/restore: no checkpoint will be written (checkpoint.directory "
		         "is set)", sa->name);
	for (size_t k = 0; k < sa->n_knobs; k++)
		r->pub.knobs[k] = sa->get(r->sim, k);
	r->pub.state = cfg->start_paused ? RUN_PAUSED : RUN_RUNNING;
	r->pub.step = sa->step_count(r->sim);
	r->pub.time = sa->time(r->sim);
	return r;
}

int run_apply_config_knobs(run *r, char *err, size_t errlen)
{
	const sa_adapter *sa = r->sa;
	for (size_t k = 0; k < sa->n_knobs; k++) {
		if (!r->cfg->knob_given[k] ||
		    adapter_value_equal(&sa->knobs[k], r->cfg->knobs[k], sa->get(r->sim, k)))
			continue;
		char why[256] = "";
		if (sa->set(r->sim, k, r->cfg->knobs[k], why, sizeof why) < 0) {
			snprintf(err, errlen, "the code refuses knob %s from the config: %s",
			         sa->knobs[k].name, why);
			return -1;
		}
		r->pub.knobs[k] = sa->get(r->sim, k);
	}
	return 0;
}

void run_destroy(run **rp)
{
	if (!rp || !*rp)
		return;
	run *r = *rp;
	/* The search holds states of the simulation and may restore one: end it first. */
	run_driver_abort(r, E_SHUTTING_DOWN, "the run is shutting down");
	run_set_driver(r, NULL, NULL);
	if (r->sim && r->owns_sim)
		r->sa->destroy(r->sim);
	r->sim = NULL;
	run_checkpoint_free(r);
	run_history_free(r);
	mirror_state_free(&r->pub);
	free(r->scalar_diag);
	free(r->indicator_slot);
	free(r->indicators);
	journal_free(&r->journal);
	free(r);
	*rp = NULL;
}

void run_event(run *r, const char *name, json_t *fields)
{
	stream_publish_event(r->stream, name, r->pub.step, r->pub.time, fields);
}

void run_journal_add(run *r, json_t *entry)
{
	run_history_marker(r, entry);
	if (journal_add(&r->journal, entry) < 0)
		log_error("out of memory: a journal entry is lost");
}

static void journal_change(run *r, const char *client, size_t k, sa_value old, sa_value new_value)
{
	const sa_knob *kn = &r->sa->knobs[k];
	run_journal_add(r, json_pack("{s:I, s:s, s:s, s:o, s:o}", "step", (json_int_t)r->pub.step,
	                                "client", client, "knob", kn->name, "old",
	                                value_to_json(kn, old), "new", value_to_json(kn, new_value)));
}

/* Set one knob through the adapter; on success record it and announce it. */
static int set_knob(run *r, size_t k, sa_value v, const char *client, bool announce, char *err,
                    size_t errlen)
{
	sa_value old = r->pub.knobs[k];
	if (r->sa->set(r->sim, k, v, err, errlen) < 0)
		return -1;
	r->pub.knobs[k] = r->sa->get(r->sim, k);
	if (announce) {
		const sa_knob *kn = &r->sa->knobs[k];
		journal_change(r, client, k, old, r->pub.knobs[k]);
		run_event(r, "knob_changed",
		          json_pack("{s:s, s:o, s:o, s:s}", "knob", kn->name, "old", value_to_json(kn, old),
		                    "new", value_to_json(kn, r->pub.knobs[k]), "client", client));
	}
	return 0;
}

static ramp *find_ramp(run *r, size_t knob)
{
	for (size_t i = 0; i < r->pub.n_ramps; i++)
		if (r->pub.ramps[i].knob == knob)
			return &r->pub.ramps[i];
	return NULL;
}

static void remove_ramp(run *r, ramp *rp, const char *event, const char *client)
{
	const sa_knob *kn = &r->sa->knobs[rp->knob];
	run_event(r, event,
	          json_pack("{s:I, s:s, s:o, s:s}", "id", (json_int_t)rp->id, "knob", kn->name, "value",
	                    value_to_json(kn, r->pub.knobs[rp->knob]), "client", client));
	*rp = r->pub.ramps[--r->pub.n_ramps];
}

/* "injected_current 1000 -> 1200 A, set by console-17979 at step 5" (rare: a set, not a ramp step). */
static void log_knob_change(const run *r, const sa_knob *kn, sa_value from, sa_value to,
                            const char *client)
{
	json_t *a = value_to_json(kn, from), *b = value_to_json(kn, to);
	char *as = json_dumps(a, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
	char *bs = json_dumps(b, JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
	log_info("%s %s -> %s%s%s, set by %s at step %llu", kn->name, as ? as : "?", bs ? bs : "?",
	         kn->unit && kn->unit[0] ? " " : "", kn->unit ? kn->unit : "", client,
	         (unsigned long long)r->pub.step);
	free(as);
	free(bs);
	json_decref(a);
	json_decref(b);
}

void run_set_knobs(run *r, change *ch)
{
	if (run_busy(r, ch))
		return;
	sa_value *old = calloc(ch->n_items + 1, sizeof *old);
	if (!old) {
		change_fail(ch, E_INTERNAL, "out of memory");
		return;
	}
	/* All or none: apply in order, and undo the applied ones if the adapter refuses one. */
	size_t done = 0;
	for (; done < ch->n_items; done++) {
		const knob_change *it = &ch->items[done];
		old[done] = r->pub.knobs[it->knob];
		if (r->sa->set(r->sim, it->knob, it->value, ch->err_msg, sizeof ch->err_msg) < 0) {
			ch->err_code = E_REFUSED;
			break;
		}
	}
	if (done < ch->n_items) {
		char ignored[256];
		while (done-- > 0)
			r->sa->set(r->sim, ch->items[done].knob, old[done], ignored, sizeof ignored);
		free(old);
		return;
	}
	json_t *applied = json_object();
	for (size_t i = 0; i < ch->n_items; i++) {
		size_t k = ch->items[i].knob;
		const sa_knob *kn = &r->sa->knobs[k];
		ramp *rp = find_ramp(r, k);
		if (rp)
			remove_ramp(r, rp, "ramp_cancelled", ch->req.client);
		r->pub.knobs[k] = r->sa->get(r->sim, k);
		journal_change(r, ch->req.client, k, old[i], r->pub.knobs[k]);
		run_event(r, "knob_changed",
		          json_pack("{s:s, s:o, s:o, s:s}", "knob", kn->name, "old", value_to_json(kn, old[i]),
		                    "new", value_to_json(kn, r->pub.knobs[k]), "client", ch->req.client));
		json_object_set_new(applied, kn->name, value_to_json(kn, r->pub.knobs[k]));
		log_knob_change(r, kn, old[i], r->pub.knobs[k], ch->req.client);
	}
	free(old);
	ch->result = json_pack("{s:I, s:o}", "step", (json_int_t)r->pub.step, "applied", applied);
}

double run_scalar_now(const run *r, const char *name)
{
	int slot = mirror_scalar_slot(r->sa, name);
	double x = NAN;
	if (slot < 0 || r->sa->diag_read(r->sim, r->scalar_diag[slot], &x, 1) != 1)
		return NAN;
	return x;
}

double run_seconds_per_step(const run *r)
{
	double dt = run_scalar_now(r, "dt");
	if (isfinite(dt) && dt > 0)
		return dt;
	double per_step = r->pub.step ? r->pub.time / (double)r->pub.step : 0;
	return isfinite(per_step) && per_step > 0 ? per_step : 0;
}

int run_seconds_to_steps(double seconds, double per_step, uint64_t max, const char *what,
                         uint64_t *out, char *err, size_t errlen)
{
	double n = ceil(seconds / per_step - 1e-9);
	if (!(n <= (double)max)) {
		snprintf(err, errlen, "%s of %g s is %g steps of %g s, more than the %llu allowed", what,
		         seconds, n, per_step, (unsigned long long)max);
		return -1;
	}
	*out = n < 1 ? 1 : (uint64_t)n;
	return 0;
}

void run_start_ramps(run *r, change *ch)
{
	if (ch->cmd && run_busy(r, ch)) /* scheduled ramps have no command */
		return;
	/* Durations become steps first: one that does not fit starts no ramp. */
	double per_step = run_seconds_per_step(r);
	for (size_t i = 0; i < ch->n_items; i++) {
		knob_change *it = &ch->items[i];
		const char *name = r->sa->knobs[it->knob].name;
		char err[200];
		if (!(it->duration > 0))
			continue;
		if (!(per_step > 0)) {
			change_fail(ch, E_BAD_ARGUMENT, "ramp of %s: a duration needs the time per step: the "
			            "adapter states no dt; run a step first, or give steps", name);
			return;
		}
		if (run_seconds_to_steps(it->duration, per_step, RAMP_MAX_STEPS, "duration", &it->steps,
		                         err, sizeof err) < 0) {
			change_fail(ch, E_BAD_ARGUMENT, "ramp of %s: %s", name, err);
			return;
		}
	}
	json_t *started = json_array();
	for (size_t i = 0; i < ch->n_items; i++) {
		const knob_change *it = &ch->items[i];
		const sa_knob *kn = &r->sa->knobs[it->knob];
		ramp *rp = find_ramp(r, it->knob);
		if (rp)
			remove_ramp(r, rp, "ramp_cancelled", ch->req.client);
		ramp nr = { .id = r->next_ramp_id++, .knob = it->knob,
		            .from = adapter_value_as_double(kn, r->pub.knobs[it->knob]),
		            .to = adapter_value_as_double(kn, it->value), .start_step = r->pub.step };
		nr.steps = it->steps ? it->steps : ramp_steps_for_rate(nr.from, nr.to, it->rate);
		snprintf(nr.client, sizeof nr.client, "%s", ch->req.client);
		r->pub.ramps[r->pub.n_ramps++] = nr;
		json_t *desc = ramp_to_json(&nr, kn, r->pub.step);
		json_array_append(started, desc);
		run_journal_add(r, json_pack("{s:I, s:s, s:s, s:O}", "step",
		                                            (json_int_t)r->pub.step, "client", ch->req.client,
		                                            "ramp", kn->name, "detail", desc));
		run_event(r, "ramp_started", desc);
	}
	ch->result = json_pack("{s:I, s:o}", "step", (json_int_t)r->pub.step, "ramps", started);
}

void run_cancel_ramps(run *r, change *ch)
{
	if (strcmp(ch->name, "search") == 0) {
		char why[160];
		snprintf(why, sizeof why, "cancelled by %s", ch->req.client);
		if (!run_driver_abort(r, E_REFUSED, why))
			change_fail(ch, E_UNKNOWN_NAME, "no search under way");
		else
			ch->result = json_pack("{s:I, s:s}", "step", (json_int_t)r->pub.step, "cancelled", "search");
		return;
	}
	if (strcmp(ch->name, "steps") == 0) {
		uint64_t dropped = r->pub.steps_left;
		if (!dropped) {
			change_fail(ch, E_UNKNOWN_NAME, "no steps queued");
			return;
		}
		r->pub.steps_left = 0;
		run_event(r, "steps_cancelled", json_pack("{s:I, s:s}", "steps", (json_int_t)dropped,
		                                          "client", ch->req.client));
		ch->result = json_pack("{s:I, s:s, s:I}", "step", (json_int_t)r->pub.step, "cancelled",
		                       "steps", "steps", (json_int_t)dropped);
		return;
	}
	json_t *cancelled = json_array();
	for (size_t i = r->pub.n_ramps; i-- > 0;) {
		ramp *rp = &r->pub.ramps[i];
		if ((ch->count && rp->id != ch->count) || (ch->n_items && rp->knob != ch->items[0].knob))
			continue;
		json_array_append_new(cancelled, json_integer((json_int_t)rp->id));
		remove_ramp(r, rp, "ramp_cancelled", ch->req.client);
	}
	if ((ch->count || ch->n_items) && json_array_size(cancelled) == 0) {
		json_decref(cancelled);
		change_fail(ch, E_UNKNOWN_NAME, "no such active ramp");
		return;
	}
	ch->result = json_pack("{s:I, s:o}", "step", (json_int_t)r->pub.step, "cancelled", cancelled);
}

void run_set_state(run *r, run_state state, const char *client)
{
	/* Pausing a paused run still drops the steps a `step` command queued. */
	bool queued = state == RUN_PAUSED && r->pub.steps_left > 0;
	if ((r->pub.state == state && !queued) || r->pub.state == RUN_STOPPING)
		return;
	r->pub.state = state;
	r->pub.steps_left = 0;
	run_event(r, state == RUN_PAUSED ? "paused" : "resumed", json_pack("{s:s}", "client", client));
}

void run_request_steps(run *r, uint64_t n, const char *client)
{
	r->pub.steps_left += n;
	run_event(r, "stepping", json_pack("{s:I, s:I, s:s}", "steps", (json_int_t)n, "until",
	                                   (json_int_t)(r->pub.step + r->pub.steps_left), "client", client));
}

void run_stop(run *r, const char *reason)
{
	if (r->pub.state == RUN_STOPPING)
		return;
	snprintf(r->stop_reason, sizeof r->stop_reason, "%s", reason);
	r->pub.state = RUN_STOPPING;
}

/* Ramps and schedule entries due at the current boundary. */
static void boundary_changes(run *r)
{
	char err[256];
	for (size_t i = r->pub.n_ramps; i-- > 0;) {
		ramp *rp = &r->pub.ramps[i];
		const sa_knob *kn = &r->sa->knobs[rp->knob];
		sa_value v = ramp_value_at(rp, kn, r->pub.step);
		if (!adapter_value_equal(kn, v, r->pub.knobs[rp->knob]) &&
		    set_knob(r, rp->knob, v, rp->client, false, err, sizeof err) < 0) {
			log_warn("ramp %llu of %s stopped: %s", (unsigned long long)rp->id, kn->name, err);
			remove_ramp(r, rp, "ramp_failed", rp->client);
		} else if (ramp_done_at(rp, r->pub.step)) {
			remove_ramp(r, rp, "ramp_finished", rp->client);
		}
	}
	const config *cfg = r->cfg;
	while (r->sched_pos < cfg->n_schedule && cfg->schedule[r->sched_pos].at <= r->pub.step) {
		const sched_entry *e = &cfg->schedule[r->sched_pos++];
		if (e->at < r->pub.step)
			continue; /* already past (a restarted run) */
		if (e->kind == SCHED_SET) {
			if (set_knob(r, e->knob, e->value, "schedule", true, err, sizeof err) < 0) {
				log_warn("scheduled set of %s at step %llu refused: %s", r->sa->knobs[e->knob].name,
				         (unsigned long long)e->at, err);
				run_event(r, "schedule_failed", json_pack("{s:s, s:s}", "knob",
				                                          r->sa->knobs[e->knob].name, "message", err));
			}
		} else {
			change ch = { .n_items = 1 };
			knob_change item = { .knob = e->knob, .value = e->value, .steps = e->steps, .rate = e->rate };
			ch.items = &item;
			snprintf(ch.req.client, sizeof ch.req.client, "schedule");
			run_start_ramps(r, &ch);
			json_decref(ch.result);
		}
	}
}

static void read_scalars(run *r)
{
	size_t n = mirror_n_scalars(r->mirror) - OWN_N_SCALARS; /* the adapter's, then steerd's */
	r->pub.scalars[n + OWN_BOUNDARY_FRACTION] = r->boundary_fraction;
	/* ABI 2.1: all at once when the adapter can (one collective for an MPI code). */
	if (r->sa->read_scalars) {
		if (r->sa->read_scalars(r->sim, r->pub.scalars, n) < 0)
			for (size_t i = 0; i < n; i++)
				r->pub.scalars[i] = NAN;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (r->sa->diag_read(r->sim, r->scalar_diag[i], &r->pub.scalars[i], 1) != 1)
			r->pub.scalars[i] = NAN;
}

/*
 * Publish an indicator's change once its raw value has stayed changed for
 * diagnostics.indicator_dwell_steps boundaries in a row (at once when
 * `immediate`): a value flapping around its threshold gives one event per
 * lasting change, stamped when it is confirmed, with the boundary it began
 * at. Only the events wait: the scalars (and so a search's condition) are
 * the raw values.
 */
static void indicator_edges(run *r, bool immediate)
{
	for (size_t i = 0; i < r->cfg->n_indicators; i++) {
		struct run_indicator *ind = &r->indicators[i];
		double v = r->pub.scalars[r->indicator_slot[i]];
		bool on = v != 0.0 && !isnan(v);
		if (on == ind->on) {
			ind->held = 0;
			continue;
		}
		if (ind->held++ == 0)
			ind->since = r->pub.step;
		if (!immediate && ind->held < r->cfg->indicator_dwell_steps)
			continue;
		ind->on = on;
		ind->held = 0;
		run_event(r, "indicator", json_pack("{s:s, s:b, s:f, s:I}", "name", r->cfg->indicators[i],
		                                    "on", on, "value", v, "since_step",
		                                    (json_int_t)(immediate ? r->pub.step : ind->since)));
	}
}

/* Copy the state out for the control thread's reads. */
void run_publish_state(run *r)
{
	r->pub.stepping = r->pub.state == RUN_RUNNING || r->pub.steps_left > 0 || run_driven(r);
	r->pub.seq = stream_seq(r->stream);
	mirror_put(r->mirror, &r->pub);
}

void run_refresh(run *r)
{
	read_scalars(r);
	indicator_edges(r, true);
	run_publish_state(r);
}

static void publish_diagnostics(run *r)
{
	uint64_t s = r->pub.step;
	if (r->cfg->scalars_every && s % r->cfg->scalars_every == 0)
		stream_publish_scalars(r->stream, s, r->pub.time, r->pub.scalars);
	for (size_t d = 0; d < r->sa->n_diags; d++) {
		unsigned every = r->cfg->every[d];
		if (r->sa->diags[d].rank == 1 && every && s % every == 0)
			stream_publish_array(r->stream, r->sim, d, s, r->pub.time);
	}
}

/*
 * steps_per_second: steps actually computed (a search's included) per second
 * of wall time, over the last RATE_WINDOW_S to 2 * RATE_WINDOW_S. Counting
 * steps taken, not differences of the step count, which goes back on a
 * rewind or a search. Called at every turn of the loop, paused or not, so the
 * rate falls to 0 within 2 * RATE_WINDOW_S of pausing.
 */
static void update_rate(run *r, double now)
{
	if (r->rate_t0 == 0) { /* the loop's first turn */
		r->rate_t0 = r->rate_t1 = r->rate_last = now;
		r->rate_n0 = r->rate_n1 = r->steps_taken;
		return;
	}
	if (now - r->rate_last < RATE_UPDATE_S)
		return;
	r->rate_last = now;
	r->pub.steps_per_second = (double)(r->steps_taken - r->rate_n0) / (now - r->rate_t0);
	if (now - r->rate_t1 >= RATE_WINDOW_S) { /* slide: the window starts at the previous mark */
		r->rate_t0 = r->rate_t1;
		r->rate_n0 = r->rate_n1;
		r->rate_t1 = now;
		r->rate_n1 = r->steps_taken;
	}
}

/* Everything at a boundary, after the step that led to it. */
static void after_step(run *r)
{
	r->pub.step = r->sa->step_count(r->sim);
	r->pub.time = r->sa->time(r->sim);
	read_scalars(r);
	run_history_record(r);
	indicator_edges(r, false);
	publish_diagnostics(r);
	boundary_changes(r);
	if (r->driver)
		r->driver->boundary(r, r->driver_ctx);
	run_checkpoint_policy(r);
	if (r->cfg->max_steps && r->pub.step >= r->cfg->max_steps)
		run_stop(r, "max_steps");
}

/* Apply every change waiting on the pipe, answering each. */
static void serve_changes(run *r)
{
	for (;;) {
		change *ch;
		if (zmq_recv(r->pipe, &ch, sizeof ch, ZMQ_DONTWAIT) != (int)sizeof ch)
			return;
		if (r->pub.state == RUN_STOPPING)
			change_fail(ch, E_SHUTTING_DOWN, "the run is shutting down");
		else
			ch->apply(r, ch);
		run_publish_state(r);
		if (!ch->deferred)
			run_answer(r, ch);
	}
}

void run_answer(run *r, change *ch)
{
	ch->deferred = false;
	/* The pointer goes back on an inproc pipe of unbounded HWM: never lost. */
	zmq_send(r->pipe, &ch, sizeof ch, 0);
}

/*
 * run.max_steps_per_second: how long (ms) to wait before the next step so as
 * not to run ahead of the pace; 0 to step now. Steps are let through until
 * the run is 1 ms ahead (the poll's resolution), so the average rate is the
 * pace at any rate. A run behind its pace by PACE_SLACK_S (slow steps, or
 * after a pause) starts counting afresh instead of catching up in a burst;
 * so does a new pace from a reload (the old count would stall a slower one).
 */
static long pace_ms(run *r)
{
	unsigned pace = r->cfg->max_steps_per_second;
	if (!pace)
		return 0;
	double now = clock_seconds();
	double due = r->pace_t0 + (double)(r->steps_taken - r->pace_n0) / pace;
	if (r->pace_t0 == 0 || now - due > PACE_SLACK_S || pace != r->pace) {
		r->pace_t0 = now;
		r->pace_n0 = r->steps_taken;
		r->pace = pace;
		return 0;
	}
	return due - now >= 0.001 ? (long)((due - now) * 1000) : 0;
}

/* While not stepping: sleep until a change or the timeout. */
static void wait_for_input(run *r, long timeout_ms)
{
	zmq_pollitem_t item = { .socket = r->pipe, .events = ZMQ_POLLIN };
	if (zmq_poll(&item, 1, timeout_ms) < 0 && errno != EINTR)
		log_warn("poll: %s", zmq_strerror(errno));
}

/*
 * After a reload revoked keys, or found the key list unreadable: no ramp or
 * search a key started goes on unless that key is still admitted (by name,
 * as the ramp records it; scheduled ramps are the config's).
 */
static void cancel_unadmitted(run *r)
{
	zap *z = r->reload ? security_zap(r->reload->sec) : NULL;
	if (!z)
		return;
	for (size_t i = r->pub.n_ramps; i-- > 0;) {
		ramp *rp = &r->pub.ramps[i];
		if (strcmp(rp->client, "schedule") == 0 || zap_name_admitted(z, rp->client))
			continue;
		log_warn("ramp %llu of %s cancelled: key '%s' is not admitted now",
		         (unsigned long long)rp->id, r->sa->knobs[rp->knob].name, rp->client);
		remove_ramp(r, rp, "ramp_cancelled", "steerd");
	}
	const char *who = r->driver ? r->driver->client(r->driver_ctx) : NULL;
	if (who && !zap_name_admitted(z, who)) {
		char why[200];
		snprintf(why, sizeof why, "search cancelled: key '%s' is not admitted now (revoked, or "
		         "the key list cannot be read)", who);
		log_warn("%s", why);
		run_driver_abort(r, E_FORBIDDEN, why);
	}
}

void run_begin(run *r)
{
	read_scalars(r);
	boundary_changes(r);
	run_publish_state(r);
	log_info("run %s at step %llu", run_state_name(r->pub.state), (unsigned long long)r->pub.step);
}

/* What ends every pass through a boundary, stepped or not. */
static void end_of_pass(run *r)
{
	update_rate(r, clock_seconds());
	stream_heartbeat(r->stream, r->pub.step, r->pub.time, run_state_name(r->pub.state));
	run_publish_state(r);
}

bool run_boundary_quiet(run *r, volatile sig_atomic_t *signalled)
{
	const config *cfg = r->cfg;
	uint64_t step = r->sa->step_count(r->sim); /* the boundary after_step will see */
	bool quiet = r->pub.state == RUN_RUNNING && !r->pub.steps_left && !run_driven(r) &&
	             !r->pub.n_ramps && r->pending && !atomic_load(r->pending) &&
	             !(signalled && *signalled) && !reload_signal && !cfg->max_steps_per_second &&
	             !(cfg->max_steps && step >= cfg->max_steps) &&
	             !(r->sched_pos < cfg->n_schedule && cfg->schedule[r->sched_pos].at <= step);
	if (quiet && cfg->checkpoint_dir)
		quiet = !(cfg->checkpoint_every_steps && step % cfg->checkpoint_every_steps == 0) &&
		        !(cfg->checkpoint_every_seconds && r->next_ckpt_time != 0 &&
		          clock_seconds() >= r->next_ckpt_time);
	r->quiet = quiet;
	return quiet;
}

bool run_next(run *r, volatile sig_atomic_t *signalled)
{
	if (r->quiet) { /* run_boundary_quiet: nothing to look at before the next step */
		r->quiet = false;
		r->step_t0 = clock_seconds();
		return true;
	}
	for (;;) {
		if (r->pub.state == RUN_STOPPING)
			return false;
		bool stepping = r->pub.state == RUN_RUNNING || r->pub.steps_left > 0 || run_driven(r);
		/* Paced and ahead: wait as if paused (a change or a signal ends the wait). */
		long pace = stepping ? pace_ms(r) : 0;
		if (pace)
			stepping = false;
		if (!stepping) {
			long wait = stream_ms_to_heartbeat(r->stream);
			if (pace && pace < wait)
				wait = pace;
			wait_for_input(r, wait < PAUSED_POLL_MS ? (wait > 0 ? wait : 1) : PAUSED_POLL_MS);
			r->boundary_t0 = 0; /* a wait is not a boundary's cost */
		}
		/*
		 * Looking at an empty ZeroMQ socket costs system calls; while
		 * stepping flat out, look only when the control thread says a change
		 * was sent, and at the SIGHUP flag every 10 ms.
		 */
		if (!stepping || !r->pending || atomic_exchange(r->pending, 0))
			serve_changes(r);
		double now = clock_seconds();
		if (!stepping || now >= r->next_signal_check) {
			unsigned what = reload_poll(r->reload); /* SIGHUP: may rebind the stream */
			if (what & RELOAD_KEYS)
				cancel_unadmitted(r);
			if (what & RELOAD_CHECKPOINT_TIMER)
				r->next_ckpt_time = 0; /* counts from now */
			r->next_signal_check = now + SIGNAL_CHECK_S;
		}
		if (signalled && *signalled)
			run_stop(r, "signal");
		stepping = r->pub.state == RUN_RUNNING || r->pub.steps_left > 0 || run_driven(r);
		if (r->pub.state != RUN_STOPPING && stepping && !pace) {
			r->step_t0 = clock_seconds();
			return true;
		}
		end_of_pass(r);
	}
}

/* steerd_boundary_fraction: the last boundary's wall time against it plus the step's. */
static void time_step(run *r)
{
	double t1 = clock_seconds();
	r->boundary_fraction = own_boundary_fraction(r->boundary_t0 ? r->step_t0 - r->boundary_t0 : 0,
	                                             t1 - r->step_t0);
	r->boundary_t0 = t1;
}

void run_stepped(run *r)
{
	time_step(r);
	r->steps_taken++;
	if (r->pub.steps_left > 0)
		r->pub.steps_left--;
	after_step(r);
	end_of_pass(r);
}

void run_step_failed(run *r, const char *message)
{
	time_step(r);
	/* Never lose the run: stop stepping and say why; knobs can still be changed. */
	log_error("step %llu failed: %s; run paused", (unsigned long long)r->pub.step + 1, message);
	r->pub.state = RUN_PAUSED;
	r->pub.steps_left = 0;
	run_event(r, "step_failed", json_pack("{s:s}", "message", message));
	run_driver_abort(r, E_REFUSED, "the simulation failed to step");
	end_of_pass(r);
}

void run_end(run *r)
{
	if (r->pub.state != RUN_STOPPING)
		run_stop(r, "closed by the code");
	log_info("stopping at step %llu (%s)", (unsigned long long)r->pub.step, r->stop_reason);
	run_driver_abort(r, E_SHUTTING_DOWN, "the run is shutting down");
	char err[1024];
	if (r->cfg->checkpoint_dir && r->cfg->checkpoint_on_exit && r->sa->save)
		run_checkpoint(r, NULL, NULL, err, sizeof err);
	run_event(r, "shutting_down", json_pack("{s:s}", "reason", r->stop_reason));
	serve_changes(r); /* answer whatever arrived meanwhile */
	run_publish_state(r);
}

void run_loop(run *r, volatile sig_atomic_t *signalled)
{
	run_begin(r);
	while (run_next(r, signalled)) {
		char err[256];
		if (r->sa->step(r->sim, err, sizeof err) < 0)
			run_step_failed(r, err);
		else
			run_stepped(r);
	}
	run_end(r);
}
