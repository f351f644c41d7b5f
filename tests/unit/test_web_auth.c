/* SPDX-License-Identifier: MIT */
/* test_web_auth.c — steer-web's checks: Host and Origin, cookies, revocation, browser commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "webcmd.h"

static const char ALICE[] = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

static void host_names_loopback_or_allowed(void **state)
{
	(void)state;
	static auth a;
	webcfg cfg = {0};
	assert_int_equal(auth_init(&a, &cfg), 0);
	const char *good[] = {"localhost", "localhost:8080", "LOCALHOST:1", "127.0.0.1:8080",
	                      "127.9.8.7", "[::1]:8080", "[::1]"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(auth_host_ok(&a, good[i]));
	const char *bad[] = {"", ":8080", "evil.example", "evil.example:8080", "127.0.0.1.evil.example",
	                     "localhost.evil.example", "localhost:80x", "[::2]:80", "10.0.0.1:8080",
	                     "[::1", "localhost:8080:1", "0x7f000001"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(auth_host_ok(&a, bad[i]));
	snprintf(a.hosts[a.n_hosts++], sizeof a.hosts[0], "lab.example");
	assert_true(auth_host_ok(&a, "lab.example:8080"));
	assert_true(auth_origin_ok("http://localhost:8080", "localhost:8080"));
	assert_false(auth_origin_ok("http://localhost:8081", "localhost:8080"));
	assert_false(auth_origin_ok("https://localhost:8080", "localhost:8080"));
	assert_false(auth_origin_ok("null", "localhost:8080"));
	assert_false(auth_origin_ok(NULL, "localhost:8080"));
}

static void tokens_cookies_and_revocation(void **state)
{
	(void)state;
	static auth a;
	webcfg cfg = {0};
	snprintf(cfg.ops[0].name, sizeof cfg.ops[0].name, "alice");
	snprintf(cfg.ops[0].token, sizeof cfg.ops[0].token, "%s", ALICE);
	cfg.n_ops = 1;
	assert_int_equal(auth_init(&a, &cfg), 0);
	assert_null(auth_exchange(&a, "nope"));
	assert_null(auth_exchange(&a, ""));
	const web_session *obs = auth_exchange(&a, a.observer_token);
	assert_non_null(obs);
	assert_int_equal(obs->role, ROLE_OBSERVER);
	char obs_id[AUTH_ID_LEN + 1];
	snprintf(obs_id, sizeof obs_id, "%s", obs->id);
	const web_session *op = auth_exchange(&a, ALICE);
	assert_non_null(op);
	assert_int_equal(op->role, ROLE_OPERATOR);
	assert_string_equal(op->name, "alice");
	char op_id[AUTH_ID_LEN + 1];
	snprintf(op_id, sizeof op_id, "%s", op->id);
	char header[512];
	snprintf(header, sizeof header, "x=1; steer-web-8080=%s; y=2", op_id);
	assert_ptr_equal(auth_from_cookie(&a, header, "steer-web-8080"), auth_lookup(&a, op_id));
	assert_null(auth_from_cookie(&a, header, "steer-web-9090"));
	snprintf(header, sizeof header, "steer-web-8080=%.63s", op_id);
	assert_null(auth_from_cookie(&a, header, "steer-web-8080"));
	/* alice removed: her session ends, the observer's stays */
	webcfg none = {0};
	assert_int_equal(auth_reload(&a, &none), 1);
	assert_null(auth_lookup(&a, op_id));
	assert_non_null(auth_lookup(&a, obs_id));
	assert_null(auth_exchange(&a, ALICE));
}

static json_t *hello(void)
{
	json_t *h = json_loads(
		"{\"knobs\": [{\"name\": \"injected_current\", \"type\": \"double\", \"runtime\": true},"
		"            {\"name\": \"gap\", \"type\": \"double\", \"runtime\": false}],"
		" \"commands\": [{\"name\": \"set\", \"changes\": true, \"args\": [\"values\"]},"
		"              {\"name\": \"pause\", \"changes\": true, \"args\": []},"
		"              {\"name\": \"shutdown\", \"changes\": true, \"args\": []},"
		"              {\"name\": \"hello\", \"changes\": false, \"args\": []}]}",
		0, NULL);
	assert_non_null(h);
	return h;
}

static const char *check(json_t *h, bool op, const char *text)
{
	json_t *msg = json_loads(text, 0, NULL);
	assert_non_null(msg);
	const char *cmd, *code = NULL;
	json_t *body;
	char why[256];
	int rc = webcmd_check(h, op, msg, &cmd, &body, &code, why, sizeof why);
	json_decref(body);
	json_decref(msg);
	return rc == 0 ? "ok" : code;
}

static void browser_commands_checked(void **state)
{
	(void)state;
	json_t *h = hello();
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":{\"values\":{\"injected_current\":5}}}"), "ok");
	assert_string_equal(check(h, false, "{\"cmd\":\"set\",\"body\":{\"values\":{\"injected_current\":5}}}"), "forbidden");
	assert_string_equal(check(h, false, "{\"cmd\":\"pause\"}"), "forbidden");
	assert_string_equal(check(h, true, "{\"cmd\":\"pause\"}"), "ok");
	assert_string_equal(check(h, true, "{\"cmd\":\"pause\",\"body\":{\"x\":1}}"), "bad_argument");
	assert_string_equal(check(h, true, "{\"cmd\":\"shutdown\"}"), "unknown_command");
	assert_string_equal(check(h, true, "{\"cmd\":\"hello\"}"), "unknown_command");
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":{\"values\":{\"gap\":1}}}"), "fixed_knob");
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":{\"values\":{\"nope\":1}}}"), "unknown_name");
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":{\"values\":{\"injected_current\":[1]}}}"), "bad_argument");
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":[]}"), "bad_request");
	assert_string_equal(check(h, true, "{\"cmd\":\"set\",\"body\":{\"values\":{\"injected_current\":\"\\u0001\"}}}"), "bad_argument");
	json_decref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_names_loopback_or_allowed),
		cmocka_unit_test(tokens_cookies_and_revocation),
		cmocka_unit_test(browser_commands_checked),
	};
	return cmocka_run_group_tests_name("web_auth", tests, NULL, NULL);
}
