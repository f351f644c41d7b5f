# SPDX-License-Identifier: MIT
"""The contract has one source: steerd's command table (steerd --dump-commands).

Checked here against it: doc/protocol.schema.json (a request and a reply
definition per command, with the command's arguments), PROTOCOL.md (a heading
per command with its usage, the tables of error codes and events, every JSON
example valid against the definition it is marked with), `hello`, and the
console (every console command stands for a daemon command the table has, or
is one of the console's own, and its help shows the daemon's usage). Also:
hello's limits, cadences and run identity, and the error code of each
bad-argument case PROTOCOL.md lists. Every message is validated against the
schema by the harness itself.

When one of these fails after a wire change, the message names what to add
where (the schema definition, the PROTOCOL.md heading or table row).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jsonschema  # noqa: E402

from steerd_harness import (BIN, FAST_KNOBS, REPO, SCHEMA, DaemonTestCase, Steerd,  # noqa: E402
                            check_message, make_config, run_tests, wait_until)
from test_console import CONSOLE  # noqa: E402

PROTOCOL_MD = os.path.join(REPO, "PROTOCOL.md")
DEFS = SCHEMA["$defs"]
# The console's own commands: they stand for no single daemon command.
CONSOLE_ONLY = {"watch", "plot", "wait", "expect", "sleep", "echo", "events", "help", "quit",
                "monitor"}


def dump_commands():
    out = subprocess.run([BIN, "--dump-commands"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    return json.loads(out)


def protocol_md():
    with open(PROTOCOL_MD) as f:
        return f.read()


def section(text, heading):
    """The text from HEADING (a whole line) to the next heading of its level or above."""
    m = re.search(r"^%s\s*$" % re.escape(heading), text, re.M)
    assert m, "PROTOCOL.md has no heading %r" % heading
    level = len(heading) - len(heading.lstrip("#"))
    end = re.compile(r"^#{1,%d} " % level, re.M).search(text, m.end())
    return text[m.end():end.start() if end else len(text)]


def request_property_names(schema):
    """Every property name in a request definition, nested ones included."""
    names = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for v in schema.values():
            names |= request_property_names(v)
    elif isinstance(schema, list):
        for v in schema:
            names |= request_property_names(v)
    return names


class TableSchemaAndPage(unittest.TestCase):
    """The command table against doc/protocol.schema.json and PROTOCOL.md."""

    @classmethod
    def setUpClass(cls):
        cls.table = dump_commands()
        cls.names = [c["name"] for c in cls.table]

    def test_schema_is_draft_2020_12(self):
        self.assertEqual(SCHEMA["$schema"], "https://json-schema.org/draft/2020-12/schema")
        jsonschema.Draft202012Validator.check_schema(SCHEMA)

    def test_schema_has_each_command_and_no_other(self):
        problems = []
        for c in self.table:
            for kind in ("request", "reply"):
                if "%s.%s" % (kind, c["name"]) not in DEFS:
                    problems.append("command %r (steerd --dump-commands) has no %s.%s in "
                                    "doc/protocol.schema.json" % (c["name"], kind, c["name"]))
        for d in DEFS:
            kind, _, name = d.partition(".")
            if kind in ("request", "reply") and name not in self.names:
                problems.append("doc/protocol.schema.json defines %s but steerd has no command %r"
                                % (d, name))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_schema_arguments_are_the_table_arguments(self):
        problems = []
        for c in self.table:
            req = DEFS.get("request." + c["name"], {})
            have = set(req.get("properties", {}))
            if have != set(c["args"]):
                problems.append("request.%s takes %s in the schema, %s in the command table"
                                % (c["name"], sorted(have), sorted(c["args"])))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_usage_names_each_argument_and_nothing_else(self):
        problems = []
        for c in self.table:
            keys = set(re.findall(r'"([A-Za-z_]+)":', c["usage"]))
            known = request_property_names(DEFS.get("request." + c["name"], {}))
            for a in c["args"]:
                if a not in keys:
                    problems.append("%s: usage %s does not mention argument %r" % (c["name"], c["usage"], a))
            for k in keys - known:
                problems.append("%s: usage mentions %r, which the schema's request.%s does not have"
                                % (c["name"], k, c["name"]))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_protocol_md_has_a_heading_with_each_usage(self):
        text = protocol_md()
        headings = re.findall(r"^#### (.*)$", section(text, "### Commands"), re.M)
        documented = {}
        for h in headings:
            for name, usage in re.findall(r"`([a-z-]+)` — `([^`]*)`", h):
                documented[name] = usage
        problems = []
        for c in self.table:
            if c["name"] not in documented:
                problems.append("PROTOCOL.md has no heading \"#### `%s` — `%s`\"" % (c["name"], c["usage"]))
            elif documented[c["name"]] != c["usage"]:
                problems.append("PROTOCOL.md's heading for %s says `%s`, the command table `%s`"
                                % (c["name"], documented[c["name"]], c["usage"]))
        for name in documented:
            if name not in self.names:
                problems.append("PROTOCOL.md documents a command %r that steerd does not have" % name)
        self.assertEqual(problems, [], "\n".join(problems))

    def test_protocol_md_error_codes_are_the_schema_codes(self):
        rows = re.findall(r"^\| `([a-z_]+)`\s+\|", section(protocol_md(), "### Error codes"), re.M)
        schema_codes = [d.split(".", 1)[1] for d in DEFS if d.startswith("error.")]
        self.assertEqual(sorted(set(rows)), sorted(schema_codes),
                         "PROTOCOL.md's error code table against the schema's error.* definitions")

    def test_protocol_md_events_are_the_schema_events(self):
        text = section(protocol_md(), "## Diagnostics stream")
        table = text[text.index("Events:"):]
        names = set()
        for first_cell in re.findall(r"^\| ([^|]*)\|", table, re.M):
            names |= set(re.findall(r"`([a-z_]+)`", first_cell))
        schema_events = {d.split(".", 1)[1] for d in DEFS if d.startswith("event.")}
        self.assertEqual(sorted(names), sorted(schema_events),
                         "PROTOCOL.md's event table against the schema's event.* definitions")

    def test_every_json_example_in_protocol_md_is_valid(self):
        text = protocol_md()
        blocks = list(re.finditer(r"```json\n(.*?)```", text, re.S))
        self.assertGreater(len(blocks), 10)
        for m in blocks:
            line = text.count("\n", 0, m.start()) + 1
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = re.fullmatch(r"<!-- schema: ([A-Za-z0-9_.-]+) -->", before)
            with self.subTest(line=line):
                self.assertTrue(marker, "PROTOCOL.md line %d: a JSON example without "
                                "<!-- schema: DEFINITION --> on the line before" % line)
                try:
                    example = json.loads(m.group(1))
                except ValueError as e:
                    self.fail("PROTOCOL.md line %d: the example is not JSON: %s" % (line, e))
                check_message(marker.group(1), example, "PROTOCOL.md example at line %d" % line)


class Console(DaemonTestCase):
    """The console's commands against the daemon's table."""

    def test_each_console_command_stands_for_a_daemon_command(self):
        table = {c["name"]: c for c in dump_commands()}
        out = subprocess.run([CONSOLE, "--dump-commands"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        problems = []
        for e in json.loads(out):
            d = e.get("daemon")
            if d is None and e["name"] not in CONSOLE_ONLY:
                problems.append("console command %r stands for no daemon command and is not one of "
                                "the console's own %s" % (e["name"], sorted(CONSOLE_ONLY)))
            if d is not None and d not in table:
                problems.append("console command %r stands for daemon command %r, which steerd does "
                                "not have" % (e["name"], d))
            if e["name"] in table and d != e["name"]:
                problems.append("console command %r has a daemon command's name but stands for %r"
                                % (e["name"], d))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_console_help_shows_the_daemon_usage_and_summary(self):
        table = {c["name"]: c for c in dump_commands()}
        for name in ("search", "set", "checkpoint"):
            p = subprocess.run([CONSOLE, "-C", self.d.conn_path, "-e", "help " + name],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(table[name]["usage"], p.stdout, "help %s" % name)
            self.assertIn(table[name]["summary"], p.stdout, "help %s" % name)


class Hello(DaemonTestCase):
    def daemon_config(self):
        return {"knobs": FAST_KNOBS, "diagnostics": {"heartbeat_ms": 50, "send_hwm": 321,
                                                     "scalars_every": 2, "arrays_every": 40,
                                                     "every": {"phi": 7}},
                "extra": {"limits": {"max_message_bytes": 32768},
                          "checkpoint": {"directory": "ck"}}}

    def test_commands_are_the_table(self):
        self.assertEqual(self.c("hello")["commands"], dump_commands())

    def test_limits_cadences_and_checkpoint_directory(self):
        h = self.c("hello")
        self.assertEqual(h["max_message_bytes"], 32768)
        self.assertEqual(h["stream"]["heartbeat_ms"], 50)
        self.assertEqual(h["stream"]["send_hwm"], 321)
        self.assertEqual(h["stream"]["scalars_every"], 2)
        self.assertEqual(h["stream"]["arrays_every"]["phi"], 7)
        self.assertEqual(h["stream"]["arrays_every"]["rho"], 40)
        self.assertEqual(h["checkpoint_directory"], os.path.join(os.path.realpath(self.d.tmp), "ck"))
        self.assertIn("run_identity", h["capabilities"])

    def test_run_id_kept_by_restart_new_for_a_fresh_run(self):
        first = self.c("hello")
        self.assertIsNone(first["restart_step"])
        ck = self.c("checkpoint", {"name": "a.h5"})
        path = os.path.join(first["checkpoint_directory"], "a.h5")
        self.assertTrue(os.path.exists(path), ck)
        self.d.stop()

        again = self.start_daemon(config=self.d.config_text, args=["--restart", path])
        h = again.client()("hello")
        self.assertEqual(h["run_id"], first["run_id"], "--restart continues the run")
        self.assertNotEqual(h["start_id"], first["start_id"], "a new process")
        self.assertEqual(h["restart_step"], ck["step"])
        again.stop()

        fresh = self.start_daemon(config=self.d.config_text)
        h = fresh.client()("hello")
        self.assertNotEqual(h["run_id"], first["run_id"], "a fresh run is another run")
        self.assertIsNone(h["restart_step"])
        fresh.stop()

        # A checkpoint from before run ids (no /steerd run_id): restarts, with a new run id.
        import h5py
        old = os.path.join(self.d.tmp, "old.h5")
        shutil.copy(path, old)
        with h5py.File(old, "r+") as f:
            del f["steerd"].attrs["run_id"]
        older = self.start_daemon(config=self.d.config_text, args=["--restart", old])
        h = older.client()("hello")
        self.assertNotEqual(h["run_id"], first["run_id"])
        self.assertEqual(h["restart_step"], ck["step"])


class ErrorCodes(DaemonTestCase):
    """PROTOCOL.md's table of error codes per case, case by case."""
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_bad_argument_cases(self):
        ic = "injected_current"
        cases = [
            ("step", {"n": 0}, "bad_argument"),
            ("step", {"n": 2 ** 50 + 1}, "bad_argument"),
            ("step", {"n": 1.5}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": ic, "to": 5, "steps": 0}]}, "bad_argument"),
            ("ramp", {"ramps": []}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": ic, "to": 5, "steps": 3, "rate": 1}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": ic, "to": 5, "steps": 3, "duration": 1e-9}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": ic, "to": 5, "duration": 0}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": ic, "to": 5, "steps": 3}, {"knob": ic, "to": 6, "steps": 3}]},
             "bad_argument"),
            ("ramp", {"ramps": [{"knob": "nope", "to": 5, "steps": 3}]}, "unknown_name"),
            ("ramp", {"ramps": [{"knob": "gap", "to": 0.02, "steps": 3}]}, "fixed_knob"),
            ("search", {"knob": ic, "from": 1, "to": 2, "until": "virtual_cathode", "hold": 5,
                        "hold_time": 1e-9}, "bad_argument"),
            ("search", {"knob": ic, "from": 1, "to": 2}, "bad_argument"),
            ("search", {"knob": ic, "from": 2, "to": 1, "until": "virtual_cathode"}, "bad_argument"),
            ("search", {"knob": ic, "from": 1, "to": 2, "until": "virtual_cathode >"}, "bad_argument"),
            ("search", {"knob": ic, "from": 1, "to": 2, "until": "no_such_thing"}, "unknown_name"),
            ("search", {"knob": ic, "from": 1, "to": 2, "until": "phi > 1"}, "bad_argument"),
            ("search", {"knob": ic, "from": -1, "to": 2, "until": "virtual_cathode"}, "out_of_range"),
            ("cancel", {"search": True}, "unknown_name"),
            ("cancel", {"id": 99}, "unknown_name"),
            ("cancel", {"knob": ic}, "unknown_name"),
            ("get", {"names": ["phi"]}, "bad_argument"),
            ("get", {"names": ["no_such_thing"]}, "unknown_name"),
        ]
        for cmd, body, code in cases:
            with self.subTest(cmd=cmd, body=body):
                self.assertEqual(self.c.error(cmd, body), code)
        self.assertEqual(self.c("cancel", {})["cancelled"], [], "cancel {} with no ramps is not an error")

    def test_ramp_duration_range(self):
        ic = "injected_current"
        # 1e6 s at 2 ps per step is 5e17 steps, past 2^53: refused, and no ramp of
        # the request starts (the first one was fine).
        self.assertEqual(self.c.error("ramp", {"ramps": [
            {"knob": "anode_voltage", "to": 900, "duration": 1e-9},
            {"knob": ic, "to": 5, "duration": 1e6}]}), "bad_argument")
        self.assertEqual(self.c("ramps")["ramps"], [])
        r = self.c("ramp", {"ramps": [{"knob": ic, "to": 5, "duration": 1e-9}]})["ramps"][0]
        # At step 0 too: pic1d states its dt (a diagnostic), 2 ps.
        self.assertEqual(self.c.status()["step"], 0)
        self.assertEqual(r["end_step"] - r["start_step"], 500)  # 1 ns

    def test_ramp_duration_without_dt(self):
        """The oscillator states no dt diagnostic: before its first step a
        duration has no time per step (bad_argument); after it, time / steps."""
        so = os.path.join(os.path.dirname(os.path.dirname(BIN)), "examples", "liboscillator.so")
        if not os.path.exists(so):
            self.skipTest("no %s" % so)
        d = self.start_daemon(config={
            "simulation": {"adapter": so, "knobs": {"dt": 1e-3}},
            "run": {"start": "paused", "max_steps": 0},
            "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"}})
        c = d.client()
        ramp = {"ramps": [{"knob": "damping", "to": 0.5, "duration": 0.01}]}
        self.assertEqual(c.error("ramp", ramp), "bad_argument")
        c.step_and_wait(1)
        r = c("ramp", ramp)["ramps"][0]
        self.assertEqual(r["end_step"] - r["start_step"], 10)

    def test_total_queued_steps_limit(self):
        self.assertEqual(self.c("step", {"n": 2 ** 50})["until"], 2 ** 50)
        # The run is now stepping through its queue, which cannot empty meanwhile: with
        # anything still queued, another 2^50 passes the total.
        self.assertEqual(self.c.error("step", {"n": 2 ** 50}), "bad_argument")
        self.assertEqual(self.c("pause")["state"], "paused")  # drops the queue
        r = self.c("step", {"n": 2 ** 50})
        self.assertEqual(r["until"] - r["step"], 2 ** 50)

    def test_retry_key_format(self):
        for bad in ("", "x" * 65, "a\tb", 5, None):
            with self.subTest(key=bad):
                self.assertEqual(self.c.error("status", header_extra={"retry_key": bad}), "bad_request")

    def test_error_replies_are_not_kept_for_a_retry_key(self):
        self.c("resume")
        self.assertEqual(self.c.error("step", {"n": 2}, header_extra={"retry_key": "s1"}), "bad_state")
        self.c("pause")
        r = self.c("step", {"n": 2}, header_extra={"retry_key": "s1"})
        self.assertEqual(r["until"] - r["step"], 2, "checked afresh, and applied once paused")
        # ...and now it is kept: the repeat gets the same reply.
        self.assertEqual(self.c("step", {"n": 2}, header_extra={"retry_key": "s1"}), r)

    def test_a_key_reused_for_another_request(self):
        first = self.c("set", {"values": {"injected_current": 1100}}, header_extra={"retry_key": "k"})
        self.assertEqual(self.c.error("set", {"values": {"injected_current": 1200}},
                                      header_extra={"retry_key": "k"}), "bad_request")
        self.assertEqual(self.c.error("pause", {}, header_extra={"retry_key": "k"}), "bad_request")
        self.assertEqual(self.c.get1("injected_current"), 1100.0, "nothing else applied")
        # The first request again: its first reply.
        self.assertEqual(self.c("set", {"values": {"injected_current": 1100}},
                                header_extra={"retry_key": "k"}), first)

    def test_routing_prefix_of_16_frames_at_most(self):
        raw = self.d.client("raw")

        def ask(n_extra):
            """A DEALER request behind n_extra routing frames (the ROUTER adds the identity)."""
            raw.send_raw([b"hop%d" % i for i in range(n_extra)] +
                         [b"", json.dumps({"cmd": "status", "id": n_extra}).encode(), b"{}"])
            frames = raw.recv_raw()
            return frames, json.loads(frames[-2]), json.loads(frames[-1])

        frames, header, _ = ask(14)  # identity + 14 + delimiter = 16
        self.assertTrue(header["ok"], header)
        self.assertEqual(frames[:15], [b"hop%d" % i for i in range(14)] + [b""],
                         "the prefix comes back whole, delimiter included")
        frames, header, body = ask(15)  # 17
        self.assertEqual(len(frames), 2, "answered on the connection itself, without the prefix")
        self.assertFalse(header["ok"])
        self.assertEqual(body["error"]["code"], "bad_request")
        self.assertEqual((header["id"], header["cmd"]), (None, None), "the header is not read")

    def test_a_cancelled_search_ends_with_a_valid_event(self):
        """search_finished after a cancel: knob, error, steps, probes (a count), as the schema says."""
        sub = self.d.subscriber("event.search")
        rid = self.c.next_id()
        self.c.send_raw([b"", json.dumps({"cmd": "search", "id": rid, "client": "tester"}).encode(),
                         json.dumps({"knob": "injected_current", "from": 100, "to": 300,
                                     "until": "virtual_cathode", "hold": 10 ** 7}).encode()])
        sub.event("search_started")
        self.d.client("other")("cancel", {"search": True})
        ev = sub.event("search_finished")
        self.assertIn("error", ev.header)
        self.assertIsInstance(ev["probes"], int)
        header, body = self.c.recv_reply(want_id=rid)
        self.assertEqual(body["error"]["code"], "refused")


if __name__ == "__main__":
    run_tests(TableSchemaAndPage, Console, Hello, ErrorCodes)
