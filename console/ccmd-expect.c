/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-expect.c — `expect EXPR`: check a condition once, now; fail the script if false. */
#include "ccmd.h"
#include "expr.h"

static int expect_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)argv;
	if (argc < 2)
		return ccmd_usage(c, &ccmd_expect_entry);
	expr e;
	char err[512];
	if (expr_parse(c, rest, &e, err, sizeof err) < 0)
		return con_error(c, "expect: %s", err);
	json_t *r;
	if (con_call(c, "get", json_pack("{s:o}", "names", expr_names(&e)), &r) < 0) {
		expr_free(&e);
		return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(r, "values"), key, v)
		expr_update(&e, key, v);
	json_decref(r);
	int rc = 0;
	if (!expr_eval(&e)) {
		char vals[512];
		expr_describe(c, &e, vals, sizeof vals);
		rc = con_error(c, "expect %s failed: %s", rest, vals);
	}
	expr_free(&e);
	return rc;
}

const ccmd_entry ccmd_expect_entry = {
	.name = "expect",
	.usage = "NAME OP VALUE [and|or NAME OP VALUE ...]   (OP: == != < <= > >=)",
	.summary = "check a condition now; a script stops with an error when it is false",
	.exec = expect_exec,
	.complete = CC_NAMES,
};
