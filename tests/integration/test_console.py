# SPDX-License-Identifier: MIT
"""steer-console in script mode (-e, -f, stdin) against a real steerd:
values with SI prefixes and units, ramps and waits, expect, --json, exit
status and error messages. The interactive side is in test_console_tmux.py.

Run: STEERD_BUILD=build/con /usr/bin/python3 tests/integration/test_console.py
"""
import json
import os
import signal
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from steerd_harness import (BIN, BUILD, FAST_KNOBS, REPO, DaemonTestCase, run_tests)  # noqa: E402

CONSOLE = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD),
                       "bin", "steer-console")
# libzmq's own leak at a racy exit, suppressed narrowly (see the file).
LSAN_CONSOLE = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan-console.supp")

# Bounds, not expectations: a loaded machine running an ASan build is slow.
RUN_TIMEOUT = 60


class ConsoleTestCase(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS}

    def console(self, *args, stdin=None, timeout=RUN_TIMEOUT, conn=True, name="script"):
        """Run steer-console; returns (exit status, stdout, stderr)."""
        cmd = [CONSOLE] + (["-C", self.d.conn_path] if conn else []) + ["--name", name] + list(args)
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1", LSAN_OPTIONS=LSAN_CONSOLE))
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.console(*args, **kw)
        self.assertEqual(rc, 0, "steer-console %s failed (%d):\n%s%s" % (args, rc, out, err))
        self.assertNotIn("Sanitizer", err)
        return out

    def fails(self, *args, **kw):
        rc, out, err = self.console(*args, **kw)
        self.assertNotEqual(rc, 0, "steer-console %s should fail:\n%s%s" % (args, out, err))
        self.assertNotIn("Sanitizer", err)
        return out, err

    def json_get(self, *names):
        out = self.ok("--json", "-e", "get " + " ".join(names))
        return json.loads(out.strip().splitlines()[-1])["values"]


class ScriptValues(ConsoleTestCase):
    def test_set_with_si_prefix_and_unit(self):
        for text, want in [("1.2 kA/m^2", 1200.0), ("1.5kA/m^2", 1500.0), ("1.1k", 1100.0),
                           ("2e3", 2000.0), ("900", 900.0), ("0.8 kA/m^2", 800.0)]:
            self.ok("-e", "set injected_current " + text)
            self.assertAlmostEqual(self.json_get("injected_current")["injected_current"], want,
                                   msg="set injected_current %s" % text)

    def test_milli_without_unit_and_unit_metre_rules(self):
        self.ok("-e", "set vc_threshold 500m")
        self.assertAlmostEqual(self.json_get("vc_threshold")["vc_threshold"], 0.5)
        self.ok("-e", "set vc_threshold 20m")
        self.assertAlmostEqual(self.json_get("vc_threshold")["vc_threshold"], 0.02)

    def test_several_knobs_in_one_set(self):
        out = self.ok("-e", "set injected_current 1.3k anode_voltage 1.05 kV")
        self.assertRegex(out, r"injected_current\s+=\s+1300\s+A/m\^2")
        self.assertRegex(out, r"anode_voltage\s+=\s+1050\s+V")
        v = self.json_get("injected_current", "anode_voltage")
        self.assertEqual(v, {"injected_current": 1300.0, "anode_voltage": 1050.0})

    def test_wrong_unit_is_an_error(self):
        _, err = self.fails("-e", "set injected_current 5 V")
        self.assertIn("unit", err)
        self.assertIn("A/m^2", err)
        self.assertEqual(self.json_get("injected_current")["injected_current"], 1000.0)

    def test_human_get_shows_units(self):
        out = self.ok("-e", "get injected_current anode_voltage")
        self.assertRegex(out, r"injected_current\s+1000\s+A/m\^2")
        self.assertRegex(out, r"anode_voltage\s+1000\s+V")


class ScriptErrors(ConsoleTestCase):
    def test_error_reply_gives_nonzero_exit(self):
        _, err = self.fails("-e", "set injected_current -1")
        self.assertIn("out_of_range", err)

    def test_fixed_knob_refused(self):
        _, err = self.fails("-e", "set gap 2 mm")
        self.assertIn("fixed_knob", err)

    def test_stops_at_first_error(self):
        out, err = self.fails("-e", "echo one; set injected_current -1; echo two")
        self.assertIn("one", out)
        self.assertNotIn("two", out)

    def test_unknown_command(self):
        _, err = self.fails("-e", "frobnicate 3")
        self.assertIn("unknown command", err)

    def test_mistyped_knob_gets_a_suggestion(self):
        _, err = self.fails("-e", "set injcted_current 1.2k")
        self.assertIn('unknown knob "injcted_current"; did you mean injected_current?', err)
        _, err = self.fails("-e", "ramp anode_votage 1.1k steps 10")
        self.assertIn("did you mean anode_voltage?", err)
        _, err = self.fails("-e", "wait until j_transmited > 1 timeout 1s")
        self.assertIn("did you mean j_transmitted?", err)
        _, err = self.fails("-e", "set zzzzzzzz 1")
        self.assertIn('unknown knob "zzzzzzzz"', err)
        self.assertNotIn("did you mean", err)

    def test_daemon_suggests_too(self):
        """The daemon's own error message (any client) names the closest name."""
        out, _ = self.fails("--json", "-e", "get j_reflectd")
        body = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(body["error"]["code"], "unknown_name")
        self.assertIn("did you mean j_reflected?", body["error"]["message"])
        _, reply = self.c.request("set", {"values": {"injcted_current": 5}})
        self.assertEqual(reply["error"]["code"], "unknown_name")
        self.assertIn("did you mean injected_current?", reply["error"]["message"])

    def test_expect_failure_names_line_and_values(self):
        path = os.path.join(self.d.tmp, "check.steer")
        with open(path, "w") as f:
            f.write("# a script\nstatus\nexpect injected_current > 1.5k\necho not reached\n")
        out, err = self.fails("-f", path)
        self.assertRegex(err, r"steer-console: line 3: expect injected_current > 1.5k failed: "
                              r"injected_current = 1000 A/m\^2")
        self.assertNotIn("not reached", out)

    def test_expect_success(self):
        self.ok("-e", "expect injected_current == 1 kA/m^2 and anode_voltage >= 1000")
        self.ok("-e", "expect injected_current > 1e6 or anode_voltage < 2 kV")

    def test_json_error_body_is_printed(self):
        out, err = self.fails("--json", "-e", "get no_such_name")
        body = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(body["error"]["code"], "unknown_name")

    def test_version(self):
        out = self.ok("--version", conn=False)
        self.assertRegex(out, r"^steer-console \d+\.\d+\.\d+ \(protocol 1\)\n$")

    def test_dead_daemon_fails_at_once(self):
        """kill -9 leaves the connection file behind: the console says at once
        that nothing listens there and that the file's pid is gone, instead of
        waiting out three request timeouts."""
        conn = self.d.conn_path
        self.d.proc.kill()
        self.d.proc.wait(30)
        rc, out, err = self.console("-C", conn, "--timeout", "60s", "-e", "status", conn=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("nothing is listening there", err)
        self.assertIn("pid %d, named in %s, is not running" % (self.d.pid, conn), err)
        self.assertNotIn("no reply", err)

    def test_frozen_daemon_fails_after_timeout(self):
        """A daemon that accepts connections but does not answer (SIGSTOP)."""
        os.kill(self.d.pid, signal.SIGSTOP)
        try:
            rc, out, err = self.console("--timeout", "300ms", self.d.conn["control"], "-e",
                                        "status", conn=False)
        finally:
            os.kill(self.d.pid, signal.SIGCONT)
        self.assertNotEqual(rc, 0)
        self.assertIn("no reply", err)


class ScriptJson(ConsoleTestCase):
    def test_each_reply_one_json_line(self):
        out = self.ok("--json", "-e", "status; params; get injected_current; ramps")
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 4, out)
        bodies = [json.loads(x) for x in lines]
        self.assertIn(bodies[0]["state"], ("running", "paused"))
        self.assertTrue(any(k["name"] == "injected_current" for k in bodies[1]["knobs"]))
        self.assertEqual(bodies[2]["values"]["injected_current"], 1000.0)
        self.assertEqual(bodies[3]["ramps"], [])

    def test_set_reply(self):
        out = self.ok("--json", "-e", "set injected_current 1.25k")
        body = json.loads(out)
        self.assertEqual(body["applied"], {"injected_current": 1250.0})
        self.assertIsInstance(body["step"], int)

    def test_stdin_script(self):
        out = self.ok("--json", stdin="# from a pipe\nget anode_voltage\n\nget injected_current\n")
        self.assertEqual([list(json.loads(x)["values"]) for x in out.strip().splitlines()],
                         [["anode_voltage"], ["injected_current"]])

    def test_endpoint_instead_of_connection_file(self):
        out = self.ok(self.d.conn["control"], "--json", "-e",
                      "hello; wait until j_injected > 0 timeout 30s", conn=False)
        hello = json.loads(out.strip().splitlines()[0])
        self.assertEqual(hello["diagnostics_endpoint"], self.d.conn["diagnostics"])


class ScriptWaits(ConsoleTestCase):
    def test_ramp_then_wait_steps(self):
        out = self.ok("-e", "ramp anode_voltage 1.1 kV steps 50; wait steps 60; "
                            "expect anode_voltage == 1100 V")
        self.assertRegex(out, r"ramp \d+: anode_voltage 1000 V -> 1100 V")

    def test_ramp_by_rate_and_ramps_table(self):
        out = self.ok("-e", "ramp vc_threshold 0.5 rate 1n; ramps; cancel vc_threshold")
        self.assertRegex(out, r"vc_threshold\s+0\.01\s+0\.5")
        self.assertRegex(out, r"cancelled ramp \d+")

    def test_ramp_over_a_simulated_time(self):
        """`over 1ns`: the daemon turns simulated time into steps (dt = 2 ps here)."""
        out = self.ok("--json", "-e", "ramp anode_voltage 1.1 kV over 1ns; "
                                      "ramp vc_threshold 0.5 over 2 ns injected_current 1.1k over 300")
        first, second = [json.loads(x)["ramps"] for x in out.strip().splitlines()]
        spans = {r["knob"]: r["end_step"] - r["start_step"] for r in first + second}
        self.assertEqual(spans, {"anode_voltage": 500, "vc_threshold": 1000, "injected_current": 300})
        out = self.ok("-e", "ramp anode_voltage 1.2 kV over 10 ps")
        self.assertRegex(out, r"ramp \d+: anode_voltage [\d.]+ V -> 1200 V, steps (\d+)\.\.")

    def test_ramp_over_checks_its_time(self):
        _, err = self.fails("-e", "ramp anode_voltage 1.1 kV over 5m")
        self.assertIn("expected steps (an integer) or a simulated time", err)
        _, err = self.fails("-e", "ramp anode_voltage 1.1 kV over 0ns")
        self.assertIn("positive", err)
        # 1e6 s is 5e17 steps of 2 ps: the daemon's range check.
        _, err = self.fails("-e", "ramp anode_voltage 1.1 kV over 1e6 s")
        self.assertIn("bad_argument", err)
        self.assertEqual(self.json_get("anode_voltage")["anode_voltage"], 1000.0)

    def test_wait_until_succeeds(self):
        self.ok("-e", "ramp vc_threshold 0.2 steps 100; "
                      "wait until vc_threshold >= 200m timeout 30s; "
                      "wait until j_injected > 0 and particles > 0 timeout 30s")

    def test_wait_until_times_out(self):
        out, err = self.fails("-e", "wait until injected_current > 1e9 timeout 300ms; echo after")
        self.assertRegex(err, r"wait until injected_current > 1e9: timed out after 0\.3 s "
                              r"\(injected_current = 1000 A/m\^2\)")
        self.assertNotIn("after", out)

    def test_bad_condition_is_a_parse_error(self):
        _, err = self.fails("-e", "wait until no_such_thing > 3 timeout 1s")
        self.assertIn("unknown name", err)
        _, err = self.fails("-e", "expect injected_current > 3 V")
        self.assertIn("unit", err)


class ScriptPaused(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_step_and_wait_while_paused(self):
        out = self.ok("--json", "-e", "status; step 25; wait steps 25; status")
        first, stepped, last = [json.loads(x) for x in out.strip().splitlines()]
        self.assertEqual(first["state"], "paused")
        self.assertEqual(stepped["until"], first["step"] + 25)
        self.assertGreaterEqual(last["step"], first["step"] + 25)

    def test_pause_resume(self):
        out = self.ok("-e", "resume; pause; status")
        self.assertIn("running at step", out)
        self.assertIn("paused at step", out)

    def test_help_lists_console_and_daemon_commands(self):
        out = self.ok("-e", "help")
        for name in ("set", "ramp", "wait", "expect", "watch", "plot"):
            self.assertRegex(out, r"(?m)^%s\s" % name)
        out = self.ok("-e", "help ramp")
        self.assertIn("usage: ramp KNOB TO", out)

    def test_passthrough_of_daemon_command_body(self):
        # A body starting with '{' goes through as JSON, for any daemon command;
        # the pass-through path refuses a bad body before sending it.
        _, err = self.fails("-e", "checkpoint {1, 2}")
        self.assertIn("JSON object", err)
        out = self.ok("--json", "-e", 'get {"names": ["anode_voltage"]}')
        self.assertEqual(json.loads(out)["values"], {"anode_voltage": 1000.0})


def readme_console_lines():
    """Every line of README.md's ```steer-console blocks: (README line number, text)."""
    lines, inside = [], False
    with open(os.path.join(REPO, "README.md")) as f:
        for number, text in enumerate(f, 1):
            text = text.rstrip("\n")
            if text.startswith("```"):
                inside = text == "```steer-console"
            elif inside and text.strip():
                lines.append((number, text))
    return lines


# README console lines that need a terminal (they own the screen until a key):
# run in test_console_tmux.py's way, not in script mode. Named by command word.
README_INTERACTIVE = {"watch", "plot"}


class NativeForms(ConsoleTestCase):
    """Every daemon command has a console form of its own (not JSON), and
    README's console lines run as they are shown."""

    def test_every_daemon_command_has_a_console_form(self):
        daemon = json.loads(subprocess.run([BIN, "--dump-commands"], capture_output=True,
                                           text=True, timeout=30, check=True).stdout)
        console = json.loads(self.ok("--dump-commands", conn=False))
        forms = {e["daemon"] for e in console if e.get("daemon")}
        self.assertEqual(sorted(c["name"] for c in daemon if c["name"] not in forms), [],
                         "daemon commands the console only passes through as JSON")

    def test_checkpoint_snapshot_state_rewind(self):
        out = self.ok("-e", "checkpoint before.h5; snapshot-state clean; set injected_current 3k; "
                            "rewind clean; expect injected_current == 1k; checkpoint")
        path = os.path.join(os.path.realpath(self.d.tmp), "before.h5")
        self.assertIn("checkpoint %s written at step" % path, out)
        self.assertTrue(os.path.exists(path))
        self.assertRegex(out, r"state kept as clean at step \d+")
        self.assertRegex(out, r"rewound to clean: step \d+ -> \d+")
        self.assertRegex(out, r"checkpoint \S+/ckpt_\d{20}_step\d+\.h5 written")

    def test_named_forms_check_their_arguments(self):
        _, err = self.fails("-e", "rewind")
        self.assertIn("usage: rewind NAME", err)
        _, err = self.fails("-e", "snapshot-state a b")
        self.assertIn("usage: snapshot-state NAME", err)
        _, err = self.fails("-e", "rewind never_kept")
        self.assertIn("unknown_name", err)
        _, err = self.fails("-e", "checkpoint ../escape.h5")
        self.assertIn("bad_argument", err)

    def test_json_body_still_accepted(self):
        out = self.ok("--json", "-e", 'snapshot-state {"name": "j"}; rewind {"name": "j"}; '
                                      'checkpoint {"name": "j.h5"}')
        saved, rewound, ck = [json.loads(x) for x in out.strip().splitlines()]
        self.assertEqual((saved["name"], rewound["name"]), ("j", "j"))
        self.assertTrue(ck["path"].endswith("/j.h5"))

    def test_readme_console_lines_run(self):
        """Each line of README's steer-console blocks, in order, as one script
        against a real steerd; the lines that need a terminal are listed above."""
        lines = readme_console_lines()
        self.assertGreaterEqual(len(lines), 15, "README.md has no ```steer-console blocks?")
        words = {e["name"] for e in json.loads(self.ok("--dump-commands", conn=False))}
        script, where = [], {}
        for number, text in lines:
            cmds = [c.split()[0] for c in re.sub(r"(^|\s)#.*", "", text).split(";") if c.strip()]
            for word in cmds:
                self.assertIn(word, words, "README.md line %d: %r is no console command"
                              % (number, text))
            if README_INTERACTIVE.intersection(cmds):
                continue
            script.append(text)
            where[len(script)] = number
        path = os.path.join(self.d.tmp, "readme.steer")
        with open(path, "w") as f:
            f.write("\n".join(script) + "\n")
        rc, out, err = self.console("-f", path)
        m = re.search(r"line (\d+):", err)
        self.assertEqual(rc, 0, "README.md line %s failed:\n%s%s"
                         % (where.get(int(m.group(1))) if m else "?", out, err))
        self.assertNotIn("Sanitizer", err)
        # The tour's rewind undid its `set injected_current 3k`.
        self.assertRegex(out, r"injected_current\s+=\s+3000\s+A/m\^2\napplied at step \d+\n"
                              r"rewound to clean: step \d+ -> \d+\n")
        self.assertRegex(out, r"until virtual_cathode == 1: reached at step \d+")


class ScriptDropState(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_drop_state(self):
        self.c("snapshot-state", {"name": "a"})
        out = self.ok("-e", "drop-state a")
        self.assertIn("dropped state a (of step 0), 0 kept", out)
        _, err = self.fails("-e", "drop-state a")
        self.assertIn("unknown_name", err)
        out = self.ok("-e", "help drop-state")
        self.assertIn("usage: drop-state NAME", out)


if __name__ == "__main__":
    run_tests(ScriptValues, ScriptErrors, ScriptJson, ScriptWaits, ScriptPaused, NativeForms,
              ScriptDropState)
