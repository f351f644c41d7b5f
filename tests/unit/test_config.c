/* SPDX-License-Identifier: MIT */
/*
 * test_config.c — the YAML configuration: the shipped configs, defaults,
 * every class of error with its exact file:line:col, the schedule.
 * Run from the top of the tree (configs/ is read relative to it).
 */
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* ------------------------------------------------------------- helpers */

static config *parse_ok(const char *yaml)
{
	config *cfg = NULL;
	char err[1024] = "";
	if (config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof err) != 0)
		fail_msg("unexpected error: %s\n--- yaml:\n%s", err, yaml);
	assert_non_null(cfg);
	return cfg;
}

/*
 * Parse must fail with an error starting "t.yaml:line:col: " (or "t.yaml: "
 * when line is 0) and containing want.
 */
static void expect_err_(const char *yaml, size_t len, int line, int col, const char *want,
                        const char *file, int srcline)
{
	config *cfg = (config *)&cfg; /* must be reset to NULL */
	char err[1024] = "";
	int rc = config_parse("t.yaml", yaml, len, &cfg, err, sizeof err);
	if (rc == 0) {
		config_destroy(&cfg);
		fail_msg("%s:%d: accepted, expected error '%s'", file, srcline, want);
	}
	assert_int_equal(rc, -1);
	assert_null(cfg);
	char prefix[64];
	if (line)
		snprintf(prefix, sizeof prefix, "t.yaml:%d:%d: ", line, col);
	else
		snprintf(prefix, sizeof prefix, "t.yaml: ");
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("%s:%d: error '%s' does not start with '%s'", file, srcline, err, prefix);
	if (!strstr(err, want))
		fail_msg("%s:%d: error '%s' lacks '%s'", file, srcline, err, want);
}

#define expect_err(yaml, line, col, want) \
	expect_err_((yaml), strlen(yaml), (line), (col), (want), __FILE__, __LINE__)

/* The minimal valid prefix: line 1-2. */
#define SIM "simulation:\n  adapter: pic1d\n"

static int knob(const config *cfg, const char *name)
{
	int k = adapter_knob_index(cfg->adapter->sa, name);
	assert_true(k >= 0);
	return k;
}

static int diag(const config *cfg, const char *name)
{
	int d = adapter_diag_index(cfg->adapter->sa, name);
	assert_true(d >= 0);
	return d;
}

/* ------------------------------------------------------------- shipped configs */

/* The adapter accepts the knobs together (create() checks relations, e.g. Courant). */
static void check_creates(const config *cfg)
{
	char err[512] = "";
	const sa_adapter *sa = cfg->adapter->sa;
	void *sim = sa->create(cfg->knobs, NULL, err, sizeof err);
	if (!sim)
		fail_msg("%s: create: %s", cfg->path, err);
	assert_int_equal(sa->step(sim, err, sizeof err), 0);
	sa->destroy(sim);
}

static void test_diode(void **state)
{
	(void)state;
	config *cfg = NULL;
	char err[1024] = "";
	if (config_load("configs/diode.yaml", &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg->path, "configs/diode.yaml");
	assert_non_null(strstr(cfg->text, "adapter: pic1d"));
	assert_string_equal(cfg->adapter->sa->name, "pic1d");
	assert_true(cfg->knobs[knob(cfg, "gap")].d == 0.01);
	assert_int_equal(cfg->knobs[knob(cfg, "cells")].i, 200);
	assert_true(cfg->knobs[knob(cfg, "dt")].d == 2e-12);
	assert_int_equal(cfg->knobs[knob(cfg, "particles_per_step")].i, 40);
	assert_int_equal(cfg->knobs[knob(cfg, "emission")].i, 0); /* beam */
	assert_true(cfg->knobs[knob(cfg, "injected_current")].d == 1000.0);
	assert_true(cfg->knobs[knob(cfg, "anode_voltage")].d == 1000.0);
	assert_true(cfg->knobs[knob(cfg, "injection_energy")].d == 100.0);
	assert_string_equal(cfg->control_endpoint, "tcp://127.0.0.1:*");
	assert_string_equal(cfg->diagnostics_endpoint, "tcp://127.0.0.1:*");
	assert_null(cfg->connection_file);
	assert_false(cfg->allow_remote);
	assert_false(cfg->start_paused);
	assert_int_equal(cfg->max_steps, 0);
	assert_int_equal(cfg->scalars_every, 1);
	assert_int_equal(cfg->arrays_every, 100);
	assert_int_equal(cfg->every[diag(cfg, "virtual_cathode")], 1);
	assert_int_equal(cfg->every[diag(cfg, "phi")], 100);
	assert_int_equal(cfg->heartbeat_ms, 1000);
	assert_int_equal(cfg->send_hwm, 1000);
	assert_int_equal(cfg->n_indicators, 1);
	assert_string_equal(cfg->indicators[0], "virtual_cathode");
	assert_int_equal(cfg->n_schedule, 0);
	assert_int_equal(cfg->max_message_bytes, 65536);
	assert_int_equal(cfg->log_level, LOG_INFO);

	/* Every knob of the adapter is spelt out: the file documents them all. */
	const sa_adapter *sa = cfg->adapter->sa;
	for (size_t k = 0; k < sa->n_knobs; k++) {
		char key[80];
		snprintf(key, sizeof key, "\n    %s:", sa->knobs[k].name);
		if (!strstr(cfg->text, key))
			fail_msg("diode.yaml does not mention knob %s", sa->knobs[k].name);
	}
	check_creates(cfg);
	config_destroy(&cfg);
	assert_null(cfg);
}

static void test_grounded_gap(void **state)
{
	(void)state;
	config *cfg = NULL;
	char err[1024] = "";
	if (config_load("configs/grounded-gap.yaml", &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_true(cfg->knobs[knob(cfg, "anode_voltage")].d == 0.0);
	assert_true(cfg->knobs[knob(cfg, "injection_energy")].d == 100.0);
	double gap = cfg->knobs[knob(cfg, "gap")].d;
	double v0 = cfg->knobs[knob(cfg, "injection_energy")].d;
	double jmax = 8 * 2.334e-6 * pow(v0, 1.5) / (gap * gap);
	assert_true(fabs(jmax - 186.7) < 0.1);
	double j = cfg->knobs[knob(cfg, "injected_current")].d;
	assert_true(fabs(j / jmax - 0.9) < 0.01);
	assert_int_equal(cfg->every[diag(cfg, "phi")], 50);
	assert_int_equal(cfg->every[diag(cfg, "rho")], 100);
	assert_int_equal(cfg->n_schedule, 0);
	check_creates(cfg);
	config_destroy(&cfg);

	/* The commented schedule example is valid once uncommented. */
	char *text = NULL;
	assert_int_equal(config_load("configs/grounded-gap.yaml", &cfg, err, sizeof err), 0);
	size_t len = strlen(cfg->text);
	text = malloc(len + 1);
	assert_non_null(text);
	const char *from = strstr(cfg->text, "# schedule:");
	assert_non_null(from);
	size_t head = (size_t)(from - cfg->text);
	memcpy(text, cfg->text, head);
	size_t o = head;
	for (const char *p = from; *p;) { /* drop "# " at the start of the lines that follow */
		if (p[0] == '#' && p[1] == ' ')
			p += 2;
		while (*p && *p != '\n')
			text[o++] = *p++;
		if (*p)
			text[o++] = *p++;
	}
	text[o] = '\0';
	config_destroy(&cfg);
	cfg = parse_ok(text);
	assert_int_equal(cfg->n_schedule, 2);
	assert_int_equal(cfg->schedule[0].at, 20000);
	assert_int_equal(cfg->schedule[0].kind, SCHED_RAMP);
	assert_int_equal(cfg->schedule[0].steps, 10000);
	assert_true(cfg->schedule[0].value.d == 220.0);
	assert_int_equal(cfg->schedule[1].kind, SCHED_SET);
	config_destroy(&cfg);
	free(text);
}

/* configs/bad/ samples: each names its error in a "# expect: L:C: message" line. */
static void test_bad_samples(void **state)
{
	(void)state;
	glob_t g;
	assert_int_equal(glob("configs/bad/*.yaml", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 5);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		char line[512], want[512] = "";
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "# expect: ", 10)) {
				snprintf(want, sizeof want, "%s:%s", path, line + 10);
				want[strcspn(want, "\n")] = '\0';
			}
		fclose(f);
		if (!*want)
			fail_msg("%s has no '# expect:' line", path);
		config *cfg = NULL;
		char err[1024] = "";
		if (config_load(path, &cfg, err, sizeof err) == 0) {
			config_destroy(&cfg);
			fail_msg("%s was accepted", path);
		}
		assert_null(cfg);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s:\n  got    %s\n  wanted %s...", path, err, want);
	}
	globfree(&g);
}

/* ------------------------------------------------------------- files */

static void test_files(void **state)
{
	(void)state;
	config *cfg = (config *)&cfg;
	char err[1024];

	assert_int_equal(config_load("configs/no-such-file.yaml", &cfg, err, sizeof err), -1);
	assert_null(cfg);
	assert_string_equal(err, "configs/no-such-file.yaml: cannot open: No such file or directory");

	assert_int_equal(config_load("configs", &cfg, err, sizeof err), -1);
	assert_string_equal(err, "configs: is a directory, not a configuration file");

	assert_int_equal(config_load("/dev/null", &cfg, err, sizeof err), -1);
	assert_string_equal(err, "/dev/null: not a regular file");

	/* Too large: 1 MiB + 1 byte on disk, and in memory. */
	char tmp[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	size_t n = (1u << 20) + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(write(fd, big, n), (ssize_t)n);
	close(fd);
	assert_int_equal(config_load(tmp, &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, ": the file is too large (1048577 bytes; at most 1048576)"));
	assert_int_equal(strncmp(err, tmp, strlen(tmp)), 0);
	expect_err_(big, n, 0, 0, "the file is too large", __FILE__, __LINE__);

	/* Exactly 1 MiB is read (and here found empty: comments only). */
	fd = open(tmp, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, big, n - 1), (ssize_t)(n - 1));
	close(fd);
	assert_int_equal(config_load(tmp, &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, ": the file is empty"));
	unlink(tmp);
	free(big);

	/* A small error buffer truncates, never overflows. */
	char small[8];
	assert_int_equal(config_load("configs/no-such-file.yaml", &cfg, small, sizeof small), -1);
	assert_string_equal(small, "configs");
}

/* ------------------------------------------------------------- security */

#define SEC SIM "security:\n  server_key: keys/server.key_secret\n" /* lines 3-4 */

static void test_security(void **state)
{
	(void)state;
	config *cfg = parse_ok(SIM);
	assert_null(cfg->security);
	config_destroy(&cfg);

	cfg = parse_ok(SEC "  clients:\n"
	                   "    - {key: keys/alice.key, role: operator}\n"
	                   "    - key: /etc/steerd/bob.key\n"
	                   "      role: observer\n"
	                   "      name: bob-laptop\n"
	                   "endpoints:\n  control: tcp://0.0.0.0:5555\n  diagnostics: tcp://*:*\n");
	assert_non_null(cfg->security);
	/* From memory: relative paths stay relative (to the current directory). */
	assert_string_equal(cfg->security->server_key, "keys/server.key_secret");
	assert_int_equal(cfg->security->n_clients, 2);
	assert_string_equal(cfg->security->clients[0].key, "keys/alice.key");
	assert_null(cfg->security->clients[0].name);
	assert_int_equal(cfg->security->clients[0].role, 2); /* ZAP_ROLE_OPERATOR */
	assert_int_equal(cfg->security->clients[0].line, 6);
	assert_string_equal(cfg->security->clients[1].key, "/etc/steerd/bob.key");
	assert_string_equal(cfg->security->clients[1].name, "bob-laptop");
	assert_int_equal(cfg->security->clients[1].role, 1); /* ZAP_ROLE_OBSERVER */
	/* With security, remote binds need no allow_remote. */
	assert_false(cfg->allow_remote);
	assert_string_equal(cfg->control_endpoint, "tcp://0.0.0.0:5555");
	config_destroy(&cfg);

	/* Without it they are still refused. */
	expect_err(SIM "endpoints:\n  control: tcp://0.0.0.0:5555\n", 4, 12,
	           "binding 0.0.0.0 without security is refused");

	/* The section's own errors, with positions. */
	expect_err(SIM "security: {}\n", 3, 11, "security.server_key is required");
	expect_err(SIM "security: 3\n", 3, 11, "security must be a mapping with server_key and clients");
	expect_err(SIM "security:\n", 3, 10, "security must be a mapping");
	expect_err(SEC, 4, 3, "security.clients is required");
	expect_err(SIM "security:\n  clients: [{key: a.key, role: operator}]\n", 4, 3,
	           "security.server_key is required");
	expect_err(SEC "  clients: []\n", 5, 12, "security.clients must list at least one client key");
	expect_err(SEC "  clients: a.key\n", 5, 12, "security.clients must be a list");
	expect_err(SEC "  clients:\n", 5, 11, "security.clients must be a list");
	expect_err(SEC "  serverkey: x\n", 5, 3,
	           "unknown key 'serverkey' in security (did you mean 'server_key'?)");
	expect_err(SEC "  server_key: x\n", 5, 3, "duplicate key 'server_key' in security");
	expect_err(SIM "security:\n  server_key: \"\"\n", 4, 15, "security.server_key must not be empty");
	expect_err(SIM "security:\n  server_key: [a]\n", 4, 15, "security.server_key must be a string");
	expect_err(SEC "  clients: [a.key]\n", 5, 13, "each entry of security.clients must be a mapping");
	expect_err(SEC "  clients: [{key: a.key}]\n", 5, 13, "an entry lacks 'role'");
	expect_err(SEC "  clients: [{role: operator}]\n", 5, 13, "an entry lacks 'key'");
	expect_err(SEC "  clients: [{key: a.key, role: admin}]\n", 5, 32,
	           "security.clients.role: 'admin' is not one of: observer, operator");
	expect_err(SEC "  clients: [{key: a.key, role: observr}]\n", 5, 32,
	           "(did you mean 'observer'?)");
	expect_err(SEC "  clients: [{key: a.key, role: [operator]}]\n", 5, 32,
	           "security.clients.role must be one of: observer, operator");
	expect_err(SEC "  clients: [{key: a.key, role: operator, nmae: x}]\n", 5, 42,
	           "unknown key 'nmae' in security.clients (did you mean 'name'?)");
	expect_err(SEC "  clients: [{key: a.key, role: operator, name: \"a b\"}]\n", 5, 48,
	           "security.clients.name must be 1 to 63 printable characters without blanks");
	expect_err(SEC "  clients: [{key: a.key, key: b.key, role: operator}]\n", 5, 26,
	           "duplicate key 'key' in security.clients");
	expect_err(SEC "  clients: [{key: 3, role: operator}]\n", 5, 19,
	           "security.clients.key must be a string");
	expect_err(SEC "  clients:\n    - {key: a.key, role: operator}\n    - {key: a.key, role: observer}\n",
	           7, 7, "security.clients: 'a.key' is listed twice (first at line 6)");
}

/* Written to a file: paths are relative to its directory; a reload reads the section again. */
static void test_security_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_config_sec_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/run.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(SEC "  clients:\n    - {key: keys/alice.key, role: operator}\n"
	          "    - {key: /abs/bob.key, role: observer}\n", f);
	fclose(f);

	config *cfg = NULL;
	char err[1024] = "", want[512];
	if (config_load(path, &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	snprintf(want, sizeof want, "%s/keys/server.key_secret", dir);
	assert_string_equal(cfg->security->server_key, want);
	snprintf(want, sizeof want, "%s/keys/alice.key", dir);
	assert_string_equal(cfg->security->clients[0].key, want);
	assert_string_equal(cfg->security->clients[1].key, "/abs/bob.key");
	config_destroy(&cfg);

	/* Only the security section is read again: other sections may even be wrong. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("simulation: {adapter: no-such-adapter}\nsecurity:\n  server_key: s.key_secret\n"
	      "  clients: [{key: carol.key, role: observer, name: carol}]\n", f);
	fclose(f);
	config_security *sec = NULL;
	if (config_load_security(path, &sec, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(sec->n_clients, 1);
	snprintf(want, sizeof want, "%s/carol.key", dir);
	assert_string_equal(sec->clients[0].key, want);
	assert_string_equal(sec->clients[0].name, "carol");
	config_security_free(&sec);
	assert_null(sec);

	/* Its errors are the usual ones, with the position. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("security:\n  server_key: s.key_secret\n  clients: [{key: carol.key, role: boss}]\n", f);
	fclose(f);
	assert_int_equal(config_load_security(path, &sec, err, sizeof err), -1);
	assert_null(sec);
	snprintf(want, sizeof want, "%s:3:36: security.clients.role: 'boss'", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("'%s' does not start with '%s'", err, want);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(SIM, f);
	fclose(f);
	assert_int_equal(config_load_security(path, &sec, err, sizeof err), -1);
	assert_non_null(strstr(err, "no security section"));
	unlink(path);
	rmdir(dir);
}
#undef SEC

/* ------------------------------------------------------------- defaults */

static void test_defaults(void **state)
{
	(void)state;
	config *cfg = parse_ok(SIM);
	const sa_adapter *sa = cfg->adapter->sa;
	assert_string_equal(cfg->path, "t.yaml");
	assert_string_equal(cfg->text, SIM);
	for (size_t k = 0; k < sa->n_knobs; k++)
		assert_true(adapter_value_equal(&sa->knobs[k], cfg->knobs[k], sa->knobs[k].def));
	assert_string_equal(cfg->control_endpoint, "tcp://127.0.0.1:*");
	assert_string_equal(cfg->diagnostics_endpoint, "tcp://127.0.0.1:*");
	assert_null(cfg->connection_file);
	assert_false(cfg->allow_remote);
	assert_false(cfg->start_paused);
	assert_int_equal(cfg->max_steps, 0);
	assert_int_equal(cfg->scalars_every, 1);
	assert_int_equal(cfg->arrays_every, 100);
	for (size_t d = 0; d < sa->n_diags; d++)
		assert_int_equal(cfg->every[d], sa->diags[d].rank ? 100 : 1);
	assert_int_equal(cfg->heartbeat_ms, 1000);
	assert_int_equal(cfg->send_hwm, 1000);
	assert_int_equal(cfg->n_indicators, 1);
	assert_string_equal(cfg->indicators[0], "virtual_cathode");
	assert_int_equal(cfg->n_schedule, 0);
	assert_null(cfg->schedule);
	assert_int_equal(cfg->max_message_bytes, 65536);
	assert_int_equal(cfg->log_level, LOG_INFO);
	config_destroy(&cfg);
	config_destroy(&cfg); /* NULL-safe */
	config_destroy(NULL);

	/* Empty sections (all keys commented out) are allowed. */
	cfg = parse_ok(SIM "  knobs:\nrun:\nendpoints:\ndiagnostics:\nlimits:\nschedule:\n");
	assert_int_equal(cfg->n_schedule, 0);
	assert_int_equal(cfg->n_indicators, 1);
	config_destroy(&cfg);

	/* Flow style and quoted keys work as well. */
	cfg = parse_ok("{simulation: {adapter: pic1d, knobs: {\"gap\": 0.02}}}");
	assert_true(cfg->knobs[knob(cfg, "gap")].d == 0.02);
	config_destroy(&cfg);

	/* Text need not be NUL-terminated. */
	const char text[] = SIM "log_level: warnXXXX";
	config_parse("t.yaml", text, sizeof text - 5, &cfg, NULL, 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->log_level, LOG_WARN);
	config_destroy(&cfg);
}

static void test_all_settings(void **state)
{
	(void)state;
	config *cfg = parse_ok(SIM
	                       "run:\n"
	                       "  start: paused\n"
	                       "  max_steps: 50000\n"
	                       "endpoints:\n"
	                       "  control: tcp://[::1]:5555\n"
	                       "  diagnostics: ipc:///tmp/steerd-diag\n"
	                       "  connection_file: /tmp/steerd.json\n"
	                       "  allow_remote: false\n"
	                       "diagnostics:\n"
	                       "  scalars_every: 0\n"
	                       "  arrays_every: 10\n"
	                       "  every: {phi: 5, phase_x: 1000, step: 7}\n"
	                       "  heartbeat_ms: 10\n"
	                       "  send_hwm: 1000000\n"
	                       "  indicators: [virtual_cathode, particles]\n"
	                       "limits:\n"
	                       "  max_message_bytes: 16777216\n"
	                       "log_level: debug\n");
	assert_true(cfg->start_paused);
	assert_int_equal(cfg->max_steps, 50000);
	assert_string_equal(cfg->control_endpoint, "tcp://[::1]:5555");
	assert_string_equal(cfg->diagnostics_endpoint, "ipc:///tmp/steerd-diag");
	assert_string_equal(cfg->connection_file, "/tmp/steerd.json");
	assert_int_equal(cfg->scalars_every, 0);
	assert_int_equal(cfg->arrays_every, 10);
	assert_int_equal(cfg->every[diag(cfg, "phi")], 5);
	assert_int_equal(cfg->every[diag(cfg, "phase_x")], 1000);
	assert_int_equal(cfg->every[diag(cfg, "step")], 7);
	assert_int_equal(cfg->every[diag(cfg, "efield")], 10);
	assert_int_equal(cfg->every[diag(cfg, "time")], 0);
	assert_int_equal(cfg->heartbeat_ms, 10);
	assert_int_equal(cfg->send_hwm, 1000000);
	assert_int_equal(cfg->n_indicators, 2);
	assert_string_equal(cfg->indicators[1], "particles");
	assert_int_equal(cfg->max_message_bytes, 16777216);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	config_destroy(&cfg);

	cfg = parse_ok(SIM "diagnostics:\n  indicators: []\nlog_level: error\n");
	assert_int_equal(cfg->n_indicators, 0);
	assert_int_equal(cfg->log_level, LOG_ERROR);
	config_destroy(&cfg);

	/* Remote binds, once allowed (the order of the keys does not matter). */
	cfg = parse_ok(SIM "endpoints:\n  control: tcp://0.0.0.0:5555\n"
	                   "  diagnostics: tcp://*:5556\n  allow_remote: true\n");
	assert_true(cfg->allow_remote);
	assert_string_equal(cfg->diagnostics_endpoint, "tcp://*:5556");
	config_destroy(&cfg);

	cfg = parse_ok(SIM "endpoints:\n  control: tcp://localhost:5555\n"
	                   "  diagnostics: tcp://127.1.2.3:*\n");
	config_destroy(&cfg);
	cfg = parse_ok(SIM "endpoints:\n  control: inproc://ctl\n  diagnostics: inproc://diag\n");
	config_destroy(&cfg);
}

/* ------------------------------------------------------------- values */

static void test_numbers(void **state)
{
	(void)state;
	config *cfg = parse_ok(SIM "  knobs:\n"
	                           "    gap: 1.0e-3\n"
	                           "    cells: 1e3\n"
	                           "    anode_voltage: -5\n"
	                           "    injected_current: +1500\n"
	                           "    injection_energy: .5\n"
	                           "    thermal_energy: 2.\n"
	                           "    seed: 0x10\n"
	                           "    phase_sample: 0o17\n"
	                           "    max_particles: !!int 12345\n"
	                           "    vc_threshold: !!float 1\n"
	                           "    emission: \"scl\"\n");
	assert_true(cfg->knobs[knob(cfg, "gap")].d == 1e-3);
	assert_int_equal(cfg->knobs[knob(cfg, "cells")].i, 1000);
	assert_true(cfg->knobs[knob(cfg, "anode_voltage")].d == -5.0);
	assert_true(cfg->knobs[knob(cfg, "injected_current")].d == 1500.0);
	assert_true(cfg->knobs[knob(cfg, "injection_energy")].d == 0.5);
	assert_true(cfg->knobs[knob(cfg, "thermal_energy")].d == 2.0);
	assert_int_equal(cfg->knobs[knob(cfg, "seed")].i, 16);
	assert_int_equal(cfg->knobs[knob(cfg, "phase_sample")].i, 15);
	assert_int_equal(cfg->knobs[knob(cfg, "max_particles")].i, 12345);
	assert_true(cfg->knobs[knob(cfg, "vc_threshold")].d == 1.0);
	assert_int_equal(cfg->knobs[knob(cfg, "emission")].i, 1);
	config_destroy(&cfg);

	cfg = parse_ok(SIM "diagnostics:\n  heartbeat_ms: 2e3\n");
	assert_int_equal(cfg->heartbeat_ms, 2000);
	config_destroy(&cfg);

	/*                 1234567890 */
	expect_err(SIM "  knobs:\n    gap: \"0.01\"\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: '0.01'\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: !!str 0.01\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: 1e\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: 1_000\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: 0x1p3\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: inf\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: [1]\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: {a: 1}\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap:\n", 4, 9, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: true\n", 4, 10, "gap must be a number");
	expect_err(SIM "  knobs:\n    gap: .inf\n", 4, 10, "gap must be a finite number");
	expect_err(SIM "  knobs:\n    gap: -.inf\n", 4, 10, "gap must be a finite number");
	expect_err(SIM "  knobs:\n    gap: .nan\n", 4, 10, "gap must be a finite number");
	expect_err(SIM "  knobs:\n    gap: 1e999\n", 4, 10, "1e999 is too large");
	expect_err(SIM "  knobs:\n    gap: -1\n", 4, 10, "gap = -1 is out of range [1e-06, 10] m");
	expect_err(SIM "  knobs:\n    gap: 11\n", 4, 10, "gap = 11 is out of range [1e-06, 10] m");
	expect_err(SIM "  knobs:\n    cells: 1.5\n", 4, 12, "cells must be an integer");
	expect_err(SIM "  knobs:\n    cells: 2\n", 4, 12, "cells = 2 is out of range [4, 1000000]");
	expect_err(SIM "  knobs:\n    cells: beam\n", 4, 12, "cells must be an integer");
	expect_err(SIM "  knobs:\n    cells: 99999999999999999999\n", 4, 12, "is too large");
	expect_err(SIM "  knobs:\n    cells: !!int 1.5\n", 4, 12, "'1.5' is not a valid !!int");
	expect_err(SIM "  knobs:\n    gap: !!float abc\n", 4, 10, "'abc' is not a valid !!float");
	expect_err(SIM "  knobs:\n    emission: bem\n", 4, 15,
	           "emission: 'bem' is not one of: beam, scl (did you mean 'beam'?)");
	expect_err(SIM "  knobs:\n    emission: 1\n", 4, 15, "emission must be one of: beam, scl");
	expect_err(SIM "  knobs:\n    emission: laser\n", 4, 15,
	           "emission: 'laser' is not one of: beam, scl");
	expect_err(SIM "endpoints:\n  allow_remote: yes\n", 4, 17,
	           "endpoints.allow_remote must be true or false");
	expect_err(SIM "endpoints:\n  allow_remote: !!bool maybe\n", 4, 17,
	           "'maybe' is not a valid !!bool");
	expect_err(SIM "run:\n  max_steps: -1\n", 4, 14, "run.max_steps = -1 is out of range [0, ");
	expect_err(SIM "run:\n  max_steps: 1.5\n", 4, 14, "run.max_steps must be an integer");
	expect_err(SIM "run:\n  start: pausd\n", 4, 10,
	           "run.start: 'pausd' is not one of: running, paused (did you mean 'paused'?)");
	expect_err(SIM "diagnostics:\n  heartbeat_ms: 5\n", 4, 17,
	           "diagnostics.heartbeat_ms = 5 is out of range [10, 60000]");
	expect_err(SIM "diagnostics:\n  heartbeat_ms: 60001\n", 4, 17,
	           "diagnostics.heartbeat_ms = 60001 is out of range [10, 60000]");
	expect_err(SIM "diagnostics:\n  send_hwm: 0\n", 4, 13,
	           "diagnostics.send_hwm = 0 is out of range [1, 1000000]");
	expect_err(SIM "diagnostics:\n  scalars_every: \"1\"\n", 4, 18,
	           "diagnostics.scalars_every must be an integer");
	expect_err(SIM "limits:\n  max_message_bytes: 1023\n", 4, 22,
	           "limits.max_message_bytes = 1023 is out of range [1024, 16777216]");
	expect_err(SIM "limits:\n  max_message_bytes: 1.6e8\n", 4, 22,
	           "limits.max_message_bytes = 1.6e+08 is out of range [1024, 16777216]");
	expect_err(SIM "log_level: verbose\n", 3, 12,
	           "log_level must be one of: error, warn, info, debug");
	expect_err(SIM "log_level: [info]\n", 3, 12, "log_level must be one of");
	expect_err(SIM "endpoints:\n  control: \"tcp://127.0.0.1:*\\0x\"\n", 4, 12,
	           "a NUL character is not allowed here");
}

/* ------------------------------------------------------------- structure */

static void test_structure(void **state)
{
	(void)state;
	expect_err("", 0, 0, "the file is empty");
	expect_err("# nothing\n\n   \n", 0, 0, "the file is empty");
	expect_err("---\n", 2, 1, "the top level must be a mapping"); /* one empty scalar */
	expect_err("- a\n- b\n", 1, 1, "the top level must be a mapping");
	expect_err("# x\n42\n", 2, 1, "the top level must be a mapping");
	expect_err("run:\n  start: paused\n", 1, 1, "the 'simulation' section is required");
	expect_err("simulation: pic1d\n", 1, 13, "simulation must be a mapping");
	expect_err("simulation:\n  knobs: {}\n", 2, 3, "simulation.adapter is required");
	expect_err("simulation:\n  adapter: 5\n", 2, 12, "simulation.adapter must be a string");
	expect_err("simulation:\n  adapter: \"\"\n", 2, 12, "simulation.adapter must not be empty");
	expect_err("simulation:\n  adapter: pic2d\n", 2, 12, "unknown adapter 'pic2d'");
	expect_err("simulation:\n  adapter: ./no/such/adapter.so\n", 2, 12, "cannot load adapter");
	expect_err(SIM "  knobs: 3\n", 3, 10, "simulation.knobs must be a mapping");
	expect_err(SIM "run: 3\n", 3, 6, "run must be a mapping");

	/* Unknown keys, with a suggestion when one is close. */
	expect_err(SIM "  knobs:\n    cels: 100\n", 4, 5,
	           "unknown key 'cels' in simulation.knobs (did you mean 'cells'?)");
	expect_err(SIM "  knobs:\n    zzz: 1\n", 4, 5,
	           "unknown key 'zzz' in simulation.knobs (knobs of pic1d: gap, cells,");
	expect_err("simulaton:\n  adapter: pic1d\n", 1, 1,
	           "unknown key 'simulaton' (did you mean 'simulation'?)");
	expect_err(SIM "logging: info\n", 3, 1, "unknown key 'logging' (expected one of: simulation,");
	expect_err(SIM "diagnostics:\n  heartbeat: 500\n", 4, 3,
	           "unknown key 'heartbeat' in diagnostics (did you mean 'heartbeat_ms'?)");
	expect_err("simulation:\n  adapter: pic1d\n  gap: 0.01\n", 3, 3,
	           "unknown key 'gap' in simulation (expected one of: adapter, knobs)");
	expect_err(SIM "diagnostics:\n  every: {phii: 3}\n", 4, 11,
	           "unknown diagnostic 'phii' in diagnostics.every (did you mean 'phi'?)");
	expect_err(SIM "diagnostics:\n  every: {phi: -3}\n", 4, 16,
	           "diagnostics.every.phi = -3 is out of range");
	expect_err(SIM "diagnostics:\n  every: [phi]\n", 4, 10,
	           "diagnostics.every must be a mapping");
	expect_err(SIM "? [a, b]\n: 1\n", 3, 3, "keys must be strings");

	/* Duplicate keys, at every level. */
	expect_err(SIM "  knobs:\n    gap: 0.01\n    gap: 0.02\n", 5, 5,
	           "duplicate key 'gap' in simulation.knobs (first given at line 4)");
	expect_err(SIM "run: {}\nrun: {}\n", 4, 1, "duplicate key 'run' (first given at line 3)");
	expect_err("simulation:\n  adapter: pic1d\n  adapter: pic1d\n", 3, 3, "duplicate key 'adapter'");
	expect_err(SIM "diagnostics:\n  every: {phi: 1, phi: 2}\n", 4, 19, "duplicate key 'phi'");
	expect_err(SIM "endpoints:\n  control: inproc://a\n  \"control\": inproc://b\n", 5, 3,
	           "duplicate key 'control'");

	/* Checkpoint policy. */
	expect_err(SIM "checkpoint:\n  every: 100\n", 4, 3, "unknown key 'every'");
	expect_err(SIM "checkpoint:\n  keep: 0\n", 4, 9, "out of range");

	/* Indicators. */
	expect_err(SIM "diagnostics:\n  indicators: [phi]\n", 4, 16,
	           "'phi' is an array; indicators must be scalar diagnostics");
	expect_err(SIM "diagnostics:\n  indicators: [virtual_cathod]\n", 4, 16,
	           "unknown diagnostic 'virtual_cathod' in diagnostics.indicators "
	           "(did you mean 'virtual_cathode'?)");
	expect_err(SIM "diagnostics:\n  indicators: [particles, particles]\n", 4, 27,
	           "'particles' is listed twice");
	expect_err(SIM "diagnostics:\n  indicators: virtual_cathode\n", 4, 15,
	           "diagnostics.indicators must be a list");
	expect_err(SIM "diagnostics:\n  indicators: [[a]]\n", 4, 16,
	           "diagnostics.indicators must be a string");
}

static void test_yaml_errors(void **state)
{
	(void)state;
	/* Syntax, with libyaml's problem text and mark. */
	expect_err("simulation:\n\tadapter: pic1d\n", 2, 1,
	           "found character that cannot start any token");
	expect_err(SIM "  knobs: {gap: 0.01\nrun:\n", 4, 4,
	           "did not find expected ',' or '}' (while parsing a flow mapping at 3:10)");
	expect_err(SIM "run:\n  start: paused\n bad: 1\n", 5, 2,
	           "did not find expected key");
	expect_err(SIM "log_level: \"info\n", 4, 1, "found unexpected end of stream");
	expect_err(SIM "a: b: c\n", 3, 5, "mapping values are not allowed in this context");
	/* Reader errors: the position is computed from the byte offset. */
	expect_err(SIM "log_level: in\xff" "fo\n", 3, 14, "invalid leading UTF-8 octet (byte 0xFF)");
	expect_err_(SIM "\0", sizeof SIM, 3, 1, "control characters are not allowed", __FILE__,
	            __LINE__);

	/* Several documents. */
	expect_err(SIM "---\nrun: {}\n", 3, 1, "only one YAML document is allowed");
	expect_err("---\n" SIM "...\n---\n" SIM, 5, 1, "only one YAML document is allowed");
	config *cfg = parse_ok("---\n" SIM "...\n"); /* one explicit document is fine */
	config_destroy(&cfg);

	/* Aliases, billion laughs. */
	expect_err(SIM "  knobs:\n    gap: &g 0.01\n    dt: *g\n", 5, 9, "aliases (*g) are not supported");
	expect_err("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	           "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" SIM,
	           2, 8, "aliases (*a) are not supported");
	cfg = parse_ok(SIM "  knobs:\n    gap: &g 0.01\n"); /* an unused anchor is harmless */
	config_destroy(&cfg);

	/* Tags. */
	expect_err(SIM "  knobs:\n    gap: !custom 1\n", 4, 10, "unsupported tag '!custom'");
	expect_err(SIM "  knobs:\n    gap: !!binary aGk=\n", 4, 10, "unsupported tag 'binary'");
	expect_err(SIM "run: !!set {a}\n", 3, 6, "unsupported tag 'set'");
	expect_err(SIM "run: !!str {}\n", 3, 6, "unsupported tag 'str'");
	expect_err("%TAG !e! tag:example.com,2000:\n---\n" SIM "log_level: !e!x info\n", 5, 12,
	           "unsupported tag 'tag:example.com,2000:x'");
	cfg = parse_ok(SIM "run: !!map {start: !!str paused}\nlog_level: ! debug\n");
	assert_true(cfg->start_paused);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	config_destroy(&cfg);

	/* Nesting. */
	char deep[256] = SIM "run: ";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect_err(deep, 3, 6 + 31, "nesting deeper than 32 levels");
}

static void test_endpoints(void **state)
{
	(void)state;
#define EP "endpoints:\n  control: "
	/* col of the value on line 4: 12 */
	expect_err(SIM EP "tcp://0.0.0.0:5555\n", 4, 12,
	           "endpoints.control: binding 0.0.0.0 without security is refused; "
	           "set endpoints.allow_remote: true to allow it");
	expect_err(SIM EP "tcp://*:5555\n  allow_remote: false\n", 4, 12, "binding * (every interface)");
	expect_err(SIM EP "tcp://eth0:5555\n", 4, 12, "binding eth0 without security");
	expect_err(SIM EP "tcp://10.1.2.3:*\n", 4, 12, "binding 10.1.2.3 without security");
	expect_err(SIM EP "tcp://[::]:*\n", 4, 12, "binding :: without security");
	expect_err(SIM "endpoints:\n  diagnostics: tcp://0.0.0.0:*\n", 4, 16,
	           "endpoints.diagnostics: binding 0.0.0.0");
	expect_err(SIM EP "http://127.0.0.1:80\n", 4, 12,
	           "endpoints.control: 'http://127.0.0.1:80' must start with tcp://, ipc:// or inproc://");
	expect_err(SIM EP "\"\"\n", 4, 12, "endpoints.control must not be empty");
	expect_err(SIM EP "5555\n", 4, 12, "endpoints.control must be a string");
	expect_err(SIM EP "tcp://127.0.0.1\n", 4, 12, "lacks a port");
	expect_err(SIM EP "tcp://127.0.0.1:0\n", 4, 12, "has a port that is neither");
	expect_err(SIM EP "tcp://127.0.0.1:70000\n", 4, 12, "has a port that is neither");
	expect_err(SIM EP "tcp://:5555\n", 4, 12, "lacks a host");
	expect_err(SIM EP "tcp://[::1:5555\n", 4, 12, "bracketed IPv6");
	expect_err(SIM EP "inproc://\n", 4, 12, "lacks a path or name");
	expect_err(SIM EP "\"tcp://127.0.0.1 :1\"\n", 4, 12, "must not contain spaces");
	expect_err(SIM "endpoints:\n  control: ipc:///tmp/s\n  diagnostics: ipc:///tmp/s\n", 5, 16,
	           "endpoints.control and endpoints.diagnostics are the same");
	expect_err(SIM "endpoints:\n  connection_file: \"\"\n", 4, 20,
	           "endpoints.connection_file must not be empty");

	char longep[400] = SIM EP "tcp://127.0.0.1:";
	size_t n = strlen(longep);
	memset(longep + n, '1', 300);
	strcpy(longep + n + 300, "\n");
	expect_err(longep, 4, 12, "endpoints.control is too long (316 characters; at most 256)");
#undef EP
}

/* ------------------------------------------------------------- schedule */

static void test_schedule(void **state)
{
	(void)state;
	config *cfg = parse_ok(SIM
	                       "schedule:\n"
	                       "  - at: 2000\n"
	                       "    ramp: {injected_current: {to: 3000, steps: 500}}\n"
	                       "  - at: 1000\n"
	                       "    set: {injected_current: 1500, anode_voltage: 900}\n"
	                       "  - at: 1000\n"
	                       "    ramp: {thermal_energy: {rate: 0.5, to: 2}}\n"
	                       "  - at: 0\n"
	                       "    set: {vc_threshold: 0.1}\n"
	                       "  - at: 2000\n"
	                       "    set: {anode_voltage: -100}\n");
	int j = knob(cfg, "injected_current"), v = knob(cfg, "anode_voltage");
	int t = knob(cfg, "thermal_energy"), vc = knob(cfg, "vc_threshold");
	assert_int_equal(cfg->n_schedule, 6);
	const sched_entry *s = cfg->schedule;
	assert_int_equal(s[0].at, 0);
	assert_int_equal(s[0].knob, vc);
	assert_true(s[0].value.d == 0.1);
	/* Equal `at`: in the order written, a set's knobs in their order. */
	assert_int_equal(s[1].at, 1000);
	assert_int_equal(s[1].kind, SCHED_SET);
	assert_int_equal(s[1].knob, j);
	assert_true(s[1].value.d == 1500);
	assert_int_equal(s[2].at, 1000);
	assert_int_equal(s[2].knob, v);
	assert_true(s[2].value.d == 900);
	assert_int_equal(s[3].at, 1000);
	assert_int_equal(s[3].kind, SCHED_RAMP);
	assert_int_equal(s[3].knob, t);
	assert_true(s[3].value.d == 2);
	assert_int_equal(s[3].steps, 0);
	assert_true(s[3].rate == 0.5);
	assert_int_equal(s[4].at, 2000);
	assert_int_equal(s[4].kind, SCHED_RAMP);
	assert_int_equal(s[4].knob, j);
	assert_true(s[4].value.d == 3000);
	assert_int_equal(s[4].steps, 500);
	assert_true(s[4].rate == 0);
	assert_int_equal(s[5].at, 2000);
	assert_int_equal(s[5].kind, SCHED_SET);
	assert_int_equal(s[5].knob, v);
	config_destroy(&cfg);

	/* A long reverse-ordered schedule sorts stably. */
	char *big = malloc(200000);
	assert_non_null(big);
	strcpy(big, SIM "schedule:\n");
	for (int i = 0; i < 2000; i++)
		sprintf(big + strlen(big), "  - {at: %d, set: {injected_current: %d}}\n",
		        (1999 - i) / 2, i);
	cfg = parse_ok(big);
	free(big);
	assert_int_equal(cfg->n_schedule, 2000);
	for (size_t i = 1; i < 2000; i++) {
		assert_true(cfg->schedule[i - 1].at <= cfg->schedule[i].at);
		if (cfg->schedule[i - 1].at == cfg->schedule[i].at)
			assert_true(cfg->schedule[i - 1].value.d < cfg->schedule[i].value.d);
	}
	config_destroy(&cfg);

#define SCH SIM "schedule:\n  - at: 10\n"
	/* line 5 holds the set/ramp; cols: "    set: {" value at 10, first key at 11 */
	expect_err(SCH "    set: {gap: 0.02}\n", 5, 11,
	           "gap is fixed (set once at start in simulation.knobs); it cannot be scheduled");
	expect_err(SCH "    ramp: {emission: {to: scl, steps: 3}}\n", 5, 12, "emission is fixed");
	expect_err(SCH "    set: {injected_curent: 1}\n", 5, 11,
	           "unknown key 'injected_curent' in schedule set (did you mean 'injected_current'?)");
	expect_err(SCH "    set: {injected_current: -1}\n", 5, 29,
	           "injected_current = -1 is out of range [0, 1e+09] A/m^2");
	expect_err(SCH "    set: {injected_current: x}\n", 5, 29, "injected_current must be a number");
	expect_err(SCH "    set: {injected_current: 1, injected_current: 2}\n", 5, 32,
	           "duplicate key 'injected_current' in schedule set");
	expect_err(SCH "    set: {}\n", 5, 10, "'set' must be a non-empty mapping");
	expect_err(SCH "    set: 5\n", 5, 10, "'set' must be a non-empty mapping");
	expect_err(SCH "    ramp: {anode_voltage: 5}\n", 5, 27, "the ramp of anode_voltage must be a mapping");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5}}\n", 5, 27,
	           "the ramp of anode_voltage needs exactly one of 'steps' or 'rate'");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, steps: 3, rate: 1}}\n", 5, 27,
	           "needs exactly one of 'steps' or 'rate'");
	expect_err(SCH "    ramp: {anode_voltage: {steps: 3}}\n", 5, 27,
	           "the ramp of anode_voltage needs 'to'");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, step: 3}}\n", 5, 35,
	           "unknown key 'step' in the ramp of anode_voltage (did you mean 'steps'?)");
	expect_err(SCH "    ramp: {anode_voltage: {to: 2e5, steps: 3}}\n", 5, 32,
	           "anode_voltage = 200000 is out of range [-100000, 100000] V");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, steps: 0}}\n", 5, 42,
	           "ramp steps = 0 is out of range [1, ");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, rate: 0}}\n", 5, 41,
	           "ramp rate must be > 0 (V units per step)");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, rate: -2}}\n", 5, 41, "ramp rate must be > 0");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, rate: .nan}}\n", 5, 41,
	           "ramp rate must be a finite number");
	expect_err(SCH "    ramp: {anode_voltage: {to: 5, steps: 3}}\n    set: {anode_voltage: 1}\n",
	           4, 5, "a schedule entry needs exactly one of 'set' or 'ramp'");
	expect_err(SCH, 4, 5, "a schedule entry needs exactly one of 'set' or 'ramp'");
	expect_err(SCH "    sett: {anode_voltage: 1}\n", 5, 5,
	           "unknown key 'sett' in a schedule entry (did you mean 'set'?)");
	expect_err(SIM "schedule:\n  - set: {anode_voltage: 1}\n", 4, 5,
	           "a schedule entry needs 'at'");
	expect_err(SIM "schedule:\n  - at: -1\n    set: {anode_voltage: 1}\n", 4, 9,
	           "schedule 'at' = -1 is out of range [0, ");
	expect_err(SIM "schedule:\n  - at: 1.5\n    set: {anode_voltage: 1}\n", 4, 9,
	           "schedule 'at' must be an integer");
	expect_err(SIM "schedule:\n  at: 1\n", 4, 3, "schedule must be a list");
	expect_err(SIM "schedule:\n  - 1000\n", 4, 5, "a schedule entry must be a mapping");
#undef SCH
}

/* An external adapter (.so): the example oscillator, when built next to this test. */
static const char *argv0;

static void test_external_adapter(void **state)
{
	(void)state;
	char so[4096];
	const char *slash = strrchr(argv0, '/');
	int dir = slash ? (int)(slash - argv0) : 1;
	snprintf(so, sizeof so, "%.*s/../examples/liboscillator.so", dir, slash ? argv0 : ".");
	if (access(so, R_OK) != 0) {
		print_message("# %s not built; skipped\n", so);
		skip();
	}
	char *yaml = malloc(8192);
	assert_non_null(yaml);
	snprintf(yaml, 8192,
	         "simulation:\n"
	         "  adapter: %s\n"
	         "  knobs: {damping: 0.5, dt: 1e-4}\n"
	         "schedule:\n"
	         "  - {at: 10, ramp: {omega0: {to: 1, rate: 0.1}}}\n",
	         so);
	config *cfg = parse_ok(yaml);
	assert_non_null(cfg->adapter->dl);
	assert_string_equal(cfg->adapter->sa->name, "oscillator");
	assert_true(cfg->knobs[knob(cfg, "damping")].d == 0.5);
	assert_true(cfg->knobs[knob(cfg, "dt")].d == 1e-4);
	assert_true(cfg->knobs[knob(cfg, "mass")].d == 1.0); /* default */
	assert_int_equal(cfg->n_indicators, 0); /* no virtual_cathode: none by default */
	assert_int_equal(cfg->every[diag(cfg, "history")], 100);
	assert_int_equal(cfg->n_schedule, 1);
	assert_true(cfg->schedule[0].rate == 0.1);
	config_destroy(&cfg);

	snprintf(yaml, 8192, "simulation:\n  adapter: %s\n  knobs: {cells: 3}\n", so);
	expect_err(yaml, 3, 11, "unknown key 'cells' in simulation.knobs (knobs of oscillator: dt,");
	snprintf(yaml, 8192, "simulation:\n  adapter: %s\n"
	                     "schedule:\n  - {at: 1, set: {mass: 2}}\n", so);
	expect_err(yaml, 4, 19, "mass is fixed");
	free(yaml);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diode),
		cmocka_unit_test(test_grounded_gap),
		cmocka_unit_test(test_bad_samples),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_security),
		cmocka_unit_test(test_security_files),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_settings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_external_adapter),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
