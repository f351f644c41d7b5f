# SPDX-License-Identifier: MIT
"""steerd under systemd, without systemd: the notifications (READY, STOPPING,
WATCHDOG) arrive on a datagram socket the test provides as NOTIFY_SOCKET,
log lines carry journald priorities when JOURNAL_STREAM names stderr, and
the unit file (configs/systemd/steerd@.service.in) passes systemd-analyze."""
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (BIN, BUILD, REPO, Steerd, WAIT_TIMEOUT, make_config,  # noqa: E402
                            run_tests)

SLOW = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), "bench",
                    "libslow.so")
UNIT = os.path.join(REPO, "configs", "systemd", "steerd@.service.in")


class Notify(unittest.TestCase):
    """A fake service manager: the datagram socket systemd would listen on."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="steerd-notify-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(self.path)
        # Read as systemd does, at once: a unix datagram socket holds only
        # net.unix.max_dgram_qlen (10) unread messages, then sd_notify blocks.
        self.got = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                msg = self.sock.recv(4096).decode()
            except OSError:
                return
            self.got.put(dict(line.split("=", 1) for line in msg.splitlines() if "=" in line))

    def start(self, config, watchdog_usec=None):
        env = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        d = Steerd(config, env=env)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    def notifications(self, until, timeout=WAIT_TIMEOUT):
        """Datagrams (as dicts) until one has the key UNTIL; all of them."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "no %s among %r" % (until, got))
            try:
                fields = self.got.get(timeout=left)
            except queue.Empty:
                continue
            got.append(fields)
            if until in fields:
                return got

    def test_ready_then_stopping(self):
        d = self.start(make_config())
        ready = self.notifications("READY")[-1]
        self.assertEqual(ready["READY"], "1")
        self.assertIn("pic1d", ready["STATUS"])
        # READY comes once the connection file is written: a client can attach.
        self.assertTrue(os.path.exists(d.conn_path))
        d.stop()
        self.assertEqual(self.notifications("STOPPING")[-1]["STOPPING"], "1")

    @unittest.skipUnless(os.path.exists(SLOW), "the slow adapter is not built (make tests-build)")
    def test_watchdog_pings_during_a_long_step(self):
        """One step takes 3 s; pings (every 0.1 s) keep coming meanwhile, since
        the control thread still answers: a long step is not a hang."""
        cfg = make_config(start="paused")
        cfg["simulation"] = {"adapter": SLOW, "knobs": {"step_ms": 3000}}
        d = self.start(cfg, watchdog_usec=200000)
        self.notifications("READY")
        c = d.client()
        c("step", {"n": 1})
        # The step is running (it never ends within the pings counted below).
        pings = 0
        while pings < 10:
            if "WATCHDOG" in self.notifications("WATCHDOG")[-1]:
                pings += 1
        self.assertEqual(c("status")["step"], 0, "the 3 s step should still be running")
        d.stop()

    def test_no_watchdog_thread_without_watchdog_usec(self):
        d = self.start(make_config())
        self.notifications("READY")
        self.assertNotIn("watchdog", d.stderr())


class JournalPriorities(unittest.TestCase):
    def test_lines_start_with_syslog_priority_when_stderr_is_the_journal(self):
        d = Steerd(make_config())
        self.addCleanup(d.cleanup)
        # stderr goes to this file: name it as systemd names the journal stream.
        open(d.stderr_path, "wb").close()
        st = os.stat(d.stderr_path)
        d.env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        d.start()
        d.stop()
        lines = [ln for ln in d.stderr().splitlines() if ln.strip()]
        self.assertTrue(lines)
        for ln in lines:
            self.assertRegex(ln, r"^<[3467]>(ERROR|WARN|INFO|DEBUG) ")
        self.assertTrue(any(ln.startswith("<6>INFO ") for ln in lines))


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
class UnitFile(unittest.TestCase):
    def test_systemd_analyze_verify(self):
        tmp = tempfile.mkdtemp(prefix="steerd-unit-")
        self.addCleanup(shutil.rmtree, tmp, True)
        with open(UNIT) as f:
            text = f.read().replace("@BINDIR@", os.path.dirname(BIN))
        with open(os.path.join(tmp, "steerd@.service"), "w") as f:
            f.write(text)
        p = subprocess.run(["systemd-analyze", "verify", os.path.join(tmp, "steerd@diode.service")],
                           capture_output=True, text=True, timeout=120, cwd=tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", "systemd-analyze warned")
        for want in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "PrivateTmp=yes"):
            self.assertIn(want, text)


if __name__ == "__main__":
    run_tests(Notify, JournalPriorities, UnitFile)
