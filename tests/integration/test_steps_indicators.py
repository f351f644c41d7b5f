# SPDX-License-Identifier: MIT
"""Issue 19, points 1, 5 and 10 on the wire: an indicator's events wait out
diagnostics.indicator_dwell_steps (the scalars do not); `step N` shows in
`status` (`stepping`, `steps_left`) and `cancel {"steps": true}` drops it;
run.max_steps_per_second paces the run and pause still answers; the warning
for a publisher left behind says what to do.

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_steps_indicators.py
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (FAST_KNOBS, DaemonTestCase, make_config, run_tests,  # noqa: E402
                            to_yaml, wait_until)

DWELL = 30
# j_injected over a window of one step is the current injected by the last
# step: 0 or not at the boundary after a `set` of injected_current, so an
# indicator on it flaps exactly when the test says.
FLAP_KNOBS = dict(FAST_KNOBS, average_window=1)


class IndicatorDwell(DaemonTestCase):
    config = {"start": "paused", "knobs": FLAP_KNOBS,
              "diagnostics": {"indicators": ["j_injected"], "indicator_dwell_steps": DWELL}}

    def set_current(self, j):
        return self.c("set", {"values": {"injected_current": j}})["step"]

    def test_hello_gives_the_dwell(self):
        hello = self.c("hello")
        self.assertEqual(hello["stream"]["indicator_dwell_steps"], DWELL)
        self.assertIn("indicator_dwell", hello["capabilities"])

    def test_a_flapping_indicator_gives_one_event_per_lasting_change(self):
        ev = self.d.subscriber("event.indicator", "event.stepping")
        sc = self.d.subscriber("scalars")
        names = None
        # on, for good: one event, DWELL - 1 boundaries after the change began
        self.c.step_and_wait(DWELL + 5)
        on = ev.event("indicator")
        self.assertEqual((on["name"], on["on"]), ("j_injected", True))
        self.assertEqual(on["step"], on["since_step"] + DWELL - 1)
        # flapping: off and on again for fewer than DWELL steps, five times
        flips = []
        for _ in range(5):
            flips.append(self.set_current(0))
            self.c.step_and_wait(DWELL // 3)
            self.set_current(1000)
            self.c.step_and_wait(DWELL // 3)
        # then off for good
        off_from = self.set_current(0)
        self.c.step_and_wait(DWELL + 5)
        events = ev.events_until("indicator")
        first = [m for m in events if m.topic == "event.indicator"][0]
        self.assertFalse(first["on"], "the flaps were published: %r" % events)
        # the change began at the first boundary computed with no current
        self.assertEqual(first["since_step"], off_from + 1)
        self.assertEqual(first["step"], off_from + DWELL)
        self.assertEqual(ev.drain(0.3), [])
        # the scalars are raw: every flap shows in j_injected
        zero_steps = set()
        while True:
            m = sc.recv()
            self.assertIsNotNone(m, "scalars stopped")
            names = names or m["names"]
            if m.floats()[names.index("j_injected")] == 0.0:
                zero_steps.add(m["step"])
            if m["step"] >= first["step"]:
                break
        for s in flips:
            self.assertIn(s + 1, zero_steps, "the flap at %d is not in the scalars" % s)

    def test_rewind_publishes_at_once(self):
        saved = self.c("snapshot-state", {"name": "off"})
        ev = self.d.subscriber("event.")
        self.c.step_and_wait(DWELL + 1)
        self.assertTrue(ev.event("indicator")["on"])
        self.c("rewind", {"name": "off"})
        off = ev.event("indicator")
        self.assertEqual((off["on"], off["step"], off["since_step"]),
                         (False, saved["step"], saved["step"]))

class QueuedSteps(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_status_shows_the_steps_and_cancel_drops_them(self):
        ev = self.d.subscriber("event.")
        self.assertFalse(self.c.status()["stepping"])
        self.c("step", {"n": 2000000})
        st = self.c.status()
        self.assertEqual(st["state"], "paused")
        self.assertTrue(st["stepping"])
        self.assertGreater(st["steps_left"], 0)
        r = self.c("cancel", {"steps": True})
        self.assertEqual(r["cancelled"], "steps")
        self.assertGreater(r["steps"], 0)
        self.assertLessEqual(r["steps"], st["steps_left"])
        e = ev.event("steps_cancelled")
        self.assertEqual((e["steps"], e["client"], e["step"]), (r["steps"], "tester", r["step"]))
        st = self.c.status()
        self.assertEqual((st["state"], st["stepping"], st["steps_left"], st["step"]),
                         ("paused", False, 0, r["step"]))
        # nothing left to cancel; the run stays where it is
        self.assertEqual(self.c.error("cancel", {"steps": True}), "unknown_name")
        self.assertEqual(self.c.status()["step"], r["step"])

    def test_cancel_steps_bad_arguments(self):
        self.assertEqual(self.c.error("cancel", {"steps": False}), "bad_argument")
        self.assertEqual(self.c.error("cancel", {"steps": 1}), "bad_argument")
        self.assertEqual(self.c.error("cancel", {"steps": True, "search": True}), "bad_argument")

    def test_running_is_stepping_and_ramps_cancel_leaves_steps(self):
        self.c("step", {"n": 2000000})
        self.assertEqual(self.c("cancel")["cancelled"], [])  # {} cancels ramps only
        self.assertGreater(self.c.status()["steps_left"], 0)
        self.c("pause")
        self.c("resume")
        st = self.c.status()
        self.assertEqual((st["state"], st["stepping"], st["steps_left"]), ("running", True, 0))
        self.assertEqual(self.c.error("cancel", {"steps": True}), "unknown_name")
        self.assertIn("queued_steps", self.c("hello")["capabilities"])


PACE = 200


class Pacing(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS, "run": {"max_steps_per_second": PACE}}

    def test_the_run_keeps_to_its_pace(self):
        # Only an upper bound: a loaded machine may run slower, never faster.
        a, ta = self.c.status(), time.monotonic()
        b = self.c.wait_step(a["step"] + PACE)  # about a second
        tb = time.monotonic()
        allowed = PACE * (tb - ta) + PACE * 0.1 + 5  # slack: a pause's restart (PACE_SLACK_S)
        self.assertLessEqual(b["step"] - a["step"], allowed)
        # and it steps at all, with no busy wait needed to see pause
        r = self.c("pause")
        self.assertEqual(r["state"], "paused")
        self.assertEqual(self.c.status()["step"], r["step"])

    def test_pause_answers_at_once_at_a_slow_pace(self):
        # one step a second: pause must not wait for the next step
        self.d.stop()
        d = self.start_daemon(start="running", knobs=FAST_KNOBS, run={"max_steps_per_second": 1})
        c = d.client("tester")
        ev = d.subscriber("event.paused")
        r = c("pause")
        self.assertEqual(r["state"], "paused")
        self.assertEqual(ev.event("paused")["step"], r["step"])

    def test_sighup_lifts_the_pace(self):
        self.d.stop()
        cfg = make_config(start="running", knobs=FAST_KNOBS, run={"max_steps_per_second": 1})
        d = self.start_daemon(config=cfg)
        c = d.client("tester")
        cfg["run"]["max_steps_per_second"] = 0
        with open(d.config_path, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "run.max_steps_per_second: 1 -> 0" in d.stderr(), what="the reload")
        c.wait_step(c.status()["step"] + 2000)  # 2000 s at the old pace

    def test_sighup_to_a_slower_pace_counts_afresh(self):
        # 2000 steps counted at 100000/s, then a pace of 10/s: the next steps
        # come at 10/s, not after the 200 s those 2000 steps "owe" the new pace
        self.d.stop()
        cfg = make_config(start="running", knobs=FAST_KNOBS, run={"max_steps_per_second": 100000})
        d = self.start_daemon(config=cfg)
        c = d.client("tester")
        c.wait_step(2000)
        cfg["run"]["max_steps_per_second"] = 10
        with open(d.config_path, "w") as f:
            f.write(to_yaml(cfg) + "\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "run.max_steps_per_second: 100000 -> 10" in d.stderr(), what="the reload")
        c.wait_step(c.status()["step"] + 5, timeout=30)


class PublisherBehindAdvice(DaemonTestCase):
    """Every step publishes every array to a subscriber that never reads:
    the publisher falls behind; its warning names the settings to change."""
    config = {"start": "running", "knobs": FAST_KNOBS,
              "diagnostics": {"arrays_every": 1, "send_hwm": 1000000}}

    def test_warning_says_what_to_do(self):
        sub = self.d.subscriber("", rcvhwm=0)
        try:
            wait_until(lambda: "publisher thread is behind" in self.d.stderr(), 60,
                       what="the publisher-behind warning")
        except AssertionError:
            self.skipTest("the publisher kept up on this machine")
        finally:
            sub.close() if hasattr(sub, "close") else None
        line = [x for x in self.d.stderr().splitlines() if "publisher thread is behind" in x][0]
        for setting in ("diagnostics.scalars_every", "diagnostics.arrays_every",
                        "run.max_steps_per_second"):
            self.assertIn(setting, line)


if __name__ == "__main__":
    run_tests(IndicatorDwell, QueuedSteps, Pacing, PublisherBehindAdvice)
