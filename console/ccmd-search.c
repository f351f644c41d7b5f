/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-search.c — `search KNOB FROM TO until COND [hold STEPS|TIME] [tol REL]
 * [max STEPS] [direction up|down]`: the daemon's `search` request
 * (PROTOCOL.md), which finds the largest value of KNOB in [FROM, TO] for
 * which COND stays false (up), or at which it stops holding (down).
 *
 * The reply comes when the search ends, which can take minutes, so it is not
 * waited for with the request timeout: the wait goes on as long as the daemon
 * shows signs of life (stream messages, or an answer to a `hello` probe when
 * the stream is quiet). Progress comes from the probes' `knob_changed` (from
 * the start of each probe) and `search_probe` events: a bar that
 * is redrawn in place at a terminal, one line per probe otherwise (nothing in
 * --json mode, where the reply body is the only output). Ctrl-C sends
 * `cancel {"search": true}` and waits for the search to end (a second Ctrl-C
 * stops waiting).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccmd.h"
#include "view.h"
#include "units.h"

#define QUIET_MS 2000     /* stream silent this long: ask the daemon if it is there */
#define CANCEL_WAIT_MS 30000

/* Declared here rather than in ccmd.h, which is shared; ccmd.c lists it. */
extern const ccmd_entry ccmd_search_entry;

typedef struct search_ui {
	console *c;
	char knob[64], unit[32];
	double from, to, tol;
	long long hold;       /* steps, from search_started (0 until known) */
	long long good_step;  /* the run's step at the start of the probe under way, -1 unknown */
	long long run_step;   /* the latest step seen on the stream */
	long long total_steps;
	int probes;
	bool have_good, have_bad;
	double good, bad;
	bool bar;             /* redraw a bar in place (a terminal) */
	bool lines;           /* a line per probe (script mode, not --json) */
	bool bar_drawn;
	int64_t start_ms, last_alive_ms, last_draw_ms;
} search_ui;

static bool is_keyword(const char *w)
{
	return !strcmp(w, "until") || !strcmp(w, "hold") || !strcmp(w, "tol") ||
	       !strcmp(w, "max") || !strcmp(w, "max_steps") || !strcmp(w, "direction");
}

/* A unit word follows a number: "100 A/m^2", "1.5 kA/m^2". */
static bool is_unit_word(const char *w)
{
	return isalpha((unsigned char)w[0]) && !is_keyword(w);
}

/* FROM or TO at argv[*i] (and a unit word after it); -1 if bad (reported). */
static int parse_value(console *c, const json_t *knob, int argc, char **argv, int *i,
                       const char *what, double *out)
{
	char text[256], err[512];
	if (*i >= argc)
		return ccmd_usage(c, &ccmd_search_entry);
	snprintf(text, sizeof text, "%s", argv[*i]);
	if (*i + 1 < argc && is_unit_word(argv[*i + 1])) {
		size_t n = strlen(text);
		snprintf(text + n, sizeof text - n, " %s", argv[++*i]);
	}
	json_t *v = units_knob_value(knob, text, err, sizeof err);
	if (!v || !json_is_number(v)) {
		json_decref(v);
		return v ? con_error(c, "search: %s is not a numeric knob", schema_str(knob, "name"))
		         : con_error(c, "search: %s: %s", what, err);
	}
	*out = json_number_value(v);
	json_decref(v);
	++*i;
	return 0;
}

static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">", NULL };

/*
 * The words of a condition joined: "virtual_cathode", "phi_min < -50 V",
 * "reflected_fraction>=5%"... into the daemon's "NAME" or "NAME OP NUMBER",
 * the number in SI without prefix. -1 if bad (reported).
 */
static int parse_cond(console *c, const char *text, char *out, size_t len)
{
	char name[64];
	const char *p = text;
	size_t n = 0;
	while (*p && (isalnum((unsigned char)*p) || *p == '_') && n + 1 < sizeof name)
		name[n++] = *p++;
	name[n] = '\0';
	if (!n)
		return con_error(c, "search: until: expected a name, not \"%s\"", text);
	if (c->hello && !schema_knob(c, name) && !schema_diag(c, name))
		return con_error(c, "search: until: no knob or diagnostic \"%s\"", name);
	while (isspace((unsigned char)*p))
		p++;
	if (!*p) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	const char *op = NULL;
	for (int k = 0; ops[k]; k++)
		if (!strncmp(p, ops[k], strlen(ops[k]))) {
			op = ops[k];
			break;
		}
	if (!op)
		return con_error(c, "search: until: expected one of == != < <= > >= after %s, not \"%s\"",
		                 name, p);
	p += strlen(op);
	while (isspace((unsigned char)*p))
		p++;
	double v;
	char err[512];
	bool percent = *p && p[strlen(p) - 1] == '%';
	char num[256];
	snprintf(num, sizeof num, "%s", p);
	if (percent)
		num[strlen(num) - 1] = '\0';
	if (quantity_parse(num, schema_unit(c, name), &v, err, sizeof err) < 0)
		return con_error(c, "search: until %s %s: %s", name, op, err);
	if (percent)
		v /= 100.0;
	snprintf(out, len, "%s %s %.17g", name, op, v);
	return 0;
}

/* "8431" steps, or a time "80ns", "80 ns", "1.2e-7 s". */
static int parse_hold(console *c, const char *text, json_t *body)
{
	long long n;
	double s;
	char err[512];
	int kind = units_steps_or_time(text, &n, &s, err, sizeof err); /* as ramp's `over` */
	if (kind < 0)
		return con_error(c, "search: hold %s", err);
	json_object_set_new(body, kind == 1 ? "hold" : "hold_time",
	                    kind == 1 ? json_integer(n) : json_real(s));
	return 0;
}

/* ---------------------------------------------------------------- progress */

/* How far the bisection is, 0..1: the bracket's width against the width
 * `tol` asks for, on a log scale, plus the part of the running probe done. */
static double fraction(const search_ui *u)
{
	/* The part of the running probe done, from its first step. */
	double in = 0;
	if (u->hold > 0 && u->good_step >= 0 && u->run_step > u->good_step)
		in = fmin((double)(u->run_step - u->good_step) / (double)u->hold, 1.0);
	if (!u->have_good || !u->have_bad) {
		double f = (u->probes + in) / 2.0 * 0.1;
		return f > 0.1 ? 0.1 : f;
	}
	double w0 = u->to - u->from, w = u->bad - u->good, target = u->tol * u->bad;
	if (!(w0 > target) || !(target > 0))
		return 1.0;
	double f = log(w0 / w) / log(w0 / target);
	double per_probe = 1.0 / fmax(1.0, log2(w0 / target));
	f += per_probe * in;
	f = 0.1 + 0.9 * f;
	return f < 0 ? 0 : f > 0.99 ? 0.99 : f;
}

static void fmt_bracket(const search_ui *u, char *buf, size_t len)
{
	char g[64] = "?", b[64] = "?";
	if (u->have_good)
		fmt_num(u->good, g, sizeof g);
	if (u->have_bad)
		fmt_num(u->bad, b, sizeof b);
	snprintf(buf, len, "[%s, %s]%s%s", g, b, u->unit[0] ? " " : "", u->unit);
}

static void clear_bar(search_ui *u)
{
	if (u->bar_drawn) {
		fputs("\r\033[K", stdout);
		u->bar_drawn = false;
	}
}

static void draw_bar(search_ui *u)
{
	int cols, rows;
	view_size(&cols, &rows);
	char br[160], text[256];
	fmt_bracket(u, br, sizeof br);
	int secs = (int)((con_now_ms() - u->start_ms) / 1000);
	double f = fraction(u);
	snprintf(text, sizeof text, " %3d%%  %d probes  %s  %lld steps  %d:%02d", (int)(f * 100),
	         u->probes, br, u->total_steps, secs / 60, secs % 60);
	int width = cols - (int)strlen(text) - 3;
	if (width > 40)
		width = 40;
	char bar[64];
	int n = 0;
	if (width >= 5) {
		int fill = (int)(f * width + 0.5);
		bar[n++] = '[';
		for (int k = 0; k < width; k++)
			bar[n++] = k < fill ? '#' : '.';
		bar[n++] = ']';
	}
	bar[n] = '\0';
	printf("\r\033[K%s%.*s", bar, cols > 1 ? cols - 1 - n : 0, text);
	fflush(stdout);
	u->bar_drawn = true;
	u->last_draw_ms = con_now_ms();
}

static long long int_field(json_t *hdr, const char *key, long long dflt)
{
	json_t *v = json_object_get(hdr, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static void on_probe(search_ui *u, json_t *hdr)
{
	json_t *g = json_object_get(hdr, "good"), *b = json_object_get(hdr, "bad_value");
	if (json_is_number(g)) {
		u->have_good = true;
		u->good = json_number_value(g);
	}
	if (json_is_number(b)) {
		u->have_bad = true;
		u->bad = json_number_value(b);
	}
	bool bad = json_is_true(json_object_get(hdr, "bad"));
	u->total_steps = int_field(hdr, "total_steps", u->total_steps);
	u->probes = (int)int_field(hdr, "probes", u->probes + 1);
	if (!u->bar && !u->lines)
		return;
	char val[64], br[160];
	fmt_num(json_number_value(json_object_get(hdr, "value")), val, sizeof val);
	fmt_bracket(u, br, sizeof br);
	clear_bar(u);
	/* settled: ended before its hold (provisional); confirm: a settled good held on. */
	const char *how = json_is_true(json_object_get(hdr, "confirm"))   ? " (held on to the hold)"
	                  : json_is_true(json_object_get(hdr, "settled")) ? " (settled)"
	                                                                  : "";
	printf("probe %d: %s = %s%s%s %s after %lld steps%s; bracket %s\n", u->probes, u->knob, val,
	       u->unit[0] ? " " : "", u->unit, bad ? "bad " : "good", int_field(hdr, "steps", 0), how,
	       br);
	fflush(stdout);
	if (u->bar)
		draw_bar(u);
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *data, size_t n,
                      void *arg)
{
	(void)c;
	(void)data;
	(void)n;
	search_ui *u = arg;
	u->last_alive_ms = con_now_ms();
	json_t *st = json_object_get(hdr, "step");
	if (json_is_integer(st))
		u->run_step = (long long)json_integer_value(st);
	if (!strcmp(topic, "event.search_started")) {
		/* Ours or one another client started just before: either way the
		 * daemon runs one search at a time and this is it. */
		u->hold = int_field(hdr, "hold", u->hold);
		u->good_step = int_field(hdr, "step", u->good_step);
	} else if (!strcmp(topic, "event.knob_changed") &&
	           !strcmp(schema_str(hdr, "search"), "probe") &&
	           !strcmp(schema_str(hdr, "knob"), u->knob)) {
		/* A probe starts now, with its own hold (the default depends on the value). */
		u->hold = int_field(hdr, "hold", u->hold);
		u->good_step = int_field(hdr, "step", u->good_step);
	} else if (!strcmp(topic, "event.search_probe") &&
	           !strcmp(schema_str(hdr, "knob"), u->knob)) {
		on_probe(u, hdr);
	}
	if (u->bar && con_now_ms() - u->last_draw_ms >= 250)
		draw_bar(u);
}

/* -------------------------------------------------------------- the wait */

static void lost(console *c)
{
	con_reconnect(c);
	c->lost = true;
	c->backoff_ms = 1000;
	c->next_probe_ms = con_now_ms() + c->backoff_ms;
	c->probe_id = 0;
}

/*
 * Waits for the reply to request `id`: as long as the daemon is alive, with
 * Ctrl-C as cancel. 0 with the reply in hdr and body (caller decrefs), or -1 (reported).
 */
static int wait_reply(console *c, search_ui *u, long long id, json_t **hdr, json_t **body,
                      bool *cancelled)
{
	c->call_id = id;
	int64_t probe_sent = 0, cancel_deadline = -1;
	int rc = 0;
	for (;;) {
		int64_t now = con_now_ms();
		if (c->probe_id == 0 && probe_sent) { /* the hello probe came back */
			probe_sent = 0;
			u->last_alive_ms = now;
		}
		if (probe_sent && now - probe_sent > c->timeout_ms) {
			c->call_id = 0;
			clear_bar(u);
			lost(c);
			return con_error(c, "search: steerd stopped answering (no reply within %.3g s)%s",
			                 c->timeout_ms / 1000.0,
			                 c->interactive ? "; reconnecting in the background" : "");
		}
		if (!probe_sent && c->probe_id == 0 && now - u->last_alive_ms > QUIET_MS) {
			c->probe_id = con_send(c, "hello", NULL);
			probe_sent = now;
		}
		if (cancel_deadline >= 0 && now > cancel_deadline) {
			c->call_id = 0;
			clear_bar(u);
			return con_error(c, "search: cancelled, but no reply came within %d s",
			                 CANCEL_WAIT_MS / 1000);
		}
		int ev = con_poll(c, 250, false);
		if (ev & CON_EV_REPLY)
			break;
		if (ev & CON_EV_INTR) {
			if (*cancelled) { /* a second Ctrl-C: stop waiting */
				c->call_id = 0;
				clear_bar(u);
				return con_error(c, "search: interrupted (the search may still be ending)");
			}
			con_interrupted = 0;
			*cancelled = true;
			clear_bar(u);
			if (!c->json) {
				printf("%scancelling the search...\n", c->interactive ? "^C " : "");
				fflush(stdout);
			}
			/* Its reply is stale by design (call_id is the search's). */
			if (con_send(c, "cancel", json_pack("{s:b}", "search", 1)) < 0)
				rc = con_error(c, "search: cannot send the cancel request");
			cancel_deadline = con_now_ms() + CANCEL_WAIT_MS;
			if (rc < 0) {
				c->call_id = 0;
				return rc;
			}
		}
	}
	c->call_id = 0;
	*hdr = c->reply_hdr;
	*body = c->reply_body;
	c->reply_hdr = c->reply_body = NULL;
	return 0;
}

static void print_result(search_ui *u, json_t *r)
{
	const char *unit = u->unit;
	const char *sp = unit[0] ? " " : "";
	char res[64], lo[64] = "?", hi[64] = "?";
	json_t *br = json_object_get(r, "bracket");
	json_t *b0 = json_array_get(br, 0), *b1 = json_array_get(br, 1);
	fmt_num(json_number_value(json_object_get(r, "result")), res, sizeof res);
	if (json_is_number(b0))
		fmt_num(json_number_value(b0), lo, sizeof lo);
	if (json_is_number(b1))
		fmt_num(json_number_value(b1), hi, sizeof hi);
	json_t *probes = json_object_get(r, "probes");
	bool conv = json_is_true(json_object_get(r, "converged"));
	printf("result:  %s = %s%s%s (%s", u->knob, res, sp, unit,
	       conv ? "converged" : "NOT converged: max steps reached");
	if (json_is_number(b0) && json_is_number(b1) && json_number_value(b1) > 0)
		printf(", bracket width %.3g %%",
		       100.0 * (json_number_value(b1) - json_number_value(b0)) / json_number_value(b1));
	else if (conv && !json_is_number(b1))
		printf(": the condition never held up to TO");
	printf(")\n");
	printf("bracket: [%s, %s]%s%s (largest where the condition is false, smallest where it held)\n",
	       lo, hi, sp, unit);
	printf("steps:   %lld simulated in %zu probes; the run is at step %lld\n",
	       (long long)json_integer_value(json_object_get(r, "steps")), json_array_size(probes),
	       (long long)json_integer_value(json_object_get(r, "step")));
	fflush(stdout);
}

static int search_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 6)
		return ccmd_usage(c, &ccmd_search_entry);
	const json_t *knob = ccmd_knob(c, argv[1]);
	if (!knob)
		return -1;
	search_ui u = { 0 };
	u.c = c;
	snprintf(u.knob, sizeof u.knob, "%s", argv[1]);
	snprintf(u.unit, sizeof u.unit, "%s", schema_str(knob, "unit"));
	u.tol = 0.005; /* the daemon's default */
	u.good_step = -1;
	int i = 2;
	if (parse_value(c, knob, argc, argv, &i, "FROM", &u.from) < 0 ||
	    parse_value(c, knob, argc, argv, &i, "TO", &u.to) < 0)
		return -1;
	if (!(u.from < u.to))
		return con_error(c, "search: FROM must be below TO");
	json_t *body = json_pack("{s:s, s:f, s:f}", "knob", u.knob, "from", u.from, "to", u.to);
	bool have_until = false;
	char err[512];
	while (i < argc) {
		const char *kw = argv[i++];
		if (!strcmp(kw, "until")) {
			char text[512] = "";
			while (i < argc && !is_keyword(argv[i])) {
				size_t n = strlen(text);
				snprintf(text + n, sizeof text - n, "%s%s", n ? " " : "", argv[i++]);
			}
			char cond[256];
			if (!text[0] || parse_cond(c, text, cond, sizeof cond) < 0) {
				json_decref(body);
				return text[0] ? -1 : ccmd_usage(c, &ccmd_search_entry);
			}
			json_object_set_new(body, "until", json_string(cond));
			have_until = true;
			continue;
		}
		if (i >= argc || !is_keyword(kw)) {
			json_decref(body);
			return is_keyword(kw) ? ccmd_usage(c, &ccmd_search_entry)
			                      : con_error(c, "search: unexpected \"%s\"; usage: search %s",
			                                  kw, ccmd_search_entry.usage);
		}
		char text[256];
		snprintf(text, sizeof text, "%s", argv[i++]);
		if (i < argc && is_unit_word(argv[i])) { /* "hold 80 ns" */
			size_t n = strlen(text);
			snprintf(text + n, sizeof text - n, " %s", argv[i++]);
		}
		if (!strcmp(kw, "hold")) {
			if (parse_hold(c, text, body) < 0) {
				json_decref(body);
				return -1;
			}
		} else if (!strcmp(kw, "tol")) {
			size_t n = strlen(text);
			bool percent = n && text[n - 1] == '%';
			if (percent)
				text[n - 1] = '\0';
			if (quantity_parse(text, "", &u.tol, err, sizeof err) < 0) {
				json_decref(body);
				return con_error(c, "search: tol: %s", err);
			}
			if (percent)
				u.tol /= 100.0;
			if (!(u.tol > 0 && u.tol < 1)) {
				json_decref(body);
				return con_error(c, "search: tol must be between 0 and 1 (or 0%% and 100%%)");
			}
			json_object_set_new(body, "tol", json_real(u.tol));
		} else if (!strcmp(kw, "direction")) {
			if (strcmp(text, "up") != 0 && strcmp(text, "down") != 0) {
				json_decref(body);
				return con_error(c, "search: direction must be up or down, not \"%s\"", text);
			}
			json_object_set_new(body, "direction", json_string(text));
		} else { /* max */
			double m;
			if (quantity_parse(text, "", &m, err, sizeof err) < 0 || !(m >= 1) ||
			    m != floor(m) || m > 9e15) {
				json_decref(body);
				return con_error(c, "search: max: expected a number of steps >= 1, not \"%s\"",
				                 text);
			}
			json_object_set_new(body, "max_steps", json_integer((json_int_t)m));
		}
	}
	if (!have_until) {
		json_decref(body);
		return con_error(c, "search: a condition is needed: until NAME [OP VALUE]");
	}

	u.bar = !c->json && c->interactive && isatty(1);
	u.lines = !c->json && !u.bar;
	u.start_ms = u.last_alive_ms = con_now_ms();
	if (!c->json) {
		char a[64], b[64];
		fmt_num(u.from, a, sizeof a);
		fmt_num(u.to, b, sizeof b);
		printf("search %s in [%s, %s]%s%s until %s%s\n", u.knob, a, b, u.unit[0] ? " " : "",
		       u.unit, json_string_value(json_object_get(body, "until")),
		       u.bar ? " (Ctrl-C cancels)" : "");
		fflush(stdout);
	}
	c->hook = on_stream;
	c->hook_arg = &u;
	/* At a terminal, other events (the indicator flickers with every bad
	 * probe) would scroll the bar away: they are held back while it is up. */
	bool view_was = c->view_active;
	c->view_active = u.bar;
	if (u.bar)
		draw_bar(&u);
	long long id = con_send(c, "search", body);
	json_t *hdr = NULL, *r = NULL;
	bool cancelled = false;
	int rc = id < 0 ? con_error(c, "search: cannot send the request")
	                : wait_reply(c, &u, id, &hdr, &r, &cancelled);
	c->hook = NULL;
	c->hook_arg = NULL;
	c->view_active = view_was;
	clear_bar(&u);
	if (rc < 0) {
		if (cancelled)
			con_interrupted = 1; /* the script stops as on any Ctrl-C */
		return -1;
	}
	if (!json_is_true(json_object_get(hdr, "ok")) || !json_is_object(r)) {
		json_t *e = json_object_get(r, "error");
		if (c->json && r)
			con_json_line(r);
		if (cancelled && !strcmp(schema_str(e, "code"), "refused"))
			con_error(c, "search cancelled (%s); the run is back in the state the last "
			          "probe started from", schema_str(e, "message"));
		else
			con_error(c, "search failed: %s (%s)%s",
			          schema_str(e, "message")[0] ? schema_str(e, "message") : "malformed reply",
			          schema_str(e, "code")[0] ? schema_str(e, "code") : "?",
			          cancelled ? "; the run is back in the last good state" : "");
		json_decref(hdr);
		json_decref(r);
		if (cancelled)
			con_interrupted = 1;
		return -1;
	}
	json_decref(hdr);
	if (json_is_integer(json_object_get(r, "step")))
		c->cmd_step = (long long)json_integer_value(json_object_get(r, "step"));
	if (c->json)
		con_json_line(r);
	else
		print_result(&u, r);
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_search_entry = {
	.name = "search",
	.daemon = "search",
	.usage = "KNOB FROM TO until NAME [OP VALUE] [hold STEPS | hold TIME] [tol REL] "
	         "[max STEPS] [direction up|down]   (e.g. search injected_current 500 4000 until "
	         "virtual_cathode; hold defaults to 50 transit times, a probe that settles before "
	         "ending early and the result held on to it; tol to 0.5%)",
	.summary = "find the largest KNOB in [FROM, TO] for which the condition stays false "
	           "(up), or, from a state where it holds, at which it stops holding (down: the "
	           "other side of a hysteresis); the daemon bisects, going back after each probe",
	.exec = search_exec,
	.complete = CC_KNOBS,
};
