# SPDX-License-Identifier: MIT
"""Diagnostics stream: frame formats, cadences, sequence numbers, late
joiners, stalled subscribers, heartbeats, events, the config schedule and
the ways a run ends (PROTOCOL.md, "Diagnostics stream")."""
import os
import signal
import stat
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (FAST_KNOBS, DaemonTestCase, Subscriber, run_tests,  # noqa: E402
                            wait_until)


def check_topic_seqs(test, msgs):
    """topic_seq is +1 per message of a topic (each event name is a topic of
    its own) and prev_seq is the seq of the topic's previous message."""
    last = {}
    for m in msgs:
        key = m.topic
        if key in last:
            test.assertEqual(m["topic_seq"], last[key]["topic_seq"] + 1,
                             "topic_seq of %s jumps: %r" % (key, m))
            test.assertEqual(m["prev_seq"], last[key]["seq"], "prev_seq of %r" % m)
        test.assertLess(m["prev_seq"], m["seq"])
        last[key] = m
    return last


def start_vc_daemon(test):
    """Replace test's daemon by a paused one that forms a virtual cathode once
    resumed (a grounded gap driven well above the space-charge limit), with
    virtual_cathode as an indicator. (daemon, client)"""
    test.d.stop()
    d = test.start_daemon(start="paused", knobs=dict(FAST_KNOBS, anode_voltage=0, injected_current=1000,
                                                     particles_per_step=10),
                          diagnostics={"indicators": ["virtual_cathode"]})
    return d, d.client("tester")


class TestFormats(DaemonTestCase):
    config = {"start": "paused"}

    def test_scalars_frames(self):
        hello = self.c("hello")
        scalars = [d for d in hello["diagnostics"] if d["rank"] == 0]
        sub = self.d.subscriber("scalars")
        s0 = self.c.status()["step"]
        self.c.step_and_wait(5)
        msgs = [sub.expect(lambda m: m.topic == "scalars", what="scalars")[0] for _ in range(5)]
        self.assertEqual([m["step"] for m in msgs], list(range(s0 + 1, s0 + 6)))
        check_topic_seqs(self, msgs)
        for a, b in zip(msgs, msgs[1:]):
            self.assertGreater(b["seq"], a["seq"])
        for m in msgs:
            self.assertEqual(m["names"], [d["name"] for d in scalars])
            self.assertEqual(m["units"], [d["unit"] for d in scalars])
            self.assertEqual(m["dtype"], "<f8")
            self.assertEqual(m["shape"], [len(scalars)])
            self.assertEqual(len(m.data), 1)
            self.assertEqual(len(m.data[0]), 8 * len(scalars))
            v = dict(zip(m["names"], m.floats()))
            self.assertEqual(v["step"], m["step"])
            self.assertAlmostEqual(v["time"], m["time"], delta=1e-20)
            self.assertAlmostEqual(m["time"], m["step"] * 2e-12, delta=1e-20)
        last = dict(zip(msgs[-1]["names"], msgs[-1].floats()))
        got = self.c.get(*[d["name"] for d in scalars])
        self.assertEqual(got, {k: v for k, v in last.items()})

    def test_array_frames(self):
        hello = self.c("hello")
        diags = {d["name"]: d for d in hello["diagnostics"]}
        sub = self.d.subscriber("array.phi", "array.x", "array.efield")
        self.c.step_and_wait(100)
        got = {}
        while len(got) < 3:
            m = sub.recv()
            self.assertIsNotNone(m, "arrays missing after 100 steps; got %s" % list(got))
            got[m.topic] = m
        for name in ("phi", "x", "efield"):
            m = got["array." + name]
            self.assertEqual((m["name"], m["unit"], m["dtype"], m["shape"], m["step"]),
                             (name, diags[name]["unit"], "<f8", [201], 100))
            self.assertEqual(m.get("axis"), diags[name].get("axis"))
            self.assertEqual(len(m.data), 1)
            self.assertEqual(len(m.data[0]), 201 * 8)
        self.assertEqual(got["array.phi"]["axis"], "x")
        self.assertNotIn("axis", got["array.x"].header)
        x = got["array.x"].floats()
        self.assertAlmostEqual(x[0], 0.0, delta=1e-15)
        self.assertAlmostEqual(x[-1], 0.01, delta=1e-12)
        self.assertTrue(all(b > a for a, b in zip(x, x[1:])))
        phi = got["array.phi"].floats()
        self.assertAlmostEqual(phi[0], 0.0, delta=1e-9)      # cathode
        self.assertAlmostEqual(phi[-1], 1000.0, delta=1e-6)  # anode_voltage

    def test_cadences(self):
        self.d.stop()
        d = self.start_daemon(start="paused", diagnostics={"scalars_every": 3, "arrays_every": 0,
                                                           "every": {"phi": 5}})
        c = d.client("tester")
        sub = d.subscriber("scalars", "array.")
        c.step_and_wait(20)
        c.step_and_wait(1)   # a marker: the scalars of step 21 come after everything of steps 1..20
        msgs, _ = [], None
        while True:
            m = sub.recv()
            self.assertIsNotNone(m)
            msgs.append(m)
            if m.topic == "scalars" and m["step"] == 21:
                break
        self.assertEqual([m["step"] for m in msgs if m.topic == "scalars"], [3, 6, 9, 12, 15, 18, 21])
        self.assertEqual([m["step"] for m in msgs if m.topic == "array.phi"], [5, 10, 15, 20])
        self.assertEqual({m.topic for m in msgs}, {"scalars", "array.phi"})

    def test_heartbeat_while_paused(self):
        sub = self.d.subscriber("heartbeat")
        step = self.c.status()["step"]
        beats = [sub.expect(lambda m: m.topic == "heartbeat", what="heartbeat")[0] for _ in range(4)]
        for b in beats:
            self.assertEqual((b["state"], b["step"]), ("paused", step))
            self.assertEqual(b.data, [])
            for k in ("seq", "topic_seq", "time"):
                self.assertIn(k, b.header)
        check_topic_seqs(self, beats)
        for a, b in zip(beats, beats[1:]):
            self.assertGreater(b["seq"], a["seq"])
        self.assertEqual(self.c.status()["step"], step)

    def test_heartbeat_while_running(self):
        self.c("resume")
        sub = self.d.subscriber("heartbeat")
        b = sub.expect(lambda m: m.topic == "heartbeat" and m["state"] == "running", what="heartbeat")[0]
        self.assertIsInstance(b["step"], int)


class TestSubscriptions(DaemonTestCase):
    config = {"start": "running", "diagnostics": {"arrays_every": 10}}

    def test_other_subscribers_keep_their_topics(self):
        a, b = self.d.subscriber("scalars"), self.d.subscriber("scalars")
        a.sock.setsockopt(zmq.UNSUBSCRIBE, b"scalars")
        self.c("status")
        a.close()
        everything = self.d.subscriber("")
        everything.close()
        # b still gets scalars after a unsubscribed and left, and "" came and went
        s = self.c.status()["step"]
        m = b.expect(lambda m: m.topic == "scalars" and m["step"] > s + 100, what="fresh scalars")[0]
        self.assertEqual(m.topic, "scalars")

    def test_prefix_subscription(self):
        sub = self.d.subscriber("array.ph")
        topics, px, pair = set(), None, None
        while len(topics) < 3 or pair is None:
            m = sub.recv()
            self.assertIsNotNone(m)
            topics.add(m.topic)
            if m.topic == "array.phase_x":
                px = m
            elif m.topic == "array.phase_v" and px is not None and px["step"] == m["step"]:
                pair = (px, m)
        self.assertEqual(topics, {"array.phi", "array.phase_x", "array.phase_v"})
        px, pv = pair
        self.assertEqual(px["shape"], pv["shape"])
        self.assertEqual(pv["axis"], "phase_x")
        self.assertEqual(len(pv.floats()), pv["shape"][0])


class TestLateJoiner(DaemonTestCase):
    config = {"start": "running", "diagnostics": {"send_hwm": 1000000, "arrays_every": 20}}

    def test_snapshot_then_contiguous_stream(self):
        sub = self.d.subscriber("", rcvhwm=0)
        snap = self.c("snapshot")
        ch = self.c("set", {"values": {"injected_current": 1100}})
        rr = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1100, "steps": 300}]})
        last_step = rr["ramps"][0]["end_step"] + 50
        kept, dropped = [], 0
        deadline = time.monotonic() + 60
        while not kept or kept[-1]["step"] < last_step or kept[-1].topic != "scalars":
            self.assertLess(time.monotonic(), deadline, "stream too slow")
            m = sub.recv()
            self.assertIsNotNone(m, "stream stopped")
            if m["seq"] <= snap["seq"]:
                dropped += 1
                if m.topic == "scalars":
                    self.assertLessEqual(m["step"], snap["step"], "snapshot older than stream seq")
                continue
            kept.append(m)
        self.c("pause")
        # seq: +1 per message across all topics, starting right after the snapshot
        self.assertEqual(kept[0]["seq"], snap["seq"] + 1, "first message after the snapshot")
        for a, b in zip(kept, kept[1:]):
            self.assertEqual(b["seq"], a["seq"] + 1, "gap between %r and %r" % (a, b))
        check_topic_seqs(self, kept)
        # nothing of any topic was missed between the snapshot and the first message kept
        first = {}
        for m in kept:
            first.setdefault(m.topic, m)
        for t, m in first.items():
            self.assertLessEqual(m["prev_seq"], snap["seq"], "missed a %s before %r" % (t, m))
        topics = {m.topic for m in kept}
        for t in ("scalars", "array.phi", "event.knob_changed", "event.ramp_started", "event.ramp_finished"):
            self.assertIn(t, topics)
        scal = [m for m in kept if m.topic == "scalars"]
        self.assertGreater(scal[0]["step"], snap["step"])
        self.assertEqual([m["step"] for m in scal], list(range(scal[0]["step"], scal[-1]["step"] + 1)))
        # a late joiner rebuilds the knobs from the snapshot plus the events
        knobs = dict(snap["knobs"])
        for m in kept:
            if m.topic == "event.knob_changed":
                self.assertEqual(knobs[m["knob"]], m["old"])
                knobs[m["knob"]] = m["new"]
            elif m.topic in ("event.ramp_finished", "event.ramp_cancelled"):
                knobs[m["knob"]] = m["value"]
        self.assertEqual(knobs["injected_current"], 1100.0)
        self.assertEqual(knobs["anode_voltage"], 1100.0)
        self.assertEqual(knobs, self.c.knobs())
        ev = [m for m in kept if m.topic == "event.knob_changed"]
        self.assertEqual(ev[0]["step"], ch["step"])


class TestStalledSubscriber(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS,
              "diagnostics": {"send_hwm": 10, "scalars_every": 1, "arrays_every": 1}}

    def test_stalled_subscriber_does_not_block_the_run(self):
        stalled = Subscriber(self.d.conn["diagnostics"], ("",), rcvhwm=1, sync=False)
        self.addCleanup(stalled.close)
        stalled.sock.setsockopt(zmq.RCVBUF, 4096)
        # make sure the subscription is live: read one message, then stop reading
        first = stalled.recv()
        self.assertIsNotNone(first, "nothing on the stream")
        s1 = self.c.status()["step"]
        target = s1 + 30000
        while True:
            st = self.c.status()
            # reads keep answering while the subscriber is stalled
            self.assertIn("injected_current", self.c.get("injected_current", "particles"))
            if st["step"] >= target:
                break
            self.assertEqual(st["state"], "running")
            wait_until(lambda: self.c.status()["step"] > st["step"], what="the run to keep stepping")
        # writes too
        self.assertEqual(self.c("set", {"values": {"injection_energy": 90}})["applied"],
                         {"injection_energy": 90.0})
        # the stalled subscriber now reads: it finds a seq gap (messages were
        # dropped for it) and soon live data, instead of everything queued
        prev, gaps, n = first, [], 0
        deadline = time.monotonic() + 60
        while True:
            self.assertLess(time.monotonic(), deadline, "stalled subscriber never caught up")
            m = stalled.recv(10)
            self.assertIsNotNone(m)
            n += 1
            self.assertGreater(m["seq"], prev["seq"])
            if m["seq"] > prev["seq"] + 1:
                gaps.append((prev["seq"], m["seq"]))
            prev = m
            if m["step"] >= target:
                break
        self.assertTrue(gaps, "no seq gap in %d messages" % n)
        published = prev["seq"] - first["seq"]
        self.assertLess(n * 4, published, "received %d of %d messages: not dropped" % (n, published))
        # and a subscriber that reads gets fresh data
        fresh = self.d.subscriber("scalars")
        m = fresh.recv()
        self.assertGreaterEqual(m["step"], target)


class TestEvents(DaemonTestCase):
    SCHEDULE = [{"at": 50, "set": {"injected_current": 1500}},
                {"at": 100, "ramp": {"anode_voltage": {"to": 1100, "steps": 10}}},
                {"at": 120, "ramp": {"injection_energy": {"to": 110, "rate": 2.5}}}]
    config = {"start": "paused", "schedule": SCHEDULE}

    def test_schedule(self):
        ev = self.d.subscriber("event.")
        self.c.step_and_wait(40)
        self.assertEqual(self.c.get1("injected_current"), 1000.0)
        self.c.step_and_wait(10)
        e = ev.event("knob_changed")
        self.assertEqual((e["knob"], e["old"], e["new"], e["client"], e["step"]),
                         ("injected_current", 1000.0, 1500.0, "schedule", 50))
        self.assertEqual(self.c.get1("injected_current"), 1500.0)
        # client writes at the same boundary apply after the schedule
        r = self.c("set", {"values": {"injected_current": 1700}})
        self.assertEqual(r["step"], 50)
        e = ev.event("knob_changed")
        self.assertEqual((e["old"], e["new"], e["client"]), (1500.0, 1700.0, "tester"))
        self.c.step_and_wait(60)
        e = ev.event("ramp_started")
        self.assertEqual((e["knob"], e["from"], e["to"], e["start_step"], e["end_step"], e["step"], e["client"]),
                         ("anode_voltage", 1000.0, 1100.0, 100, 110, 100, "schedule"))
        e2 = ev.event("ramp_finished")
        self.assertEqual((e2["id"], e2["knob"], e2["value"], e2["step"]), (e["id"], "anode_voltage", 1100.0, 110))
        self.assertEqual(self.c.get("injected_current", "anode_voltage"),
                         {"injected_current": 1700.0, "anode_voltage": 1100.0})
        self.c.step_and_wait(20)
        e = ev.event("ramp_started")
        self.assertEqual((e["knob"], e["start_step"], e["end_step"]), ("injection_energy", 120, 124))
        self.c.step_and_wait(10)
        self.assertEqual(ev.event("ramp_finished", id=e["id"])["step"], 124)
        self.assertEqual(self.c.get1("injection_energy"), 110.0)

    def test_indicator_event(self):
        d, c = start_vc_daemon(self)
        ev = d.subscriber("event.indicator")
        c("resume")
        e = ev.event("indicator", timeout=60)
        self.assertEqual((e["name"], e["on"]), ("virtual_cathode", True))
        self.assertEqual(e["value"], 1.0)
        c("set", {"values": {"anode_voltage": 5000, "injected_current": 10}})
        e = ev.event("indicator", timeout=60)
        self.assertEqual((e["name"], e["on"], e["value"]), ("virtual_cathode", False, 0.0))


class TestSequenceNumbers(DaemonTestCase):
    """PROTOCOL.md, "Sequence numbers": a subscriber that filters topics tells
    loss from filtering by topic_seq, each event name being a topic."""
    config = {"start": "paused"}

    def test_filtered_events_are_gap_free(self):
        kc = self.d.subscriber("event.knob_changed")
        everything = self.d.subscriber("event.")
        for v in (1100, 1200):
            self.c("set", {"values": {"injected_current": v}})
            self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": v, "steps": 2}]})
            self.c("resume")
            self.c("pause")
        self.c("set", {"values": {"injected_current": 1300, "injection_energy": 120}})
        got = [kc.event("knob_changed") for _ in range(4)]
        self.assertEqual([m["new"] for m in got], [1100.0, 1200.0, 1300.0, 120.0])
        check_topic_seqs(self, got)
        # other events (ramp_started, paused, resumed, ...) came in between: seq skips them
        self.assertGreater(got[1]["seq"], got[0]["seq"] + 1)
        all_events = everything.events_until("knob_changed", new=120.0)
        check_topic_seqs(self, all_events)
        self.assertIn("event.ramp_started", {m.topic for m in all_events})

    def test_numbered_without_subscribers(self):
        # nobody subscribes: heartbeats are numbered all the same, so numbers
        # do not depend on who listens, and a reconnect shows as a gap
        s0 = self.c.status()["seq"]
        wait_until(lambda: self.c.status()["seq"] > s0 + 2, what="heartbeats numbered")
        sub = self.d.subscriber("heartbeat")
        a = sub.recv()
        self.assertGreater(a["topic_seq"], 2)
        b = sub.recv()
        self.assertEqual((b["topic_seq"], b["prev_seq"]), (a["topic_seq"] + 1, a["seq"]))

    def test_ramp_emits_no_knob_changed_per_step(self):
        ev = self.d.subscriber("event.")
        r = self.c("ramp", {"ramps": [{"knob": "anode_voltage", "to": 1100, "steps": 5}]})
        self.c.step_and_wait(6)
        events = ev.events_until("ramp_finished")
        self.assertEqual([m.topic for m in events if m.topic in ("event.knob_changed", "event.ramp_started",
                                                                 "event.ramp_finished")],
                         ["event.ramp_started", "event.ramp_finished"])
        self.assertEqual(events[-1]["step"], r["ramps"][0]["end_step"])
        self.assertEqual(self.c.get1("anode_voltage"), 1100.0)

    def test_rewind_turns_the_indicator_off(self):
        d, c = start_vc_daemon(self)
        ev = d.subscriber("event.")
        saved = c("snapshot-state", {"name": "before"})
        c("resume")
        on = ev.event("indicator", timeout=60)
        self.assertTrue(on["on"])
        c("pause")
        r = c("rewind", {"name": "before"})
        events = ev.events_until("rewound")
        paused = [i for i, m in enumerate(events) if m.topic == "event.paused"][-1]
        off = [m for m in events[paused:] if m.topic == "event.indicator"]
        self.assertEqual(len(off), 1, events)  # the rewind's, at the step gone back to
        self.assertEqual((off[0]["on"], off[0]["step"]), (False, saved["step"]))
        self.assertEqual((events[-1]["to_step"], events[-1]["step"]), (r["step"], r["step"]))
        self.assertLess(off[0]["seq"], events[-1]["seq"])


class TestLifecycle(DaemonTestCase):
    config = {"start": "running"}

    def _signal_stop(self, sig):
        ev = self.d.subscriber("event.")
        self.c.wait_step(10)
        conn = self.d.conn_path
        self.assertTrue(os.path.exists(conn))
        self.d.proc.send_signal(sig)
        e = ev.event("shutting_down")
        self.assertIsInstance(e["reason"], str)
        self.d.expect_clean_exit()
        self.assertFalse(os.path.exists(conn))

    def test_sigterm_while_running(self):
        self._signal_stop(signal.SIGTERM)

    def test_sigint_while_paused(self):
        self.c("pause")
        self._signal_stop(signal.SIGINT)

    def test_connection_file(self):
        st = os.stat(self.d.conn_path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        conn = self.d.conn
        self.assertEqual(set(conn), {"control", "diagnostics", "pid", "protocol", "adapter", "version"})
        self.assertEqual((conn["pid"], conn["protocol"], conn["adapter"]), (self.d.pid, 1, "pic1d"))
        for k in ("control", "diagnostics"):
            self.assertRegex(conn[k], r"^tcp://127\.0\.0\.1:[1-9][0-9]*$")
        self.assertNotEqual(conn["control"], conn["diagnostics"])
        self.assertEqual(self.c("hello")["version"], conn["version"])
        # no temporary files left next to it
        self.assertEqual(sorted(f for f in os.listdir(self.d.tmp) if f.startswith("steerd")), ["steerd.json"])

    def test_max_steps(self):
        self.d.stop()
        d = self.start_daemon(start="paused", run={"max_steps": 300})
        c = d.client("tester")
        sub = d.subscriber("event.", "scalars")
        c("resume")
        e = sub.event("shutting_down")
        self.assertEqual(e["step"], 300)
        d.expect_clean_exit()
        rest = sub.drain(0.2)
        self.assertEqual([m for m in rest if m.topic == "scalars" and m["step"] > 300], [])

    def test_max_steps_running_stops_by_itself(self):
        self.d.stop()
        d = self.start_daemon(start="running", run={"max_steps": 1500})
        d.expect_clean_exit()

    def test_stepping_past_max_steps(self):
        self.d.stop()
        d = self.start_daemon(start="paused", run={"max_steps": 30})
        c = d.client("tester")
        sub = d.subscriber("event.")
        c("step", {"n": 100})
        self.assertEqual(sub.event("shutting_down")["step"], 30)
        d.expect_clean_exit()


if __name__ == "__main__":
    run_tests(TestFormats, TestSubscriptions, TestLateJoiner, TestStalledSubscriber, TestEvents,
              TestSequenceNumbers, TestLifecycle)
