# SPDX-License-Identifier: MIT
"""Issue 19, points 1 and 5 in steer-console: `events on|off|NAME...` mutes or
filters the events printed at the prompt (through tmux), and `status` shows
queued steps as "stepping, N left" without the fields kept for programs;
`cancel steps` drops them (script mode).

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_console_steps_events.py
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import FAST_KNOBS, run_tests  # noqa: E402
from test_console import ConsoleTestCase  # noqa: E402
from test_console_tmux import TmuxTestCase  # noqa: E402


class ScriptSteps(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_status_shows_queued_steps_and_cancel_steps_drops_them(self):
        out = self.ok("-e", "step 2000000; status; cancel steps; status")
        m = re.search(r"(?m)^state\s+stepping, (\d+) left \(then paused\)$", out)
        self.assertTrue(m, out)
        self.assertGreater(int(m.group(1)), 0)
        self.assertRegex(out, r"cancelled \d+ queued steps; paused at step \d+")
        self.assertRegex(out, r"(?m)^state\s+paused$")
        # the fields kept for programs are not shown; the rest is
        self.assertNotRegex(out, r"(?m)^(seq|steps_left|stepping)  ")  # a table row
        for row in ("adapter", "step", "time", "steps_per_second", "ramps"):
            self.assertRegex(out, r"(?m)^%s\s" % row)
        st = self.c.status()
        self.assertEqual((st["steps_left"], st["stepping"]), (0, False))

    def test_json_status_is_the_whole_reply(self):
        out = self.ok("--json", "-e", "status")
        self.assertEqual(set(json.loads(out.strip().splitlines()[-1])),
                         set(self.c.status()))

    def test_cancel_without_ramps_says_how_to_cancel_steps(self):
        out = self.ok("-e", "cancel")
        self.assertIn("no ramps to cancel (queued steps: `cancel steps`", out)

    def test_cancel_steps_with_none_queued_fails(self):
        _, err = self.fails("-e", "cancel steps")
        self.assertIn("no steps queued", err)


class ScriptEvents(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_events_command_sets_and_shows_the_filter(self):
        out = self.ok("-e", "events; events off; events indicator knob_changed; events on")
        self.assertEqual(out.splitlines(), ["events on (all printed)", "events off (none printed)",
                                            "events: only indicator knob_changed",
                                            "events on (all printed)"])

    def test_bad_event_name(self):
        _, err = self.fails("-e", "events Indicator!")
        self.assertIn("'Indicator!' is not an event name", err)


class InteractiveEvents(TmuxTestCase):
    """Events arrive in order on the one SUB socket: once the line of a later
    event is on screen, an earlier one has been handled, shown or not."""

    def command(self, s, line, reply):
        self.tm.type(s, line)
        self.tm.keys(s, "Enter")
        self.tm.wait_text(s, reply)

    def test_events_off_mutes_and_on_restores(self):
        s = self.console("a", client="alice")
        self.command(s, "events off", "events off (none printed)")
        self.c("set", {"values": {"injected_current": 1111}})
        self.command(s, "events on", "events on (all printed)")
        self.c("set", {"values": {"injected_current": 1222}})
        self.tm.wait_text(s, "-> 1222 A/m^2 (by tester)")
        self.assertNotIn("1111 A/m^2 (by tester)", self.tm.screen(s))

    def test_events_names_filter(self):
        s = self.console("a", client="alice")
        self.command(s, "events paused", "events: only paused")
        self.c("set", {"values": {"injected_current": 1333}})
        self.c("pause")
        self.tm.wait_text(s, "paused by tester")
        self.assertNotIn("1333 A/m^2 (by tester)", self.tm.screen(s))


if __name__ == "__main__":
    run_tests(ScriptSteps, ScriptEvents, InteractiveEvents)
