# SPDX-License-Identifier: MIT
"""The example Python client (examples/python/steer_client.py) and a daemon
that hangs, dies or comes back:

  - heartbeats watched: a stopped daemon (SIGSTOP) is reported not responding
    once heartbeat_misses periods pass without one, back after SIGCONT;
  - kill -9 and a new steerd on the same endpoints, or on new ports written
    to the same connection file: the client finds it, and its calls and its
    stream work again;
  - a request not answered is sent again on fresh sockets, with the same
    retry_key for a write: a write whose reply was lost is applied once;
  - without heartbeats, `alive` asks `status`;
  - `steer_client.py watch` prints "not responding" and "back".

Run: STEERD_BUILD=build/liveness /usr/bin/python3 tests/integration/test_client_liveness.py
"""
import os
import queue
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import REPO, DaemonTestCase, Steerd, make_config, run_tests, wait_until  # noqa: E402

EXAMPLES = os.path.join(REPO, "examples", "python")
sys.path.insert(0, EXAMPLES)
from steer_client import SteerClient  # noqa: E402

STEER_CLIENT = os.path.join(EXAMPLES, "steer_client.py")
PYTHON = sys.executable or "/usr/bin/python3"

HEARTBEAT_MS = 100
MISSES = 10  # not responding after 10 x 100 ms without a heartbeat
# Bounds, not expectations: an ASan build on a loaded 2-core machine.
SLACK = 5.0
BACK_TIMEOUT = 20.0


class LivenessTestCase(DaemonTestCase):
    config = {"start": "paused", "diagnostics": {"heartbeat_ms": HEARTBEAT_MS}}

    def client(self, **kw):
        args = dict(name="liveness", timeout=2.0, heartbeat_misses=MISSES)
        args.update(kw)
        cl = SteerClient(self.d.conn_path, **args)
        self.addCleanup(cl.close)
        return cl

    def freeze(self):
        """SIGSTOP the daemon; it is continued again at the end of the test at the latest."""
        os.kill(self.d.pid, signal.SIGSTOP)
        self.addCleanup(self.thaw)
        # The stop takes effect when the kernel next runs the daemon's threads:
        # until all are stopped, one of them may still answer.
        tasks = "/proc/%d/task" % self.d.pid

        def state(task):  # the field after "(comm)" in /proc/PID/task/TID/stat
            with open(os.path.join(tasks, task, "stat")) as f:
                return f.read().rsplit(")", 1)[1].split()[0]

        def stopped():
            try:
                return all(state(t) == "T" for t in os.listdir(tasks))
            except OSError:
                return False
        wait_until(stopped, what="all of steerd's threads stopped")

    def thaw(self):
        if self.d.alive():
            os.kill(self.d.pid, signal.SIGCONT)

    def tearDown(self):
        self.thaw()  # before the daemon is asked to stop
        DaemonTestCase.tearDown(self)

    def kill9(self):
        self.d.proc.kill()
        self.d.proc.wait(30)

    def restart(self, same_endpoints):
        """A new steerd writing the same connection file (the killed one's is
        still there), on the same endpoints or on new free ports."""
        extra = None
        if same_endpoints:
            extra = {"endpoints": {"control": self.d.conn["control"],
                                   "diagnostics": self.d.conn["diagnostics"]}}
        d2 = Steerd(config=make_config(start="paused", diagnostics={"heartbeat_ms": HEARTBEAT_MS},
                                       extra=extra))
        d2.conn_path = self.d.conn_path
        self.addCleanup(d2.cleanup)
        self._daemons.append(d2)  # tearDown stops it and checks a clean exit
        d2.start(wait=False)
        wait_until(lambda: d2.wait_connection_file()["pid"] == d2.pid, what="the new connection file")
        if same_endpoints:
            self.assertEqual(d2.conn["control"], self.d.conn["control"])
        return d2

    def wait_not_responding(self, cl):
        wait_until(lambda: not cl.alive, cl.silence_limit + SLACK, what="'not responding'")

    def wait_back(self, cl):
        wait_until(lambda: cl.alive, BACK_TIMEOUT, what="'back'")


class Heartbeats(LivenessTestCase):
    def test_stopped_daemon_not_responding_then_back(self):
        cl = self.client(watch=True)
        self.assertTrue(cl.alive)
        # The period is measured from the heartbeats: 10 x ~100 ms.
        wait_until(lambda: cl.silence_limit < 2.0, what="the heartbeat period measured")
        limit = cl.silence_limit
        self.assertGreaterEqual(limit, MISSES * HEARTBEAT_MS / 1000.0 * 0.9)
        self.assertTrue(cl.alive)
        self.freeze()
        stopped = time.monotonic()
        self.wait_not_responding(cl)
        self.assertLessEqual(time.monotonic() - stopped, limit + SLACK)
        self.assertGreater(cl.heartbeat_age, limit)
        # Still not responding once the silence is well past the limit: no
        # heartbeat comes from a stopped process.
        wait_until(lambda: cl.heartbeat_age > limit + 0.3, limit + SLACK,
                   what="the silence to pass the limit by 0.3 s")
        self.assertFalse(cl.alive)
        os.kill(self.d.pid, signal.SIGCONT)
        self.wait_back(cl)
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        self.assertEqual(cl.last_heartbeat["state"], "paused")

    def test_killed_daemon_restarted_on_same_endpoints(self):
        cl = self.client(watch=True)
        cl.set(injected_current=1200)
        self.kill9()
        self.wait_not_responding(cl)
        d2 = self.restart(same_endpoints=True)
        self.wait_back(cl)
        self.assertEqual(cl.endpoints["pid"], d2.pid, "the connection file was read again")
        # A new daemon: its own knobs, and the client steers it.
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        self.assertEqual(cl.set(injected_current=1300)["applied"], {"injected_current": 1300.0})
        self.assertEqual(d2.client().get1("injected_current"), 1300.0)

    def test_killed_daemon_restarted_on_new_ports(self):
        cl = self.client(watch=True)
        cl.subscribe("event.knob_changed")
        old = cl.endpoints["control"]
        self.kill9()
        self.wait_not_responding(cl)
        d2 = self.restart(same_endpoints=False)
        self.assertNotEqual(d2.conn["control"], old)
        self.wait_back(cl)  # the heartbeat socket moved to the new endpoint
        self.assertEqual(cl.endpoints["control"], d2.conn["control"])
        self.assertEqual(cl.set(injected_current=1400)["applied"], {"injected_current": 1400.0})
        # The stream subscriptions moved too.
        deadline = time.monotonic() + BACK_TIMEOUT
        while True:
            m = cl.recv(max(0.0, deadline - time.monotonic()))
            self.assertIsNotNone(m, "no knob_changed event from the new daemon")
            if m[0] == "event.knob_changed":
                break
        self.assertEqual(m[1]["new"], 1400.0)

    def test_cli_watch_prints_not_responding_and_back(self):
        # The period is given, not measured (the library's measurement is
        # tested above): "daemon alive" is then all there is to wait for.
        p = subprocess.Popen([PYTHON, STEER_CLIENT, "-C", self.d.conn_path, "watch",
                              "--misses", str(MISSES), "--heartbeat-ms", str(HEARTBEAT_MS),
                              "--seconds", "60"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             # Ctrl-C ends it: SIGINT may be ignored here (a background job).
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(ln) for ln in p.stdout], daemon=True).start()

        def expect(text):
            deadline = time.monotonic() + BACK_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    ln = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if text in ln:
                    return ln
                self.fail("expected %r, got %r" % (text, ln))
            self.fail("no %r line from watch" % text)

        self.assertIn("pid %d, step 0, paused" % self.d.pid, expect("daemon alive"))
        self.freeze()
        expect("daemon not responding: no heartbeat for")
        os.kill(self.d.pid, signal.SIGCONT)
        expect("daemon back: pid %d" % self.d.pid)
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(30), 0, p.stderr.read())


class Retries(LivenessTestCase):
    def test_lost_reply_write_applied_once(self):
        """A set sent to a daemon that then freezes: the reply is lost, the set
        is sent again on new sockets with the same retry_key, and once the
        daemon runs again it is applied once."""
        sub = self.d.subscriber("event.knob_changed")
        cl = self.client(timeout=0.5, attempts=10, backoff=0.2)
        cl.status()  # connected before the freeze: the first copy reaches the daemon
        sent = []  # (id, retry_key, DEALER socket) of every copy sent
        send = cl._send

        def spy(header, body):
            rid = send(header, body)
            sent.append((header["id"], header.get("retry_key"), cl.ctl))
            return rid
        cl._send = spy
        result = {}
        self.freeze()
        t = threading.Thread(target=lambda: result.update(r=cl.set(injected_current=1777)))
        t.start()
        wait_until(lambda: len(sent) >= 3, what="the set sent 3 times")
        os.kill(self.d.pid, signal.SIGCONT)
        t.join(60)
        self.assertIn("r", result, "set did not return")
        self.assertEqual(result["r"]["applied"], {"injected_current": 1777.0})
        self.assertEqual(len({(i, k) for i, k, _ in sent}), 1, "one id and retry_key: %r" % sent)
        self.assertTrue(sent[0][1], "a write carries a retry_key")
        self.assertEqual(len({id(s) for _, _, s in sent}), len(sent), "a fresh socket for each copy")
        first = sub.event("knob_changed")
        self.assertEqual((first["new"], first["client"]), (1777.0, "liveness"))
        self.assertEqual(first["step"], result["r"]["step"])
        self.c.step_and_wait(2)
        self.assertIsNone(sub.recv(timeout=0.5), "applied twice")

    def test_same_retry_key_twice_applied_once(self):
        sub = self.d.subscriber("event.knob_changed")
        cl = self.client()
        body = {"values": {"injected_current": 1500}}
        r1 = cl.call("set", body, retry_key="liveness-1")
        cl.reconnect()  # as after a lost reply: a new connection
        r2 = cl.call("set", body, retry_key="liveness-1")
        self.assertEqual(r1, r2, "the second copy gets the first reply")
        self.assertEqual(sub.event("knob_changed")["new"], 1500.0)
        self.c.step_and_wait(2)
        self.assertIsNone(sub.recv(timeout=0.5), "applied twice")
        # Without a key of its own, each call is a new write: applied again at
        # the later step (a repeat of the first would get the first step).
        s1 = cl.set(injected_current=1600)["step"]
        self.c.step_and_wait(1)
        self.assertEqual(cl.set(injected_current=1600)["step"], s1 + 1)

    def test_reads_carry_no_retry_key(self):
        cl = self.client()
        self.assertNotIn("retry_key", cl._header("get"))
        for cmd in ("set", "ramp", "pause", "resume", "step", "cancel", "checkpoint",
                    "snapshot-state", "rewind", "search", "shutdown"):
            self.assertRegex(cl._header(cmd).get("retry_key", ""), r"^[0-9a-f]{32}$", cmd)

    def test_gives_up_then_follows_a_restart_to_new_ports(self):
        cl = self.client(timeout=0.5, attempts=2, backoff=0.1)
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        self.kill9()
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError):
            cl.get("injected_current")
        self.assertLess(time.monotonic() - t0, 2 * 0.5 + 0.1 + SLACK)
        d2 = self.restart(same_endpoints=False)
        cl.set(injected_current=1250)  # a fresh socket each attempt, the file read again
        self.assertEqual(cl.endpoints["control"], d2.conn["control"])
        self.assertEqual(d2.client().get1("injected_current"), 1250.0)

    def test_alive_without_heartbeats_asks_status(self):
        cl = self.client()
        self.assertIsNone(cl.silence_limit)
        self.assertTrue(cl.alive)
        self.freeze()
        self.assertFalse(cl.alive)
        os.kill(self.d.pid, signal.SIGCONT)
        wait_until(lambda: cl.alive, BACK_TIMEOUT, what="a status reply")
        self.assertEqual(cl.status()["state"], "paused")


if __name__ == "__main__":
    run_tests(Heartbeats, Retries)
