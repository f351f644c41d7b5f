/* SPDX-License-Identifier: MIT */
/*
 * test_units.c — values as text (PROTOCOL.md, "Values as text"): every case
 * of tests/data/units.tsv through quantity_parse (which steer-console uses)
 * and through the config loader (`anode_voltage: 1 kV`, errors at
 * file:line:col). The Python package is tested against the same table.
 * Run from the top of the tree.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "quantity.h"

#define TABLE "tests/data/units.tsv"

typedef struct row {
	char text[128], unit[32];
	int error;       /* expected: refused */
	double value;    /* else this, in unit */
	int line;
} row;

/* The table's rows (comments and blank lines skipped). */
static size_t read_table(row *rows, size_t max)
{
	FILE *f = fopen(TABLE, "r");
	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", TABLE);
	char buf[512];
	size_t n = 0;
	int line = 0;
	while (fgets(buf, sizeof buf, f)) {
		line++;
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == '#' || (buf[0] == '\0'))
			continue;
		char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2 || strchr(t2 + 1, '\t'))
			fail_msg("%s:%d: not three TAB-separated columns", TABLE, line);
		assert_true(n < max);
		row *r = &rows[n++];
		*t1 = *t2 = '\0';
		if (strlen(buf) >= sizeof r->text || strlen(t1 + 1) >= sizeof r->unit)
			fail_msg("%s:%d: text or unit too long", TABLE, line);
		memcpy(r->text, buf, strlen(buf) + 1);
		memcpy(r->unit, strcmp(t1 + 1, "-") ? t1 + 1 : "", strcmp(t1 + 1, "-") ? strlen(t1 + 1) + 1 : 1);
		r->error = !strcmp(t2 + 1, "error");
		r->value = r->error ? 0 : strtod(t2 + 1, NULL);
		r->line = line;
	}
	fclose(f);
	assert_true(n >= 40);
	return n;
}

static int close_to(double got, double want)
{
	return fabs(got - want) <= 1e-12 * fabs(want);
}

static void test_quantity_table(void **state)
{
	(void)state;
	static row rows[256];
	size_t n = read_table(rows, 256);
	for (size_t i = 0; i < n; i++) {
		const row *r = &rows[i];
		double v = NAN;
		char err[256] = "";
		int rc = quantity_parse(r->text, r->unit, &v, err, sizeof err);
		if (r->error && rc == 0)
			fail_msg("%s:%d: \"%s\" in \"%s\" accepted as %.17g, expected an error", TABLE,
			         r->line, r->text, r->unit, v);
		if (!r->error && (rc != 0 || !close_to(v, r->value)))
			fail_msg("%s:%d: \"%s\" in \"%s\": got %s %.17g, expected %.17g", TABLE, r->line,
			         r->text, r->unit, rc ? err : "", v, r->value);
		if (rc != 0 && !err[0])
			fail_msg("%s:%d: refused without a message", TABLE, r->line);
	}
}

/* A pic1d knob of each unit of the table. */
static const char *knob_of_unit(const char *unit)
{
	static const char *const map[][2] = {
		{ "A/m^2", "injected_current" }, { "V", "anode_voltage" }, { "m", "gap" },
		{ "s", "dt" }, { "eV", "injection_energy" }, { "", "vc_threshold" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(map[i][0], unit))
			return map[i][1];
	return NULL;
}

/* `KNOB: TEXT` unquoted in a config: the value the table says (out of the
 * knob's range: refused as such), or an error at the value's line:col. */
static void test_config_table(void **state)
{
	(void)state;
	static row rows[256];
	size_t n = read_table(rows, 256);
	for (size_t i = 0; i < n; i++) {
		const row *r = &rows[i];
		const char *name = knob_of_unit(r->unit);
		if (!name) {
			fail_msg("%s:%d: no pic1d knob in \"%s\" to test the config with", TABLE, r->line,
			         r->unit);
			continue;
		}
		char yaml[512], err[512] = "";
		assert_true(strlen(r->text) < 200);
		snprintf(yaml, sizeof yaml, "simulation:\n  adapter: pic1d\n  knobs:\n    %.40s: %.200s\n", name,
		         r->text);
		config *cfg = NULL;
		int rc = config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof err);
		char where[64];
		/* The value's column; an empty value (null) is placed before it. */
		snprintf(where, sizeof where, "t.yaml:4:%zu: ", strlen(name) + (r->text[0] ? 7 : 6));
		if (rc == 0) {
			const sa_knob *kn = &cfg->adapter->sa->knobs[adapter_knob_index(cfg->adapter->sa, name)];
			double v = cfg->knobs[adapter_knob_index(cfg->adapter->sa, name)].d;
			config_destroy(&cfg);
			if (r->error || !close_to(v, r->value))
				fail_msg("%s:%d: config %s: %s gave %.17g, expected %s", TABLE, r->line, name,
				         r->text, v, r->error ? "an error" : "the table's value");
			assert_true(v >= kn->min && v <= kn->max);
			continue;
		}
		if (strncmp(err, where, strlen(where)) != 0)
			fail_msg("%s:%d: config error '%s' is not at '%s'", TABLE, r->line, err, where);
		if (!r->error && !strstr(err, "out of range"))
			fail_msg("%s:%d: config %s: %s refused (%s), expected %.17g", TABLE, r->line, name,
			         r->text, err, r->value);
	}
}

/* The same in a schedule's set, and a quoted string stays a string. */
static void test_config_forms(void **state)
{
	(void)state;
	const char *yaml = "simulation:\n  adapter: pic1d\n  knobs: {anode_voltage: 1.2 kV, gap: 5 mm}\n";
	config *cfg = NULL;
	char err[512] = "";
	if (config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	const sa_adapter *sa = cfg->adapter->sa;
	assert_true(close_to(cfg->knobs[adapter_knob_index(sa, "anode_voltage")].d, 1200.0));
	assert_true(close_to(cfg->knobs[adapter_knob_index(sa, "gap")].d, 5e-3));
	config_destroy(&cfg);
	yaml = "simulation:\n  adapter: pic1d\n  knobs:\n    anode_voltage: \"1 kV\"\n";
	assert_int_equal(config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.yaml:4:20: anode_voltage must be a number"));
	yaml = "simulation:\n  adapter: pic1d\n  knobs:\n    anode_voltage: 1 kA\n";
	assert_int_equal(config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.yaml:4:20: anode_voltage must be a number, in V"));
	assert_non_null(strstr(err, "unit \"kA\" is not V"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantity_table),
		cmocka_unit_test(test_config_table),
		cmocka_unit_test(test_config_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
