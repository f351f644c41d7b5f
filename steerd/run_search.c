/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run_search.c — find the largest knob value for which a condition stays
 * false (e.g. the injected current below the space-charge limit), run by the
 * simulation thread at step granularity. See PROTOCOL.md, `search`.
 *
 * Each probe starts from the last state known to be good, never from the
 * state a failed probe left: a virtual cathode, once formed, persists well
 * below the limit, so walking the knob back down would misread it.
 */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum { PROBE_FROM, PROBE_TO, BISECT } search_phase;

struct run_search {
	change *ch;            /* the request, answered at the end */
	search_args a;
	search_phase phase;
	double good, bad;      /* bracket: last good value, first bad one */
	bool have_good, have_bad;
	void *good_image;      /* the last good state */
	size_t good_len;
	bool in_good;          /* the run is in that state now (a good probe just ended) */
	double value;          /* the probe under way */
	uint64_t probe_steps, total_steps;
	json_t *probes;
};

static double cond_current(const run *r, const search_args *a)
{
	if (a->cond_is_knob)
		return adapter_value_as_double(&r->sa->knobs[a->cond_index], r->pub.knobs[a->cond_index]);
	return r->pub.scalars[a->cond_index];
}

static bool cond_true(const run *r, const search_args *a)
{
	double v = cond_current(r, a), x = a->cond_value;
	switch (a->cond_op) {
	case SEARCH_NONZERO: return v != 0.0 && !isnan(v);
	case SEARCH_EQ: return v == x;
	case SEARCH_NE: return v != x;
	case SEARCH_LT: return v < x;
	case SEARCH_LE: return v <= x;
	case SEARCH_GT: return v > x;
	case SEARCH_GE: return v >= x;
	}
	return false;
}

static json_t *maybe(bool have, double v) { return have ? json_real(v) : json_null(); }

static void search_free(run_search **sp)
{
	run_search *s = *sp;
	free(s->good_image);
	json_decref(s->probes);
	free(s);
	*sp = NULL;
}

/* End the search: answer its request (ok with result, or an error). */
static void finish(run *r, const char *code, const char *message, bool converged)
{
	run_search *s = r->search;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
	change *ch = s->ch;
	char err[512];
	/* Back to the last good state, unless the run is already in it. */
	if (!s->in_good && run_restore_image(r, s->good_image, s->good_len, err, sizeof err) < 0)
		log_error("search: cannot return to the last good state: %s", err);
	if (code) {
		change_fail(ch, code, "%s", message);
		/* probes: their number, as when it succeeds (the reply has the list). */
		run_event(r, "search_finished", json_pack("{s:s, s:s, s:I, s:I}", "knob", kn->name, "error",
		                                         message, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes)));
	} else {
		ch->result = json_pack("{s:s, s:f, s:[o,o], s:b, s:I, s:I, s:s, s:O}", "knob", kn->name,
		                       "result", s->good, "bracket", json_real(s->good),
		                       maybe(s->have_bad, s->bad), "converged", converged, "steps",
		                       (json_int_t)s->total_steps, "step", (json_int_t)r->pub.step,
		                       "until", s->a.cond_text, "probes", s->probes);
		run_event(r, "search_finished", json_pack("{s:s, s:f, s:O, s:b, s:I, s:I}", "knob",
		                                         kn->name, "result", s->good, "bracket",
		                                         json_object_get(ch->result, "bracket"), "converged",
		                                         converged, "steps", (json_int_t)s->total_steps,
		                                         "probes", (json_int_t)json_array_size(s->probes)));
		log_info("search of %s done: %g (bracket [%g, %g]), %llu steps", kn->name, s->good, s->good,
		         s->have_bad ? s->bad : NAN, (unsigned long long)s->total_steps);
	}
	search_free(&r->search);
	r->pub.seq = stream_seq(r->stream);
	mirror_put(r->mirror, &r->pub);
	run_answer(r, ch);
}

/* Set the knob to v for a new probe, from the last good state. */
static int start_probe(run *r, double v, bool restore, char *err, size_t errlen)
{
	run_search *s = r->search;
	if (restore && run_restore_image(r, s->good_image, s->good_len, err, errlen) < 0)
		return -1;
	const sa_knob *kn = &r->sa->knobs[s->a.knob];
	sa_value val;
	if (kn->type == SA_DOUBLE)
		val.d = v;
	else
		val.i = (int64_t)llround(v);
	if (r->sa->set(r->sim, s->a.knob, val, err, errlen) < 0)
		return -1;
	r->pub.knobs[s->a.knob] = r->sa->get(r->sim, s->a.knob);
	s->in_good = false;
	s->value = v;
	s->probe_steps = 0;
	return 0;
}

static void record_probe(run *r, bool bad)
{
	run_search *s = r->search;
	json_array_append_new(s->probes, json_pack("{s:f, s:b, s:I}", "value", s->value, "bad", bad,
	                                           "steps", (json_int_t)s->probe_steps));
	run_event(r, "search_probe",
	          json_pack("{s:s, s:f, s:b, s:I, s:o, s:o, s:I, s:I}", "knob",
	                    r->sa->knobs[s->a.knob].name, "value", s->value, "bad", bad, "steps",
	                    (json_int_t)s->probe_steps, "good", maybe(s->have_good, s->good),
	                    "bad_value", maybe(s->have_bad, s->bad), "total_steps",
	                    (json_int_t)s->total_steps, "probes", (json_int_t)json_array_size(s->probes)));
}

/* After a probe ended: decide the next one, or finish. */
static void next_probe(run *r)
{
	run_search *s = r->search;
	char err[512];
	double next;
	if (s->phase == PROBE_FROM) {
		if (!s->have_good) {
			finish(r, E_REFUSED, "the condition is met already at 'from'", false);
			return;
		}
		s->phase = PROBE_TO;
		next = s->a.to;
	} else {
		if (s->phase == PROBE_TO && !s->have_bad) {
			finish(r, NULL, NULL, true); /* never met in the range: the result is 'to' */
			return;
		}
		s->phase = BISECT;
		if (s->bad - s->good <= s->a.tol * fabs(s->bad)) {
			finish(r, NULL, NULL, true);
			return;
		}
		next = 0.5 * (s->good + s->bad);
	}
	if (s->total_steps >= s->a.max_steps) {
		finish(r, NULL, NULL, false);
		return;
	}
	/* A good probe left the run in the good state: no need to go back. */
	if (start_probe(r, next, !s->in_good, err, sizeof err) < 0)
		finish(r, E_REFUSED, err, false);
}

void run_search_boundary(run *r)
{
	run_search *s = r->search;
	s->probe_steps++;
	s->total_steps++;
	bool bad = cond_true(r, &s->a);
	if (bad) {
		s->bad = s->value;
		s->have_bad = true;
	} else if (s->probe_steps >= s->a.hold) {
		char err[512];
		void *image = NULL;
		size_t len = 0;
		if (run_image(r, &image, &len, err, sizeof err) < 0) {
			finish(r, E_REFUSED, err, false);
			return;
		}
		free(s->good_image);
		s->good_image = image;
		s->good_len = len;
		s->good = s->value;
		s->have_good = true;
		s->in_good = true;
	} else {
		if (s->total_steps >= s->a.max_steps)
			finish(r, NULL, NULL, false);
		return; /* the probe goes on */
	}
	record_probe(r, bad);
	next_probe(r);
}

void run_search_start(run *r, change *ch)
{
	const search_args *a = ch->args;
	if (run_busy(r, ch))
		return;
	if (cond_true(r, a)) {
		change_fail(ch, E_REFUSED, "the condition '%s' holds already now; start from a clean state",
		            a->cond_text);
		return;
	}
	run_search *s = calloc(1, sizeof *s);
	if (!s || !(s->probes = json_array())) {
		free(s);
		change_fail(ch, E_INTERNAL, "out of memory");
		return;
	}
	s->a = *a;
	char why[200];
	if (!s->a.hold &&
	    run_steps_for_duration(r, s->a.hold_time, (uint64_t)1 << 40, &s->a.hold, why, sizeof why) < 0) {
		json_decref(s->probes);
		free(s);
		change_fail(ch, E_BAD_ARGUMENT, "hold_time (or give hold): %s", why);
		return;
	}
	char err[512];
	r->search = s;
	s->ch = ch;
	if (run_image(r, &s->good_image, &s->good_len, err, sizeof err) < 0 ||
	    start_probe(r, a->from, false, err, sizeof err) < 0) {
		s->ch = NULL;
		search_free(&r->search);
		change_fail(ch, E_REFUSED, "%s", err);
		return;
	}
	ch->deferred = true;
	const sa_knob *kn = &r->sa->knobs[a->knob];
	log_info("search of %s in [%g, %g] until %s by %s (hold %llu steps, tol %g)", kn->name, a->from,
	         a->to, a->cond_text, ch->req.client, (unsigned long long)s->a.hold, a->tol);
	run_event(r, "search_started", json_pack("{s:s, s:f, s:f, s:s, s:I, s:f, s:s}", "knob", kn->name,
	                                         "from", a->from, "to", a->to, "until", a->cond_text,
	                                         "hold", (json_int_t)s->a.hold, "tol", a->tol, "client",
	                                         ch->req.client));
}

int run_search_abort(run *r, const char *code, const char *message)
{
	if (!r->search)
		return 0;
	finish(r, code, message, false);
	return 1;
}

const char *run_search_client(const run *r)
{
	return r->search ? r->search->ch->req.client : NULL;
}

bool run_busy(run *r, change *ch)
{
	if (!r->search)
		return false;
	change_fail(ch, E_BAD_STATE, "a search of %s is under way (cancel {\"search\": true} stops it)",
	            r->sa->knobs[r->search->a.knob].name);
	return true;
}
