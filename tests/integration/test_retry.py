# SPDX-License-Identifier: MIT
"""Retried writes: a write sent again with the same header.retry_key (after a
lost reply) gets the first reply and is not applied twice (PROTOCOL.md)."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import BUILD, REPO, DaemonTestCase, run_tests  # noqa: E402

CONSOLE = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), "bin",
                       "steer-console")


class TestRetry(DaemonTestCase):
    config = {"start": "paused"}

    def test_same_key_same_reply_applied_once(self):
        sub = self.d.subscriber("event.knob_changed")
        body = {"values": {"injected_current": 1234}}
        h1, r1 = self.c.request("set", body, header_extra={"retry_key": "k-1"})
        self.c.step_and_wait(3)
        # A new connection, as after a reconnect: same client name, same key.
        again = self.d.client("tester")
        h2, r2 = again.request("set", body, header_extra={"retry_key": "k-1"})
        self.assertTrue(h1["ok"] and h2["ok"])
        self.assertEqual(r1, r2, "the retry gets the first reply, step included")
        self.assert_applied_once(sub, "injected_current", 1234.0)

    def test_same_refusal_again(self):
        # An error reply is not kept for the key (nothing changed): the repeat is checked
        # afresh and, being the same request, refused the same way.
        body = {"values": {"injected_current": -5}}
        h1, r1 = self.c.request("set", body, header_extra={"retry_key": "bad"})
        h2, r2 = self.c.request("set", body, header_extra={"retry_key": "bad"})
        self.assertFalse(h1["ok"] or h2["ok"])
        self.assertEqual(r1, r2)

    def test_keys_are_per_client(self):
        a, b = self.d.client("alice"), self.d.client("bob")
        _, ra = a.request("set", {"values": {"injected_current": 1100}}, header_extra={"retry_key": "x"})
        _, rb = b.request("set", {"values": {"injected_current": 1200}}, header_extra={"retry_key": "x"})
        self.assertEqual(ra["applied"]["injected_current"], 1100.0)
        self.assertEqual(rb["applied"]["injected_current"], 1200.0)

    def test_bad_key_is_refused(self):
        for bad in ("", 5, "x" * 65):
            h, r = self.c.request("set", {"values": {"injected_current": 1}},
                                  header_extra={"retry_key": bad})
            self.assertEqual(r["error"]["code"], "bad_request")


    def test_console_retries_a_hung_daemon_once_applied(self):
        """A daemon frozen (SIGSTOP) past the console's timeout: the console
        sends again on new sockets, and the change is applied exactly once."""
        sub = self.d.subscriber("event.knob_changed")
        os.kill(self.d.pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([CONSOLE, "-C", self.d.conn_path, "--name", "retrier", "-e",
                                  "set injected_current 1777"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # The console says when it gives up on an attempt and asks again.
            line = p.stderr.readline().decode()
            self.assertIn("asking again (attempt 2 of", line)
        finally:
            os.kill(self.d.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err.decode())
        self.assertEqual(self.c.get1("injected_current"), 1777.0)
        self.assert_applied_once(sub, "injected_current", 1777.0)

    def assert_applied_once(self, sub, knob, value):
        """The knob_changed events of SUB are one for VALUE and then only the
        two markers set after it: a duplicate apply would come in between.
        Two markers, one after the other's reply: ZeroMQ's ROUTER serves every
        connection with a message waiting before it serves the same one again,
        so a stale resend still queued is applied before the second marker."""
        self.assertEqual(sub.expect(lambda m: m.topic == "event.knob_changed")[0]["new"], value)
        for marker in (1501.0, 1502.0):
            self.c.call("set", {"values": {knob: marker}})
        for marker in (1501.0, 1502.0):
            m = sub.expect(lambda m: m.topic == "event.knob_changed")[0]
            self.assertEqual(m["new"], marker, "applied twice (an event before the marker)")


if __name__ == "__main__":
    run_tests(TestRetry)
