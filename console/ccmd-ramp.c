/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-ramp.c — `ramp KNOB TO (steps N | over TIME | rate R) [KNOB TO ...]`: one `ramp` request. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "units.h"

void ccmd_print_ramp(console *c, const json_t *rp)
{
	const char *knob = schema_str(rp, "knob");
	char from[128], to[128];
	fmt_value_unit(json_object_get(rp, "from"), schema_unit(c, knob), from, sizeof from);
	fmt_value_unit(json_object_get(rp, "to"), schema_unit(c, knob), to, sizeof to);
	printf("ramp %lld: %s %s -> %s, steps %lld..%lld\n",
	       json_integer_value(json_object_get(rp, "id")), knob, from, to,
	       json_integer_value(json_object_get(rp, "start_step")),
	       json_integer_value(json_object_get(rp, "end_step")));
}

/* One KNOB TO (steps N | rate R [UNIT]) group at argv[*i]; NULL if bad (reported). */
static json_t *one_ramp(console *c, int argc, char **argv, int *i)
{
	const json_t *k = ccmd_knob(c, argv[*i]);
	if (!k)
		return NULL;
	if (*i + 3 >= argc)
		return ccmd_usage(c, &ccmd_ramp_entry), NULL;
	const char *knob = argv[(*i)++];
	json_t *to = ccmd_knob_value(c, k, argc, argv, i);
	if (!to)
		return NULL;
	json_t *r = json_pack("{s:s, s:o}", "knob", knob, "to", to);
	if (++*i + 1 >= argc) {
		json_decref(r);
		return ccmd_usage(c, &ccmd_ramp_entry), NULL;
	}
	const char *how = argv[(*i)++];
	char err[512];
	if (!strcmp(how, "steps")) {
		char *e;
		long long n = strtoll(argv[*i], &e, 10);
		if (*e || n < 1) {
			json_decref(r);
			return con_error(c, "ramp %s: steps must be an integer >= 1", knob), NULL;
		}
		json_object_set_new(r, "steps", json_integer(n));
	} else if (!strcmp(how, "over")) {
		/* "over 500" steps, or simulated time "over 5ns" / "over 5 ns": the
		 * daemon turns a duration into steps with the run's time per step. */
		char text[256];
		snprintf(text, sizeof text, "%s", argv[*i]);
		if (*i + 1 < argc && !schema_knob(c, argv[*i + 1]) &&
		    isalpha((unsigned char)argv[*i + 1][0])) {
			size_t n = strlen(text);
			snprintf(text + n, sizeof text - n, " %s", argv[++*i]);
		}
		long long n;
		double seconds;
		int kind = units_steps_or_time(text, &n, &seconds, err, sizeof err);
		if (kind < 0) {
			json_decref(r);
			return con_error(c, "ramp %s: over %s", knob, err), NULL;
		}
		if (kind == 1)
			json_object_set_new(r, "steps", json_integer(n));
		else
			json_object_set_new(r, "duration", json_real(seconds));
	} else if (!strcmp(how, "rate")) {
		char text[256];
		snprintf(text, sizeof text, "%s", argv[*i]);
		/* "rate 10 V": the knob's unit per step, optionally spelt out. */
		if (*i + 1 < argc && !schema_knob(c, argv[*i + 1])) {
			size_t n = strlen(text);
			snprintf(text + n, sizeof text - n, " %s", argv[++*i]);
		}
		double rate;
		if (quantity_parse(text, schema_unit(c, knob), &rate, err, sizeof err) < 0) {
			json_decref(r);
			return con_error(c, "ramp %s: rate %s", knob, err), NULL;
		}
		json_object_set_new(r, "rate", json_real(rate));
	} else {
		json_decref(r);
		return con_error(c, "ramp %s: expected steps N, over TIME or rate R, not \"%s\"", knob,
		                 how), NULL;
	}
	return r;
}

static int ramp_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc < 5)
		return ccmd_usage(c, &ccmd_ramp_entry);
	json_t *ramps = json_array();
	for (int i = 1; i < argc; i++) {
		json_t *r = one_ramp(c, argc, argv, &i);
		if (!r) {
			json_decref(ramps);
			return -1;
		}
		json_array_append_new(ramps, r);
	}
	json_t *r;
	if (ccmd_request(c, "ramp", json_pack("{s:o}", "ramps", ramps), &r) < 0)
		return -1;
	if (!c->json) {
		size_t i;
		json_t *rp;
		json_array_foreach(json_object_get(r, "ramps"), i, rp)
			ccmd_print_ramp(c, rp);
		fflush(stdout);
	}
	json_decref(r);
	return 0;
}

const ccmd_entry ccmd_ramp_entry = {
	.name = "ramp",
	.daemon = "ramp",
	.usage = "KNOB TO (steps N | over TIME | rate R) [KNOB TO ...]   (TIME: simulated, e.g. "
	         "5ns, 2 us; or N steps)",
	.summary = "move knobs linearly to targets, over N steps, a simulated time or at R units per "
	           "step",
	.exec = ramp_exec,
	.complete = CC_KNOBS,
};
