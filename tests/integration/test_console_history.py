# SPDX-License-Identifier: MIT
"""Issue 17, the console side of the daemon's history: `history NAME` (a
table with the steering markers and stretches), `plot history NAME...`
(drawn once when there is no terminal) and `monitor NAME...` (a line per
change, in script mode, into a pipe).

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_console_history.py
"""
import os
import selectors
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import FAST_KNOBS, run_tests  # noqa: E402
from test_console import CONSOLE, LSAN_CONSOLE, RUN_TIMEOUT, ConsoleTestCase  # noqa: E402


class HistoryAndPlot(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def steer(self):
        self.c.step_and_wait(40)
        self.c("snapshot-state", {"name": "base"})
        self.c("set", {"values": {"injected_current": 2000}})
        self.c.step_and_wait(30)
        self.c("rewind", {"name": "base"})
        self.c.step_and_wait(10)

    def test_history_table_has_markers_and_stretches(self):
        self.steer()
        out = self.ok("-e", "history injected_current points 8")
        lines = out.splitlines()
        self.assertRegex(lines[0], r"step\s+seq\s+samples\s+injected_current \[A/m\^2\]\s+min\s+max")
        self.assertRegex(out, r"\n\s+40\s+-- set injected_current 1000 -> 2000 \(script|tester\)")
        self.assertRegex(out, r"\n\s+70\s+-- rewind base -> step 40 \(tester\)")
        self.assertRegex(out, r"\n\s+41\s+-- from here: rewind")
        self.assertRegex(lines[-1], r"^\s+50\s+80\s+10\s+1000\s")
        # --json: the reply body as one line
        out = self.ok("--json", "-e", "history injected_current")
        self.assertIn('"stretches"', out)

    def test_plot_history_without_a_terminal_draws_once(self):
        self.steer()
        out = self.ok("-e", "plot history injected_current j_injected")
        self.assertIn("injected_current [A/m^2]", out)
        self.assertIn("j_injected [A/m^2]", out)
        self.assertIn("step 40: set injected_current 1000 -> 2000 (tester)", out)
        self.assertIn("step 70: rewind base -> step 40 (tester)", out)
        self.assertTrue(any("\u2502" in line and "2000" in line for line in out.splitlines()))
        err = self.fails("-e", "plot history phi")[1]
        self.assertIn("not a knob or scalar diagnostic", err)

    def test_help_lists_the_commands(self):
        out = self.ok("-e", "help")
        for name in ("history", "monitor"):
            self.assertRegex(out, r"\n\s*%s\s" % name)


class Monitor(ConsoleTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def read_lines(self, proc, n, deadline):
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        lines = []
        while len(lines) < n:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "monitor printed only %r" % lines)
            if sel.select(left):
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
        sel.close()
        return lines

    def test_a_line_per_change_into_a_pipe(self):
        proc = subprocess.Popen([CONSOLE, "-C", self.d.conn_path, "--name", "mon", "-e",
                                 "monitor injected_current lines 3"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
                                         LSAN_OPTIONS=LSAN_CONSOLE))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        deadline = time.monotonic() + RUN_TIMEOUT
        first = self.read_lines(proc, 1, deadline)  # the current value, at once
        self.assertRegex(first[0], r"^injected_current\s+step 0\s+1000 A/m\^2$")
        # Each change is waited for before the next: the monitor's subscription may
        # not be active yet, and then its `get` (twice a second) is what sees it.
        s1 = self.c("set", {"values": {"injected_current": 1500}})["step"]
        line = self.read_lines(proc, 1, deadline)[0]
        self.assertRegex(line, r"^injected_current\s+step %d\s+1500 A/m\^2$" % s1)
        self.c("set", {"values": {"injected_current": 1500}})  # no change: no line
        self.c("set", {"values": {"injected_current": 1700}})
        line = self.read_lines(proc, 1, deadline)[0]
        self.assertRegex(line, r"^injected_current\s+step \d+\s+1700 A/m\^2$")
        self.assertEqual(proc.wait(timeout=RUN_TIMEOUT), 0)
        self.assertNotIn("Sanitizer", proc.stderr.read())

    def test_refuses_an_array(self):
        err = self.fails("-e", "monitor phi lines 1")[1]
        self.assertIn("not a knob or scalar diagnostic", err)


if __name__ == "__main__":
    run_tests(HistoryAndPlot, Monitor)
