/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-monitor.c — `monitor NAME... [lines N]`: a line per change of each
 * knob or scalar diagnostic, camonitor-style ("NAME step S VALUE UNIT"),
 * starting with the current values. Plain lines on stdout, flushed one by
 * one: it works at the prompt, in a script and into a pipe or file. Scalars
 * come from the `scalars` stream, knobs from their events and, since ramps
 * move knobs without events, from `get` twice a second. Ctrl-C (or N lines)
 * ends it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"

#define MONITOR_MAX 16
#define KNOB_POLL_MS 500

typedef struct monitor {
	int n;
	char **names;
	bool knob[MONITOR_MAX], seen[MONITOR_MAX];
	double last[MONITOR_MAX];
	long long lines, max_lines; /* max_lines 0: no end */
} monitor;

static bool same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Print NAME's value when it changed (or is the first seen). */
static void update(console *c, monitor *m, int k, double v, unsigned long long step)
{
	if (m->seen[k] && same(m->last[k], v))
		return;
	if (m->max_lines && m->lines >= m->max_lines)
		return;
	m->seen[k] = true;
	m->last[k] = v;
	m->lines++;
	char val[64];
	fmt_num(v, val, sizeof val);
	const char *unit = schema_unit(c, m->names[k]);
	printf("%-24s step %-10llu %s%s%s\n", m->names[k], step, val, unit[0] ? " " : "", unit);
	fflush(stdout);
}

static int find(const monitor *m, const char *name)
{
	for (int i = 0; name && i < m->n; i++)
		if (!strcmp(m->names[i], name))
			return i;
	return -1;
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *data, size_t n,
                      void *arg)
{
	monitor *m = arg;
	unsigned long long step = (unsigned long long)json_integer_value(json_object_get(hdr, "step"));
	if (!strcmp(topic, "scalars")) {
		size_t i;
		json_t *name;
		json_array_foreach(json_object_get(hdr, "names"), i, name) {
			int k = i < n ? find(m, json_string_value(name)) : -1;
			if (k >= 0)
				update(c, m, k, data[i], step);
		}
	} else if (!strcmp(topic, "event.knob_changed")) {
		int k = find(m, schema_str(hdr, "knob"));
		if (k >= 0 && json_is_number(json_object_get(hdr, "new")))
			update(c, m, k, json_number_value(json_object_get(hdr, "new")), step);
	}
}

/* The knobs (all names at the start) by `get`; -1 when the daemon does not answer. */
static int poll(console *c, monitor *m, bool all)
{
	json_t *names = json_array(), *r;
	for (int i = 0; i < m->n; i++)
		if (all || m->knob[i])
			json_array_append_new(names, json_string(m->names[i]));
	if (json_array_size(names) == 0) {
		json_decref(names);
		return 0;
	}
	if (con_call(c, "get", json_pack("{s:o}", "names", names), &r) < 0)
		return -1;
	unsigned long long step = (unsigned long long)json_integer_value(json_object_get(r, "step"));
	for (int i = 0; i < m->n; i++) {
		json_t *v = json_object_get(json_object_get(r, "values"), m->names[i]);
		if (json_is_number(v))
			update(c, m, i, json_number_value(v), step);
		else if (json_is_null(v) && all)
			update(c, m, i, NAN, step);
	}
	json_decref(r);
	return 0;
}

static int monitor_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	monitor m;
	memset(&m, 0, sizeof m);
	if (argc >= 4 && !strcmp(argv[argc - 2], "lines")) {
		char *end;
		m.max_lines = strtoll(argv[argc - 1], &end, 10);
		if (*end || m.max_lines < 1)
			return ccmd_usage(c, &ccmd_monitor_entry);
		argc -= 2;
	}
	if (argc < 2 || argc - 1 > MONITOR_MAX)
		return ccmd_usage(c, &ccmd_monitor_entry);
	m.n = argc - 1;
	m.names = argv + 1;
	for (int i = 0; i < m.n; i++) {
		m.knob[i] = schema_knob(c, m.names[i]) != NULL;
		if (!m.knob[i] && !schema_is_scalar(schema_diag(c, m.names[i])))
			return con_error(c, "monitor: \"%s\" is not a knob or scalar diagnostic", m.names[i]);
	}
	c->hook = on_stream;
	c->hook_arg = &m;
	con_subscribe(c, "scalars");
	con_subscribe(c, "event.knob_changed");
	int rc = poll(c, &m, true);
	int64_t next_poll = con_now_ms() + KNOB_POLL_MS;
	while (rc == 0 && !(m.max_lines && m.lines >= m.max_lines)) {
		int64_t now = con_now_ms();
		if (now >= next_poll) {
			rc = poll(c, &m, false);
			next_poll = con_now_ms() + KNOB_POLL_MS;
			continue;
		}
		if (con_poll(c, (long)(next_poll - now), false) & CON_EV_INTR)
			break; /* Ctrl-C: the usual end of a monitor */
	}
	con_unsubscribe(c, "event.knob_changed");
	con_unsubscribe(c, "scalars");
	c->hook = NULL;
	c->hook_arg = NULL;
	return rc;
}

const ccmd_entry ccmd_monitor_entry = {
	.name = "monitor",
	.usage = "NAME... [lines N]   (knobs or scalar diagnostics; Ctrl-C ends it)",
	.summary = "a line per change of each value, camonitor-style (also in scripts and pipes)",
	.exec = monitor_exec,
	.complete = CC_NAMES,
};
