# SPDX-License-Identifier: MIT
"""What the log says about steering: which knob, from what to what, by whom."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import DaemonTestCase, run_tests, wait_until  # noqa: E402


class TestSteeringLog(DaemonTestCase):
    config = {"start": "paused"}

    def test_set_names_knob_old_and_new_value(self):
        self.c("set", {"values": {"injected_current": 1200, "anode_voltage": 900}})
        step = self.c.status()["step"]
        wait_until(lambda: "anode_voltage" in self.d.stderr(), what="the log line")
        log = self.d.stderr()
        self.assertIn("injected_current 1000.0 -> 1200.0 A/m^2, set by tester at step %d" % step, log)
        self.assertIn("anode_voltage 1000.0 -> 900.0 V, set by tester at step %d" % step, log)


if __name__ == "__main__":
    run_tests(TestSteeringLog)
