# SPDX-License-Identifier: MIT
"""Control channel: every command, atomic sets, ramps, several clients,
REQ/DEALER/proxied framing, and bad input of every kind (PROTOCOL.md)."""
import json
import os
import sys

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (DaemonTestCase, check_error_reply,  # noqa: E402
                            run_tests, wait_until)

COMMANDS = {"hello", "status", "params", "get", "set", "ramp", "ramps", "cancel", "pause",
            "resume", "step", "snapshot", "shutdown", "checkpoint", "snapshot-state", "rewind",
            "drop-state", "search", "history"}
WRITES = {"set", "ramp", "cancel", "pause", "resume", "step", "shutdown", "checkpoint",
          "snapshot-state", "rewind", "drop-state", "search"}
RUNTIME_KNOBS = {"injected_current", "anode_voltage", "injection_energy", "thermal_energy",
                 "vc_threshold"}


def close(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


class TestCommands(DaemonTestCase):
    config = {"start": "paused"}

    def test_hello_schema(self):
        h, r = self.c.call("hello", id="hello-1")
        self.assertEqual(h, {"protocol": 1, "id": "hello-1", "cmd": "hello", "ok": True})
        self.assertEqual(r["protocol"], 1)
        self.assertEqual(r["server"], "steerd")
        self.assertEqual(r["version"], self.d.conn["version"])
        self.assertEqual(r["adapter"]["name"], "pic1d")
        for k in ("version", "description"):
            self.assertIsInstance(r["adapter"][k], str)
        self.assertEqual(r["diagnostics_endpoint"], self.d.conn["diagnostics"])
        self.assertEqual(r["state"], "paused")
        self.assertEqual(r["step"], 0)

        knobs = {k["name"]: k for k in r["knobs"]}
        for k in r["knobs"]:
            for key in ("name", "type", "unit", "description", "runtime", "default", "value"):
                self.assertIn(key, k, k)
            self.assertIn(k["type"], ("double", "int", "bool", "enum"))
            self.assertIsInstance(k["runtime"], bool)
            if k["type"] in ("double", "int"):
                self.assertLessEqual(k["min"], k["value"])
                self.assertLessEqual(k["value"], k["max"])
            if k["type"] == "enum":
                self.assertIn(k["value"], k["choices"])
            if k["type"] == "int":
                self.assertIsInstance(k["value"], int)
        self.assertEqual({n for n, k in knobs.items() if k["runtime"]}, RUNTIME_KNOBS)
        ic = knobs["injected_current"]
        self.assertEqual((ic["type"], ic["unit"], ic["runtime"], ic["min"], ic["max"], ic["value"]),
                         ("double", "A/m^2", True, 0.0, 1e9, 1000.0))
        self.assertEqual((knobs["gap"]["unit"], knobs["gap"]["runtime"]), ("m", False))
        self.assertEqual((knobs["cells"]["type"], knobs["cells"]["value"]), ("int", 200))
        self.assertEqual(knobs["emission"]["type"], "enum")
        self.assertEqual(knobs["emission"]["choices"], ["beam", "scl"])
        self.assertEqual(knobs["anode_voltage"]["unit"], "V")
        self.assertEqual(knobs["injection_energy"]["unit"], "eV")

        diags = {d["name"]: d for d in r["diagnostics"]}
        self.assertEqual(diags["phi"]["rank"], 1)
        self.assertEqual(diags["phi"]["unit"], "V")
        self.assertEqual(diags["phi"]["axis"], "x")
        self.assertEqual(diags["x"]["rank"], 1)
        self.assertEqual(diags["virtual_cathode"]["rank"], 0)
        for dg in r["diagnostics"]:
            self.assertIn(dg["rank"], (0, 1))
            if "axis" in dg:
                self.assertIn(dg["axis"], diags)
                self.assertEqual(diags[dg["axis"]]["rank"], 1)

        cmds = {c["name"]: c for c in r["commands"]}
        self.assertEqual(set(cmds), COMMANDS)
        for name, c in cmds.items():
            self.assertIsInstance(c["usage"], str)
            self.assertTrue(c["summary"])
            self.assertIs(c["changes"], name in WRITES, name)
            self.assertTrue(c["usage"].startswith("{"), c["usage"])
        self.assertEqual(cmds["set"]["usage"], '{"values": {KNOB: VALUE, ...}}')

    def test_status(self):
        h, s = self.c.call("status", id=42)
        self.assertEqual((h["id"], h["cmd"], h["ok"], h["protocol"]), (42, "status", True, 1))
        for k in ("adapter", "state", "step", "time", "steps_per_second", "steps_left", "ramps", "seq"):
            self.assertIn(k, s)
        self.assertEqual((s["adapter"], s["state"], s["step"], s["steps_left"], s["ramps"]),
                         ("pic1d", "paused", 0, 0, 0))
        self.assertIsInstance(s["seq"], int)
        self.c.step_and_wait(10)
        s = self.c.status()
        self.assertEqual(s["step"], 10)
        self.assertTrue(close(s["time"], 10 * 2e-12), s["time"])

    def test_params(self):
        p = self.c("params")
        hello = {k["name"]: k for k in self.c("hello")["knobs"]}
        self.assertEqual(p["step"], 0)
        self.assertEqual([k["name"] for k in p["knobs"]], list(hello))
        for k in p["knobs"]:
            h = hello[k["name"]]
            self.assertEqual((k["value"], k["unit"], k["runtime"]), (h["value"], h["unit"], h["runtime"]))

    def test_get_knobs_and_scalars(self):
        self.c.step_and_wait(5)
        r = self.c("get", {"names": ["injected_current", "cells", "emission", "particles", "step",
                                     "virtual_cathode", "time"]})
        self.assertEqual(r["step"], 5)
        v = r["values"]
        self.assertEqual(set(v), {"injected_current", "cells", "emission", "particles", "step",
                                  "virtual_cathode", "time"})
        self.assertEqual(v["injected_current"], 1000.0)
        self.assertEqual(v["cells"], 200)
        self.assertIsInstance(v["cells"], int)
        self.assertEqual(v["emission"], "beam")
        self.assertEqual(v["step"], 5.0)
        self.assertGreater(v["particles"], 0)
        self.assertEqual(v["virtual_cathode"], 0.0)
        self.assertTrue(close(v["time"], r["time"]))
        # a rank-1 diagnostic exists but is not a scalar (PROTOCOL.md: bad_argument);
        # an unknown name is unknown_name
        self.assertEqual(self.c.error("get", {"names": ["phi"]}), "bad_argument")
        self.assertEqual(self.c.error("get", {"names": ["injected_current", "nope"]}), "unknown_name")

    def test_set(self):
        h, r = self.c.call("set", {"values": {"injected_current": 1500}})
        self.assertEqual(h["cmd"], "set")
        self.assertEqual(r, {"step": 0, "applied": {"injected_current": 1500.0}})
        self.assertEqual(self.c.get1("injected_current"), 1500.0)
        self.assertEqual(self.c.knobs()["injected_current"], 1500.0)
        self.c.step_and_wait(3)
        self.assertEqual(self.c.get1("injected_current"), 1500.0)

    def test_pause_resume(self):
        ev = self.d.subscriber("event.")
        r = self.c("resume")
        self.assertEqual(r["state"], "running")
        self.assertEqual(ev.event("resumed")["client"], "tester")
        self.c.wait_step(r["step"] + 50)
        self.assertEqual(self.c.status()["state"], "running")
        self.assertEqual(self.c("resume")["state"], "running")  # not an error
        p = self.c("pause")
        self.assertEqual(p["state"], "paused")
        e = ev.event("paused")
        self.assertEqual((e["client"], e["step"]), ("tester", p["step"]))
        for _ in range(3):
            s = self.c.status()
            self.assertEqual((s["state"], s["step"]), ("paused", p["step"]))
        self.assertEqual(self.c("pause"), {"step": p["step"], "state": "paused"})
        # reads and writes keep working while paused
        self.assertEqual(self.c("set", {"values": {"anode_voltage": 900}})["step"], p["step"])
        self.assertEqual(self.c.get1("anode_voltage"), 900.0)

    def test_step_while_paused(self):
        ev = self.d.subscriber("event.")
        s0 = self.c.status()["step"]
        r = self.c("step", {"n": 100})
        self.assertEqual(r["until"], s0 + 100)
        e = ev.event("stepping")
        self.assertEqual((e["steps"], e["until"], e["client"]), (100, s0 + 100, "tester"))
        wait_until(lambda: self.c.status()["steps_left"] == 0, what="steps_left == 0")
        s = self.c.status()
        self.assertEqual((s["step"], s["state"], s["steps_left"]), (s0 + 100, "paused", 0))
        # default n = 1
        r = self.c("step")
        self.assertEqual(r["until"], s0 + 101)
        wait_until(lambda: self.c.status()["step"] == s0 + 101, what="one more step")
        s = self.c.status()
        self.assertEqual((s["step"], s["state"]), (s0 + 101, "paused"))
        # still there after more round trips: it stays paused
        self.assertEqual(self.c.get("step")["step"], s0 + 101.0)
        self.assertEqual(self.c.status()["step"], s0 + 101)

    def test_step_queues_add_up(self):
        s0 = self.c.status()["step"]
        self.c("step", {"n": 2000})
        r = self.c("step", {"n": 30})
        self.assertEqual(r["until"], s0 + 2030)
        wait_until(lambda: self.c.status()["steps_left"] == 0, what="steps_left == 0")
        self.assertEqual(self.c.status()["step"], s0 + 2030)

    def test_step_while_running_is_bad_state(self):
        self.c("resume")
        before = self.c.status()
        self.assertEqual(self.c.error("step", {"n": 5}), "bad_state")
        s = self.c.status()
        self.assertEqual((s["state"], s["steps_left"]), ("running", 0))
        self.assertGreaterEqual(s["step"], before["step"])

    def test_snapshot(self):
        self.c("set", {"values": {"injection_energy": 120}})
        self.c.step_and_wait(7)
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1200, "steps": 100}]})
        snap = self.c("snapshot")
        for k in ("seq", "state", "step", "time", "steps_left", "knobs", "ramps", "scalars"):
            self.assertIn(k, snap)
        self.assertEqual((snap["state"], snap["step"], snap["steps_left"]), ("paused", 7, 0))
        self.assertEqual(snap["knobs"], self.c.knobs())
        self.assertEqual(snap["knobs"]["injection_energy"], 120.0)
        self.assertEqual(snap["ramps"], self.c("ramps")["ramps"])
        self.assertEqual([x["id"] for x in snap["ramps"]], [r["ramps"][0]["id"]])
        self.assertEqual(snap["scalars"]["step"], 7.0)
        scalars = [d["name"] for d in self.c("hello")["diagnostics"] if d["rank"] == 0]
        self.assertEqual(set(snap["scalars"]), set(scalars))
        # heartbeats are numbered even with no subscriber: seq only grows
        self.assertLessEqual(snap["seq"], self.c.status()["seq"])

    def test_ramps_and_cancel(self):
        ev = self.d.subscriber("event.")
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1100, "steps": 50},
                                      {"knob": "injected_current", "to": 2000, "steps": 40},
                                      {"knob": "injection_energy", "to": 50, "rate": 1}]})
        ids = {x["knob"]: x["id"] for x in r["ramps"]}
        self.assertEqual(len(set(ids.values())), 3)
        for x in r["ramps"]:
            self.assertEqual((x["start_step"], x["progress"], x["client"]), (0, 0.0, "tester"))
            e = ev.event("ramp_started", id=x["id"])
            for k in ("knob", "from", "to", "start_step", "end_step", "client"):
                self.assertEqual(e[k], x[k], k)
        self.assertEqual(r["ramps"][2]["end_step"], 50)  # ceil(|50 - 100| / 1)
        self.c.step_and_wait(10)
        lst = self.c("ramps")
        self.assertEqual(lst["step"], 10)
        self.assertEqual({x["id"] for x in lst["ramps"]}, set(ids.values()))
        prog = {x["knob"]: x["progress"] for x in lst["ramps"]}
        self.assertTrue(close(prog["anode_voltage"], 10 / 50), prog)
        self.assertTrue(close(prog["injected_current"], 10 / 40), prog)
        self.assertEqual(self.c.status()["ramps"], 3)

        before = self.c.get("anode_voltage", "injected_current", "injection_energy")
        r = self.c("cancel", {"id": ids["anode_voltage"]})
        self.assertEqual(r, {"step": 10, "cancelled": [ids["anode_voltage"]]})
        e = ev.event("ramp_cancelled")
        self.assertEqual((e["id"], e["knob"], e["value"], e["client"]),
                         (ids["anode_voltage"], "anode_voltage", before["anode_voltage"], "tester"))
        r = self.c("cancel", {"knob": "injected_current"})
        self.assertEqual(r["cancelled"], [ids["injected_current"]])
        self.assertEqual([x["knob"] for x in self.c("ramps")["ramps"]], ["injection_energy"])
        self.assertEqual(self.c.error("cancel", {"id": ids["anode_voltage"]}), "unknown_name")
        self.assertEqual(self.c.error("cancel", {"knob": "anode_voltage"}), "unknown_name")
        r = self.c("cancel", {})
        self.assertEqual(r["cancelled"], [ids["injection_energy"]])
        self.assertEqual(self.c("ramps")["ramps"], [])
        self.assertEqual(self.c("cancel", {})["cancelled"], [])
        # knobs keep the value they had
        self.assertEqual(self.c.get("anode_voltage", "injected_current", "injection_energy"), before)
        self.c.step_and_wait(20)
        self.assertEqual(self.c.get("anode_voltage", "injected_current", "injection_energy"), before)

    def test_shutdown(self):
        ev = self.d.subscriber("event.")
        self.c("resume")
        h, r = self.c.call("shutdown", id="bye")
        self.assertEqual((h["ok"], h["id"]), (True, "bye"))
        self.assertIsInstance(r["step"], int)
        e = ev.event("shutting_down")
        self.assertIsInstance(e["reason"], str)
        self.d.expect_clean_exit()

    def test_writes_after_shutdown(self):
        # writes pipelined behind a shutdown are refused with shutting_down.
        # (Requests still queued when steerd closes its socket may get no reply
        # at all, so only the replies that do come are checked.)
        for i, (cmd, body) in enumerate((("shutdown", {}), ("set", {"values": {"injected_current": 5}}),
                                         ("pause", {}), ("step", {"n": 3}))):
            self.c.send_raw([b"", json.dumps({"cmd": cmd, "id": i}).encode(), json.dumps(body).encode()])
        got = {}
        h, r = self.c.recv_reply(want_id=0)
        self.assertTrue(h["ok"], r)
        self.d.expect_clean_exit()
        while self.c.sock.poll(200):
            f = self.c.recv_raw()
            h, r = json.loads(f[1]), json.loads(f[2])
            got[h["id"]] = (h, r)
        for i, (h, r) in got.items():
            check_error_reply(h, r)
            self.assertEqual(r["error"]["code"], "shutting_down")


class TestStepsPerSecond(DaemonTestCase):
    """status.steps_per_second counts steps computed over the last 0.5-1 s of
    wall time: sane across a rewind (the step count goes back), 0 when paused."""
    config = {"start": "running"}

    def test_rate_across_rewind_and_pause(self):
        import time
        st = wait_until(lambda: (lambda s: s["steps_per_second"] > 0 and s)(self.c.status()),
                        what="a rate while running")
        self.assertLess(st["steps_per_second"], 1e8)
        self.c("snapshot-state", {"name": "back"})
        # go back further than the run steps in a second
        self.c.wait_step(st["step"] + max(200, int(2 * st["steps_per_second"])))
        r = self.c("rewind", {"name": "back"})
        self.assertLess(r["step"], r["from_step"])
        # watch for longer than the rate's window (1 s): it must never wrap
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            rate = self.c.status()["steps_per_second"]
            self.assertTrue(0 <= rate < 1e8, rate)
        self.c("pause")
        wait_until(lambda: self.c.status()["steps_per_second"] == 0.0, what="rate 0 when paused")
        self.c.step_and_wait(3)


class TestWritesInFlight(DaemonTestCase):
    """Writes waiting for the simulation thread are bounded (64): during a
    long step the excess is answered `busy` at once (PROTOCOL.md)."""
    autostart = False
    LIMIT = 64

    def test_excess_writes_are_busy(self):
        from steerd_harness import BUILD, REPO
        slow = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), "bench", "libslow.so")
        self.assertTrue(os.path.exists(slow), "%s missing (make tests-build)" % slow)
        d = self.start_daemon(config="simulation:\n  adapter: %s\n  knobs: {step_ms: 0}\n"
                                     "run: {start: running}\n"
                                     "endpoints: {control: 'tcp://127.0.0.1:*', diagnostics: 'tcp://127.0.0.1:*'}\n"
                                     "diagnostics: {heartbeat_ms: 50}\n" % slow)
        c = d.client("tester")
        # the step after this boundary takes 5 s: the writes below pile up behind it
        c("set", {"values": {"step_ms": 5000}})
        n = 3 * self.LIMIT
        for i in range(n):
            c.sock.send_multipart([b"", json.dumps({"cmd": "set", "id": i, "client": "tester",
                                                    "retry_key": "k%d" % i}).encode(),
                                   json.dumps({"values": {"step_ms": 0}}).encode()])
        replies = [c.recv_reply(timeout=60) for _ in range(n)]
        busy = [h["id"] for h, b in replies if not h["ok"]]
        ok = [h["id"] for h, b in replies if h["ok"]]
        self.assertEqual(len(busy) + len(ok), n)
        self.assertGreaterEqual(len(busy), n - self.LIMIT - 1, "writes in flight not bounded")
        self.assertTrue(busy and ok)
        # the busy ones were answered at once, before the long step ended
        self.assertFalse(replies[0][0]["ok"])
        for h, b in replies:
            if not h["ok"]:
                check_error_reply(h, b)
                self.assertEqual(b["error"]["code"], "busy")
                self.assertIn("retry", b["error"]["message"])
        # a busy write changed nothing and its retry_key is not kept: retried, it applies
        h, b = c.request("set", {"values": {"step_ms": 0}}, header_extra={"retry_key": "k%d" % busy[-1]})
        self.assertTrue(h["ok"], b)
        # an applied one is remembered as before
        first = dict((h["id"], b) for h, b in replies)[ok[0]]
        h, b = c.request("set", {"values": {"step_ms": 0}}, header_extra={"retry_key": "k%d" % ok[0]})
        self.assertEqual(b, first)


class TestAtomicSet(DaemonTestCase):
    config = {"start": "running"}

    def test_multi_knob_set_one_step(self):
        ev = self.d.subscriber("event.")
        alice = self.d.client("alice")
        h, r = alice.call("set", {"values": {"injected_current": 1500, "anode_voltage": 900}})
        self.assertEqual(r["applied"], {"injected_current": 1500.0, "anode_voltage": 900.0})
        got = {}
        while len(got) < 2:
            e = ev.event("knob_changed")
            got[e["knob"]] = e
        self.assertEqual(set(got), {"injected_current", "anode_voltage"})
        for knob, old, new in (("injected_current", 1000.0, 1500.0), ("anode_voltage", 1000.0, 900.0)):
            e = got[knob]
            self.assertEqual((e["step"], e["old"], e["new"], e["client"], e["event"]),
                             (r["step"], old, new, "alice", "knob_changed"))
        self.assertEqual(self.c.get("injected_current", "anode_voltage"),
                         {"injected_current": 1500.0, "anode_voltage": 900.0})

    def test_multi_set_with_one_bad_value_changes_nothing(self):
        self.c("pause")
        ev = self.d.subscriber("event.")
        names = sorted(RUNTIME_KNOBS)
        before = self.c.get(*names)
        for values, code in (
                ({"injected_current": 1500, "anode_voltage": 1e6}, "out_of_range"),
                ({"anode_voltage": 1e6, "injected_current": 1500}, "out_of_range"),
                ({"injected_current": 1500, "vc_threshold": 2}, "out_of_range"),
                ({"injected_current": 1500, "gap": 0.02}, "fixed_knob"),
                ({"injected_current": 1500, "nope": 1}, "unknown_name"),
                ({"injected_current": 1500, "anode_voltage": "900"}, "bad_argument")):
            with self.subTest(values=values):
                self.assertEqual(self.c.error("set", {"values": values}), code)
                self.assertEqual(self.c.get(*names), before)
        self.c.step_and_wait(2)
        self.assertEqual(self.c.get(*names), before)
        self.assertEqual([m for m in ev.drain(0.1) if m.topic == "event.knob_changed"], [])


    def test_refused_multi_set_changes_nothing(self):
        # pic1d refuses a change that would make an electron cross more than one
        # cell per step (~1.8 kV with the default grid): the whole set is refused
        self.c("pause")
        ev = self.d.subscriber("event.")
        before = self.c.knobs()
        h, r = self.c.request("set", {"values": {"injected_current": 1500, "anode_voltage": 5000}})
        check_error_reply(h, r)
        self.assertEqual(r["error"]["code"], "refused")
        self.assertEqual(self.c.knobs(), before)
        self.c.step_and_wait(2)
        self.assertEqual(self.c.knobs(), before)
        self.assertEqual([m for m in ev.drain(0.1) if m.topic == "event.knob_changed"], [])


class TestRamps(DaemonTestCase):
    config = {"start": "paused"}

    def _check_ramp(self, knob, frm, to, n, rate=None):
        ev = self.d.subscriber("event.")
        self.c.step_and_wait(3)
        s0 = self.c.status()["step"]
        spec = {"knob": knob, "to": to}
        spec.update({"rate": rate} if rate else {"steps": n})
        r = self.c("ramp", {"ramps": [spec]})
        self.assertEqual(r["step"], s0)
        rp = r["ramps"][0]
        self.assertEqual((rp["knob"], rp["from"], rp["to"], rp["start_step"], rp["end_step"]),
                         (knob, frm, to, s0, s0 + n))
        self.assertEqual(self.c.get1(knob), frm)
        for k in range(1, n + 1):
            self.c.step_and_wait(1)
            g = self.c("get", {"names": [knob]})
            self.assertEqual(g["step"], s0 + k)
            want = frm + (to - frm) * k / n
            if k == n:
                self.assertEqual(g["values"][knob], to, "not exactly `to` at end_step")
            else:
                self.assertTrue(close(g["values"][knob], want),
                                "boundary s0+%d: %r != %r" % (k, g["values"][knob], want))
                self.assertEqual(len(self.c("ramps")["ramps"]), 1)
        e = ev.event("ramp_finished")
        self.assertEqual((e["id"], e["knob"], e["value"], e["step"], e["client"]),
                         (rp["id"], knob, to, s0 + n, "tester"))
        self.assertEqual(self.c("ramps")["ramps"], [])
        self.c.step_and_wait(5)
        self.assertEqual(self.c.get1(knob), to)

    def test_ramp_steps_boundaries(self):
        self._check_ramp("anode_voltage", 1000.0, 1100.0, 10)

    def test_ramp_down_odd_steps(self):
        self._check_ramp("injection_energy", 100.0, 37.3, 7)

    def test_ramp_rate(self):
        # steps = ceil(|1250 - 1000| / 100) = 3
        self._check_ramp("injected_current", 1000.0, 1250.0, 3, rate=100)

    def test_set_cancels_ramp(self):
        ev = self.d.subscriber("event.")
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 2000, "steps": 100}]})
        rid = r["ramps"][0]["id"]
        self.c.step_and_wait(10)
        s = self.c("set", {"values": {"anode_voltage": 500}})
        e = ev.event("ramp_cancelled")
        self.assertEqual((e["id"], e["knob"]), (rid, "anode_voltage"))
        self.assertEqual(s["applied"], {"anode_voltage": 500.0})
        self.assertEqual(self.c("ramps")["ramps"], [])
        self.c.step_and_wait(20)
        self.assertEqual(self.c.get1("anode_voltage"), 500.0)

    def test_new_ramp_replaces_old(self):
        ev = self.d.subscriber("event.")
        r1 = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 2000, "steps": 100}]})
        self.c.step_and_wait(10)
        v = self.c.get1("anode_voltage")
        r2 = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 0, "steps": 5}]})
        e = ev.event("ramp_cancelled")
        self.assertEqual(e["id"], r1["ramps"][0]["id"])
        self.assertEqual(r2["ramps"][0]["from"], v)
        self.assertEqual([x["id"] for x in self.c("ramps")["ramps"]], [r2["ramps"][0]["id"]])
        self.c.step_and_wait(5)
        self.assertEqual(self.c.get1("anode_voltage"), 0.0)
        ev.event("ramp_finished", id=r2["ramps"][0]["id"])

    def test_ramp_failed_when_refused(self):
        ev = self.d.subscriber("event.")
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 5000, "steps": 10},
                                      {"knob": "injected_current", "to": 2000, "steps": 10}]})
        av, ic = r["ramps"][0], r["ramps"][1]
        self.c.step_and_wait(10)
        e = ev.event("ramp_failed")
        # 1400 V is accepted at s0+1; 1800 V is refused at s0+2
        self.assertEqual((e["id"], e["knob"], e["value"], e["step"], e["client"]),
                         (av["id"], "anode_voltage", 1400.0, 2, "tester"))
        e = ev.event("ramp_finished")
        self.assertEqual((e["id"], e["value"], e["step"]), (ic["id"], 2000.0, 10))
        self.assertEqual(self.c.get("anode_voltage", "injected_current"),
                         {"anode_voltage": 1400.0, "injected_current": 2000.0})
        self.assertEqual(self.c("ramps")["ramps"], [])

    def test_ramp_while_running_finishes(self):
        ev = self.d.subscriber("event.")
        self.c("resume")
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1234.5, "steps": 200}]})
        rp = r["ramps"][0]
        self.assertEqual(rp["end_step"], rp["start_step"] + 200)
        e = ev.event("ramp_finished", id=rp["id"])
        self.assertEqual((e["step"], e["value"]), (rp["end_step"], 1234.5))
        # reads come from a mirror that may trail the stream by a boundary
        self.c.wait_step(rp["end_step"])
        self.assertEqual(self.c.get1("anode_voltage"), 1234.5)
        self.assertEqual(self.c("ramps")["ramps"], [])


class TestClients(DaemonTestCase):
    config = {"start": "running"}

    def test_two_clients_see_each_other(self):
        alice, bob = self.d.client("alice"), self.d.client("bob")
        sa, sb = self.d.subscriber("event."), self.d.subscriber("event.")
        ra = alice("set", {"values": {"injected_current": 1500}})
        rb = bob("set", {"values": {"anode_voltage": 950}})
        for sub in (sa, sb):
            e = sub.event("knob_changed", knob="injected_current")
            self.assertEqual((e["client"], e["old"], e["new"], e["step"]), ("alice", 1000.0, 1500.0, ra["step"]))
            e = sub.event("knob_changed", knob="anode_voltage")
            self.assertEqual((e["client"], e["old"], e["new"], e["step"]), ("bob", 1000.0, 950.0, rb["step"]))
        self.assertEqual(alice.get1("anode_voltage"), 950.0)
        self.assertEqual(bob.get1("injected_current"), 1500.0)
        rr = bob("ramp", {"ramps": [{"knob": "vc_threshold", "to": 0.5, "steps": 1000}]})
        self.assertEqual(alice("ramps")["ramps"][0]["client"], "bob")
        alice("cancel", {"id": rr["ramps"][0]["id"]})
        e = sa.event("ramp_cancelled")
        self.assertEqual(e["client"], "alice")

    def test_default_client_name(self):
        anon = self.d.client(kind=zmq.DEALER, identity=b"\x01\xab\xff")
        ev = self.d.subscriber("event.")
        anon.send_raw([b"", json.dumps({"cmd": "set", "id": 1}).encode(),
                       json.dumps({"values": {"injection_energy": 90}}).encode()])
        h, r = anon.recv_reply()
        self.assertTrue(h["ok"], r)
        e = ev.event("knob_changed")
        self.assertEqual(e["client"], "anon-01abff")

    def test_req_client(self):
        req = self.d.client("req-client", kind=zmq.REQ)
        h, r = req.call("hello", id="r1")
        self.assertEqual((h["id"], h["ok"]), ("r1", True))
        h, r = req.call("set", {"values": {"injection_energy": 110}}, id=2)
        self.assertEqual((h["id"], r["applied"]), (2, {"injection_energy": 110.0}))
        h, r = req.request("nope", id=3)
        self.assertEqual(r["error"]["code"], "unknown_command")
        # a REQ sends [header] alone: the body defaults to {}
        req.sock.send_multipart([json.dumps({"cmd": "status", "id": 4}).encode()])
        h, r = req.recv_reply()
        self.assertEqual((h["id"], h["ok"]), (4, True))

    def test_proxy_prefix_and_no_delimiter(self):
        # routing prefix frames before the delimiter come back unchanged
        self.c.send_raw([b"hop1", b"\x00hop2", b"", b'{"cmd":"status","id":1}', b"{}"])
        f = self.c.recv_raw()
        self.assertEqual(f[:3], [b"hop1", b"\x00hop2", b""])
        self.assertEqual(len(f), 5)
        self.assertEqual(json.loads(f[3])["id"], 1)
        self.assertTrue(json.loads(f[3])["ok"])
        # a DEALER that sends no delimiter gets its reply without one
        self.c.send_raw([b'{"cmd":"status","id":2}', b"{}"])
        f = self.c.recv_raw()
        self.assertEqual(len(f), 2, f)
        self.assertEqual(json.loads(f[0])["id"], 2)
        self.assertIn("step", json.loads(f[1]))
        # ... errors included
        self.c.send_raw([b"{bad"])
        f = self.c.recv_raw()
        self.assertEqual(len(f), 2, f)
        check_error_reply(json.loads(f[0]), json.loads(f[1]))
        # a REQ that sends garbage still gets its reply (or it would hang)
        req = self.d.client("r", kind=zmq.REQ)
        req.sock.send_multipart([b"\xff{"])
        h, r = req.recv_reply()
        check_error_reply(h, r)
        self.assertEqual(r["error"]["code"], "bad_request")

    def test_pipelined_requests_answered(self):
        # several requests in flight on one connection; all answered, matched by id
        for i in range(20):
            cmd = "set" if i % 2 else "status"
            body = {"values": {"injection_energy": 100 + i}} if i % 2 else {}
            self.c.send_raw([b"", json.dumps({"cmd": cmd, "id": i}).encode(), json.dumps(body).encode()])
        got = {}
        for _ in range(20):
            f = self.c.recv_raw()
            h = json.loads(f[1])
            got[h["id"]] = h
        self.assertEqual(sorted(got), list(range(20)))
        self.assertTrue(all(h["ok"] for h in got.values()))
        self.assertEqual(self.c.get1("injection_energy"), 119.0)


def bad(header, body=b"{}", pre=(b"",)):
    return list(pre) + [header if isinstance(header, bytes) else json.dumps(header).encode()] + \
        ([] if body is None else [body if isinstance(body, bytes) else json.dumps(body).encode()])


class TestBadInput(DaemonTestCase):
    config = {"start": "running"}

    def expect_error(self, frames, code, id=..., cmd=...):
        self.c.send_raw(frames)
        f = self.c.recv_raw()
        self.assertEqual(len(f), 3, f)
        self.assertEqual(f[0], b"")
        h, b = json.loads(f[1]), json.loads(f[2])
        check_error_reply(h, b)
        self.assertEqual(b["error"]["code"], code, b)
        if id is not ...:
            self.assertEqual(h["id"], id)
        if cmd is not ...:
            self.assertEqual(h["cmd"], cmd)
        return b["error"]["message"]

    def test_bad_input_changes_nothing(self):
        ev = self.d.subscriber("event.")
        knobs_before = self.c.knobs()
        nan = b'{"cmd":"set","id":9}'
        cases = [
            # header
            ("non-JSON header", bad(b"{not json"), "bad_request", None, None),
            ("empty header", bad(b""), "bad_request", None, None),
            ("header array", bad(b"[1,2]"), "bad_request", None, None),
            ("header string", bad(b'"status"'), "bad_request", None, None),
            ("header number", bad(b"42"), "bad_request", None, None),
            ("missing cmd", bad({"id": 5}), "bad_request", 5, None),
            ("cmd not a string", bad({"cmd": 5, "id": 5}), "bad_request", 5, None),
            ("id float", bad({"cmd": "status", "id": 1.5}), "bad_request", None, "status"),
            ("id bool", bad({"cmd": "status", "id": True}), "bad_request", None, "status"),
            ("id array", bad({"cmd": "status", "id": [1]}), "bad_request", None, "status"),
            ("id object", bad({"cmd": "status", "id": {}}), "bad_request", None, "status"),
            ("id too long", bad({"cmd": "status", "id": "x" * 129}), "bad_request", None, "status"),
            ("client empty", bad({"cmd": "status", "id": 1, "client": ""}), "bad_request", 1, "status"),
            ("client too long", bad({"cmd": "status", "id": 1, "client": "c" * 64}), "bad_request", 1, ...),
            ("client unprintable", bad({"cmd": "status", "id": 1, "client": "a\tb"}), "bad_request", 1, ...),
            ("client number", bad({"cmd": "status", "id": 1, "client": 7}), "bad_request", 1, ...),
            ("protocol 2", bad({"cmd": "status", "id": 1, "protocol": 2}), "bad_request", 1, ...),
            ("protocol string", bad({"cmd": "status", "id": 1, "protocol": "1"}), "bad_request", 1, ...),
            ("unknown command", bad({"cmd": "frobnicate", "id": 2}), "unknown_command", 2, "frobnicate"),
            ("invalid UTF-8 header", bad(b'{"cmd":"status","id":1,"client":"\xff\xfe"}'), "bad_request", None, None),
            ("deeply nested header", bad(b'{"cmd":"status","x":' + b"[" * 5000 + b"]" * 5000 + b"}"),
             "bad_request", None, None),
            ("NUL in header", bad(b'{"cmd":"stat\\u0000us","id":1}'), "bad_request", 1, None),
            # frames
            ("missing header frame", [b""], "bad_request", None, None),
            ("too many frames", bad({"cmd": "status", "id": 3}) + [b"{}"], "bad_request", ..., ...),
            ("empty body frame", bad({"cmd": "status", "id": 3}, b""), "bad_request", 3, "status"),
            # body
            ("body not JSON", bad({"cmd": "status", "id": 3}, b"{x"), "bad_request", 3, "status"),
            ("body array", bad({"cmd": "status", "id": 3}, b"[]"), "bad_request", 3, "status"),
            ("invalid UTF-8 body", bad({"cmd": "set", "id": 3}, b'{"values":{"\xc3\x28":1}}'),
             "bad_request", 3, "set"),
            ("deeply nested body", bad({"cmd": "set", "id": 3}, b'{"values":' + b"[" * 20000 + b"]" * 20000 + b"}"),
             "bad_request", 3, "set"),
            ("NaN", bad(nan, b'{"values":{"injected_current":NaN}}'), "bad_request", 9, "set"),
            ("Infinity", bad(nan, b'{"values":{"injected_current":Infinity}}'), "bad_request", 9, "set"),
            ("-Infinity", bad(nan, b'{"values":{"anode_voltage":-Infinity}}'), "bad_request", 9, "set"),
            ("1e999", bad(nan, b'{"values":{"anode_voltage":1e999}}'), "bad_request", 9, "set"),
            ("NaN in ramp", bad(b'{"cmd":"ramp","id":9}', b'{"ramps":[{"knob":"anode_voltage","to":NaN,"steps":3}]}'),
             "bad_request", 9, "ramp"),
            ("oversized", bad({"cmd": "set", "id": 4}, json.dumps({"values": {"injected_current": 1500},
                                                                    "pad": "x" * 70000}).encode()),
             "too_large", 4, "set"),
            ("oversized header", bad(json.dumps({"cmd": "status", "pad": "y" * 66000}).encode()),
             "too_large", None, None),  # a header over the limit is not read
            ("oversized body, bad header", bad(b"{x", b"{}" + b" " * 70000), "too_large", None, None),
        ]
        for name, frames, code, id, cmd in cases:
            with self.subTest(case=name):
                self.expect_error(frames, code, id, cmd)

        # \u0000 is valid JSON: the reply says what is wrong, with id and cmd when readable
        nul_cases = [
            ("NUL in cmd", bad(b'{"cmd":"set\\u0000x","id":11}'), 11, None, "header"),
            ("NUL in id", bad(b'{"cmd":"status","id":"a\\u0000"}'), None, "status", "header.id"),
            ("NUL in another header key", bad(b'{"cmd":"status","id":12,"note":"\\u0000"}'), 12, "status",
             "header"),
            ("NUL in a body string", bad({"cmd": "set", "id": 13},
                                         b'{"values":{"injected_current\\u0000junk":1}}'), 13, "set",
             "body"),
            ("NUL in a body value", bad({"cmd": "checkpoint", "id": 14}, b'{"name":"a\\u0000b"}'), 14,
             "checkpoint", "body"),
            ("NUL in a body key", bad({"cmd": "set", "id": 15}, b'{"values":{"a\\u0000":1}}'), 15, "set",
             "body"),
        ]
        for name, frames, id, cmd, where in nul_cases:
            with self.subTest(case=name):
                msg = self.expect_error(frames, "bad_request", id, cmd)
                self.assertIn("must not contain NUL", msg)
                self.assertTrue(msg.startswith(where + ":"), msg)
                self.assertNotIn("not valid JSON", msg)

        command_cases = [
            ("status", {"x": 1}, "bad_argument"),
            ("hello", {"verbose": True}, "bad_argument"),
            ("params", {"names": []}, "bad_argument"),
            ("snapshot", {"a": 1}, "bad_argument"),
            ("ramps", {"a": 1}, "bad_argument"),
            ("pause", {"now": True}, "bad_argument"),
            ("resume", {"x": 1}, "bad_argument"),
            ("shutdown", {"force": True}, "bad_argument"),
            ("get", {}, "bad_argument"),
            ("get", {"names": "injected_current"}, "bad_argument"),
            ("get", {"names": [1]}, "bad_argument"),
            ("get", {"names": ["injected_current"], "extra": 1}, "bad_argument"),
            ("get", {"names": ["no_such_thing"]}, "unknown_name"),
            ("set", {}, "bad_argument"),
            ("set", {"values": {}}, "bad_argument"),
            ("set", {"values": [1]}, "bad_argument"),
            ("set", {"values": {"injected_current": 1500}, "extra": 1}, "bad_argument"),
            ("set", {"values": {"injected_current": "1500"}}, "bad_argument"),
            ("set", {"values": {"injected_current": True}}, "bad_argument"),
            ("set", {"values": {"anode_voltage": None}}, "bad_argument"),
            ("set", {"values": {"anode_voltage": [1]}}, "bad_argument"),
            ("set", {"values": {"injected_current": -1}}, "out_of_range"),
            ("set", {"values": {"injected_current": 1.0000001e9}}, "out_of_range"),
            ("set", {"values": {"vc_threshold": 1.5}}, "out_of_range"),
            ("set", {"values": {"gap": 0.02}}, "fixed_knob"),
            ("set", {"values": {"cells": 100}}, "fixed_knob"),
            ("set", {"values": {"emission": "scl"}}, "fixed_knob"),
            ("set", {"values": {"nope": 1}}, "unknown_name"),
            ("ramp", {}, "bad_argument"),
            ("ramp", {"ramps": []}, "bad_argument"),
            ("ramp", {"ramps": {"knob": "anode_voltage", "to": 1, "steps": 2}}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": 2, "rate": 1}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": 0}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": -3}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": 1.5}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": "5"}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "rate": 0}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "rate": -2}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": "1", "steps": 2}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "steps": 2}]}, "bad_argument"),
            ("ramp", {"ramps": [{"to": 1, "steps": 2}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": 2, "x": 1}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1, "steps": 2},
                                {"knob": "anode_voltage", "to": 2, "steps": 2}]}, "bad_argument"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1e6, "steps": 2}]}, "out_of_range"),
            ("ramp", {"ramps": [{"knob": "anode_voltage", "to": 10, "steps": 2},
                                {"knob": "injected_current", "to": -5, "steps": 2}]}, "out_of_range"),
            ("ramp", {"ramps": [{"knob": "gap", "to": 0.02, "steps": 2}]}, "fixed_knob"),
            ("ramp", {"ramps": [{"knob": "nope", "to": 1, "steps": 2}]}, "unknown_name"),
            ("cancel", {"id": 999}, "unknown_name"),
            ("cancel", {"knob": "anode_voltage"}, "unknown_name"),
            ("cancel", {"knob": "nope"}, "unknown_name"),
            ("cancel", {"id": "1"}, "bad_argument"),
            ("cancel", {"id": 1.5}, "bad_argument"),
            ("cancel", {"id": 1, "knob": "anode_voltage"}, "bad_argument"),
            ("cancel", {"all": True}, "bad_argument"),
            ("step", {"n": 3}, "bad_state"),  # running
        ]
        for cmd, body, code in command_cases:
            with self.subTest(cmd=cmd, body=body):
                self.assertEqual(self.c.error(cmd, body), code)

        # step's argument checks, while paused (running answers bad_state)
        self.c("pause")
        knobs_before = self.c.knobs()
        step_before = self.c.status()["step"]
        for n in (0, -1, 1.5, "3", True, None, 2 ** 50 + 1, 1e30):
            with self.subTest(cmd="step", n=n):
                self.assertEqual(self.c.error("step", {"n": n}), "bad_argument")
        with self.subTest(cmd="step", body="extra key"):
            self.assertEqual(self.c.error("step", {"n": 1, "x": 1}), "bad_argument")
        self.assertEqual(self.c.status()["step"], step_before)

        # after all of it: alive, nothing changed, still answering
        self.assertTrue(self.d.alive())
        self.assertEqual(self.c.knobs(), knobs_before)
        self.assertEqual(self.c("ramps")["ramps"], [])
        self.assertEqual(self.c("hello")["server"], "steerd")
        changed = [m for m in ev.drain(0.1) if m.topic in ("event.knob_changed", "event.ramp_started")]
        self.assertEqual(changed, [])
        self.assertEqual(self.c("set", {"values": {"injected_current": 1200}})["applied"],
                         {"injected_current": 1200.0})

    def test_accepted_edge_inputs(self):
        """Inputs at the edge of what the protocol allows are accepted."""
        for hdr in ({"cmd": "status", "id": "x" * 128}, {"cmd": "status", "id": -7},
                    {"cmd": "status", "id": 0, "client": "c" * 63}, {"cmd": "status", "id": 1, "protocol": 1},
                    {"cmd": "status", "id": 2, "whatever": [1, 2]}):
            with self.subTest(header=hdr):
                self.c.send_raw(bad(hdr))
                f = self.c.recv_raw()
                h = json.loads(f[1])
                self.assertTrue(h["ok"], f)
                self.assertEqual(h["id"], hdr["id"])
        # no body frame: the body is {}
        self.c.send_raw(bad({"cmd": "status", "id": 3}, None))
        h = json.loads(self.c.recv_raw()[1])
        self.assertEqual((h["id"], h["ok"]), (3, True))
        # no id: the reply's id is null
        self.c.send_raw(bad({"cmd": "status"}))
        h = json.loads(self.c.recv_raw()[1])
        self.assertEqual((h["id"], h["ok"]), (None, True))
        # knob values at exactly min and max are accepted
        r = self.c("set", {"values": {"vc_threshold": 1, "injected_current": 0}})
        self.assertEqual(r["applied"], {"vc_threshold": 1.0, "injected_current": 0.0})
        r = self.c("set", {"values": {"vc_threshold": 0.0, "anode_voltage": -100000}})
        self.assertEqual(r["applied"], {"vc_threshold": 0.0, "anode_voltage": -100000.0})
        # a message just under the limit is read (and judged on its content)
        body = json.dumps({"values": {"injected_current": 1500}, "pad": "x" * 60000}).encode()
        self.assertEqual(self.expect_error(bad({"cmd": "set", "id": 4}, body), "bad_argument", 4, "set")
                         .count("pad") >= 0, True)
        self.assertEqual(self.c.get1("injected_current"), 0.0)

    def test_id_length_counts_characters(self):
        # PROTOCOL.md: id is "integer or string (<= 128 chars)"; 100 non-ASCII
        # characters (200 bytes of UTF-8) are within the limit
        for idv in ("\u00e9" * 100, "\u20ac" * 128):
            with self.subTest(chars=len(idv), bytes=len(idv.encode())):
                self.c.send_raw(bad(json.dumps({"cmd": "status", "id": idv}, ensure_ascii=False).encode()))
                h = json.loads(self.c.recv_raw()[1])
                self.assertTrue(h["ok"], h)
                self.assertEqual(h["id"], idv)

    def test_huge_frame_drops_connection_not_daemon(self):
        # a single frame > 4 x max_message_bytes: no reply, connection dropped
        self.c.send_raw(bad({"cmd": "status", "id": 1}, b"x" * (4 * 65536 + 100)))
        self.assertFalse(self.c.sock.poll(1000), "expected no reply to a huge frame")
        other = self.d.client("other")
        self.assertEqual(other("status")["state"], "running")
        self.assertTrue(self.d.alive())

    def test_many_frames_answered_and_memory_returns(self):
        """libzmq bounds each frame, not the frames of a message (README, "What
        steerd guarantees"): a request of 200 frames of 256 KiB is buffered
        whole, then answered too_large (id and cmd echoed), and freed."""
        def rss_mb(key):
            with open("/proc/%d/status" % self.d.pid) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1]) / 1024.0
        self.c("status")
        base = rss_mb("VmRSS")
        frame = b"x" * (4 * 65536)  # the largest frame accepted
        n = 200
        self.c.send_raw([b"", json.dumps({"cmd": "set", "id": "many"}).encode()] + [frame] * n)
        h, b = self.c.recv_reply(timeout=60)
        check_error_reply(h, b)
        self.assertEqual((b["error"]["code"], h["id"], h["cmd"]), ("too_large", "many", "set"))
        self.assertGreater(rss_mb("VmHWM") - base, n * 0.25 * 0.5, "was the message not buffered whole?")
        self.assertEqual(self.d.client("other")("status")["state"], "running")
        with open("/proc/%d/maps" % self.d.pid) as f:
            sanitized = "libasan" in f.read()  # ASan keeps freed memory in quarantine
        if not sanitized:
            self.assertLess(rss_mb("VmRSS") - base, n * 0.25 / 4, "memory not returned")


if __name__ == "__main__":
    run_tests(TestCommands, TestStepsPerSecond, TestWritesInFlight, TestAtomicSet, TestRamps, TestClients, TestBadInput)
