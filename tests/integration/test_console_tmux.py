# SPDX-License-Identifier: MIT
"""steer-console at its prompt, driven through a real pseudo-terminal by tmux:
tab completion, an event arriving while a line is half typed, history kept
across sessions, two consoles seeing each other's changes, watch and plot.

Each test has its own tmux server (-L), so a user's tmux is never touched.
Every wait polls the screen for a condition, bounded; nothing is timed.

Run: STEERD_BUILD=build/con /usr/bin/python3 tests/integration/test_console_tmux.py
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from steerd_harness import (FAST_KNOBS, DaemonTestCase, Steerd, make_config, run_tests,  # noqa: E402
                            wait_until)
from test_console import CONSOLE  # noqa: E402

SCREEN_TIMEOUT = 30.0
PROMPT = re.compile(r"pic1d (running|paused) \d+>")


class Tmux:
    """One tmux server with one window per console."""

    def __init__(self, tmp):
        self.sock = "steer-test-%d-%d" % (os.getpid(), id(self))
        self.tmp = tmp
        self.sessions = []

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              text=True, check=check, timeout=30)

    def start(self, name, argv, env=None):
        cmd = " ".join(shlex.quote(a) for a in
                       ["env"] + ["%s=%s" % kv for kv in (env or {}).items()] + argv)
        # Keep the pane after the console exits, to read its last words.
        self.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmd)
        self.tmux("set-option", "-t", name, "remain-on-exit", "on")
        self.sessions.append(name)
        return name

    def keys(self, name, *keys):
        self.tmux("send-keys", "-t", name, *keys)

    def type(self, name, text):
        self.tmux("send-keys", "-t", name, "-l", text)

    def screen(self, name):
        return self.tmux("capture-pane", "-p", "-t", name).stdout

    def lines(self, name):
        return [x for x in self.screen(name).splitlines() if x.strip()]

    def last_line(self, name):
        lines = self.lines(name)
        return lines[-1] if lines else ""

    def wait(self, name, pred, what):
        try:
            return wait_until(lambda: pred(self.screen(name)), SCREEN_TIMEOUT, what=what)
        except AssertionError as e:
            raise AssertionError("%s\n--- screen:\n%s" % (e, self.screen(name)))

    def wait_text(self, name, text):
        return self.wait(name, lambda s: text in s, repr(text))

    def wait_prompt(self, name, tail=""):
        """The last line is a prompt followed by exactly `tail`."""
        def ok(_):
            last = self.last_line(name)
            m = PROMPT.search(last)
            return m and last[m.end():].strip() == tail
        return self.wait(name, ok, "prompt with %r" % tail)

    def cursor_below_text(self, name):
        """The cursor is on a line below the last text: a command is running."""
        rows = self.screen(name).split("\n")
        last = max([i for i, r in enumerate(rows) if r.strip()] or [0])
        y = int(self.tmux("display-message", "-p", "-t", name, "#{cursor_y}").stdout.strip())
        return y > last

    def dead(self, name):
        r = self.tmux("list-panes", "-t", name, "-F", "#{pane_dead}", check=False)
        return r.stdout.strip() == "1"

    def kill(self):
        self.tmux("kill-server", check=False)


class TmuxTestCase(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS}

    def setUp(self):
        if not shutil.which("tmux"):
            self.skipTest("tmux is not installed")
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="steer-console-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.state = os.path.join(self.tmp, "state")
        self.tm = Tmux(self.tmp)
        self.addCleanup(self.tm.kill)

    def console(self, name, client=None):
        env = {"XDG_STATE_HOME": self.state, "TERM": "xterm-256color"}
        self.tm.start(name, [CONSOLE, "-C", self.d.conn_path, "--name", client or name], env)
        self.tm.wait_prompt(name)
        return name


class Interactive(TmuxTestCase):
    def test_tab_completes_a_knob_name(self):
        s = self.console("a")
        self.tm.type(s, "set anode_v")
        self.tm.keys(s, "Tab")
        self.tm.wait_prompt(s, "set anode_voltage")
        # After the number, Tab completes the knob's unit with an SI prefix.
        self.tm.type(s, "1.1 k")  # completing the name added a blank
        self.tm.keys(s, "Tab")
        self.tm.wait_prompt(s, "set anode_voltage 1.1 kV")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: re.search(r"anode_voltage\s+=\s+1100\s+V", t), "set reply")
        self.assertEqual(self.c.get1("anode_voltage"), 1100.0)

    def test_tab_completes_commands_and_choices(self):
        s = self.console("a")
        self.tm.type(s, "sna")
        self.tm.keys(s, "Tab")
        self.tm.wait_prompt(s, "snapshot")
        self.tm.keys(s, "C-u")
        self.tm.type(s, "plot ph")
        self.tm.keys(s, "Tab", "Tab")
        self.tm.wait(s, lambda t: "phase_x" in t and "phase_v" in t and "phi" in t,
                     "array names listed")

    def test_event_while_typing_keeps_the_line(self):
        s = self.console("a", client="alice")
        self.tm.type(s, "get injection_ener")
        self.tm.wait_prompt(s, "get injection_ener")
        self.c("set", {"values": {"injected_current": 1300}})
        self.tm.wait_text(s, "injected_current: 1000 A/m^2 -> 1300 A/m^2 (by tester)")
        # The half-typed line is drawn again, intact, below the event.
        self.tm.wait_prompt(s, "get injection_ener")
        self.tm.type(s, "gy")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: re.search(r"injection_energy\s+100\s+eV", t), "get reply")

    def test_pause_events_and_prompt(self):
        s = self.console("a")
        self.c("pause")
        self.tm.wait_text(s, "paused by tester")
        self.tm.wait(s, lambda _: re.match(r"pic1d paused \d+>", self.tm.last_line(s)),
                     "the prompt to say paused")
        self.c("resume")
        self.tm.wait_text(s, "resumed by tester")

    def test_history_is_kept_across_sessions(self):
        s = self.console("one")
        self.tm.type(s, "get anode_voltage")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: re.search(r"anode_voltage\s+1000\s+V", t), "get reply")
        self.tm.wait_prompt(s)
        self.tm.keys(s, "C-d")
        self.tm.wait(s, lambda _: self.tm.dead(s), "the console to exit on Ctrl-D")
        path = os.path.join(self.state, "steerd", "history")
        with open(path) as f:
            self.assertIn("get anode_voltage", f.read().splitlines())
        self.assertEqual(os.stat(os.path.dirname(path)).st_mode & 0o777, 0o700)
        s2 = self.console("two")
        self.tm.keys(s2, "Up")
        self.tm.wait_prompt(s2, "get anode_voltage")

    def test_two_consoles_see_each_other(self):
        a = self.console("a", client="alice")
        b = self.console("b", client="bob")
        self.tm.type(a, "set injected_current 1.4k")
        self.tm.keys(a, "Enter")
        self.tm.wait_text(b, "injected_current: 1000 A/m^2 -> 1400 A/m^2 (by alice)")
        self.tm.type(b, "ramp anode_voltage 1.2 kV steps 20")
        self.tm.keys(b, "Enter")
        self.tm.wait(a, lambda t: re.search(r"ramp \d+ of anode_voltage: 1000 V -> 1200 V.*\(by bob\)", t),
                     "ramp_started from bob")
        self.tm.wait(a, lambda t: re.search(r"ramp \d+ of anode_voltage finished: anode_voltage = 1200 V", t),
                     "ramp_finished")
        # A console does not echo its own change as an event.
        self.assertNotIn("(by alice)", self.tm.screen(a))

    def test_watch_and_plot_return_on_a_key(self):
        s = self.console("a")
        self.tm.type(s, "watch j_injected particles")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: "any key" in t and re.search(r"j_injected\s+\d", t), "watch view")
        self.tm.keys(s, "q")
        self.tm.wait_prompt(s)
        self.tm.type(s, "plot phi")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: "phi [V] vs x" in t and "\u2502" in t, "plot view")
        self.tm.keys(s, "Space")
        self.tm.wait_prompt(s)
        self.assertNotIn("\u2502", self.tm.screen(s))  # the alternate screen is gone

    def test_ctrl_c_stops_a_wait(self):
        s = self.console("a")
        self.tm.type(s, "wait until injected_current > 1e9")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda _: self.tm.cursor_below_text(s), "the wait to start")
        self.tm.keys(s, "C-c")
        self.tm.wait_text(s, "interrupted")
        self.tm.wait_prompt(s)


class Reconnect(TmuxTestCase):
    def restart_daemon(self):
        """A new steerd (new ports) writing the same connection file."""
        d2 = Steerd(config=make_config(start="running", knobs=FAST_KNOBS))
        self.addCleanup(d2.cleanup)
        d2.conn_path = self.d.conn_path
        d2.start()
        return d2

    def test_clean_restart(self):
        s = self.console("a")
        self.d.stop()
        self.tm.wait_text(s, "steerd is shutting down")
        self.tm.wait(s, lambda _: "(no daemon)>" in self.tm.last_line(s), "prompt: no daemon")
        # While disconnected a command fails at once, it does not hang.
        self.tm.type(s, "get anode_voltage")
        self.tm.keys(s, "Enter")
        self.tm.wait_text(s, "get: not sent: not connected to steerd")
        d2 = self.restart_daemon()
        self.tm.wait_text(s, "connected to steerd")
        # A fresh steerd on the same connection file is another run (hello's run_id).
        self.tm.wait_text(s, ": a different run (run %s)" % d2.client()("hello")["run_id"][:8])
        self.tm.wait_prompt(s)
        self.tm.type(s, "get anode_voltage")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda t: re.search(r"anode_voltage\s+1000\s+V", t), "get reply")

    def test_killed_daemon_then_restart(self):
        s = self.console("a")
        # The prompt's step moves with the heartbeats: they are arriving.
        first = self.tm.last_line(s)
        self.tm.wait(s, lambda _: PROMPT.search(self.tm.last_line(s)) and self.tm.last_line(s) != first,
                     "a heartbeat to move the prompt's step")
        self.d.proc.kill()
        self.d.proc.wait(30)
        # No shutting_down event: the missing heartbeats tell.
        self.tm.wait_text(s, "no heartbeat from steerd")
        self.restart_daemon()
        self.tm.wait_text(s, "connected to steerd")
        self.tm.wait_prompt(s)

    def test_same_process_after_a_silence(self):
        """A daemon that stops answering for a while and comes back is the same process."""
        s = self.console("a")
        # The console times silence from the last heartbeat: let one arrive
        # (the prompt's step moves with them) before the daemon stops.
        first = self.tm.last_line(s)
        self.tm.wait(s, lambda _: PROMPT.search(self.tm.last_line(s)) and self.tm.last_line(s) != first,
                     "a heartbeat to move the prompt's step")
        os.kill(self.d.pid, signal.SIGSTOP)
        try:
            self.tm.wait_text(s, "no heartbeat from steerd")
        finally:
            os.kill(self.d.pid, signal.SIGCONT)
        self.tm.wait_text(s, "connected to steerd")
        self.tm.wait_text(s, ": the same process")
        self.assertNotIn("different run", self.tm.screen(s))

    def test_same_run_restarted_from_a_checkpoint(self):
        """--restart of a checkpoint continues the run: same run_id, new start_id, and the
        console says from which step."""
        s = self.console("a")
        ck = self.c("checkpoint", {"name": "keep.h5"})
        path = ck["path"] if os.path.isabs(ck["path"]) else os.path.join(self.d.tmp, ck["path"])
        before = self.c("hello")
        self.d.stop()
        self.tm.wait_text(s, "steerd is shutting down")
        d2 = Steerd(config=self.d.config_text, args=["--restart", path])
        self.addCleanup(d2.cleanup)
        d2.conn_path = self.d.conn_path
        d2.start()
        after = d2.client()("hello")
        self.assertEqual(after["run_id"], before["run_id"])
        self.assertNotEqual(after["start_id"], before["start_id"])
        self.assertEqual(after["restart_step"], ck["step"])
        note = ": the same run, restarted from its checkpoint at step %d" % ck["step"]
        self.tm.wait(s, lambda t: note in t.replace("\n", ""), repr(note))  # the line may wrap


class Offline(TmuxTestCase):
    def test_help_without_a_daemon(self):
        """No daemon: `help` lists the console's commands from its own table,
        says the live list needs a connection, and `help CMD` shows the syntax."""
        with socket.socket() as closed:  # bound, never listening: connections refused
            closed.bind(("127.0.0.1", 0))
            endpoint = "tcp://127.0.0.1:%d" % closed.getsockname()[1]
            s = "off"
            self.tm.start(s, [CONSOLE, endpoint, "--name", "off"],
                          {"XDG_STATE_HOME": self.state, "TERM": "xterm-256color"})
            self.tm.wait_text(s, "steer (connecting)>")
            self.tm.type(s, "help")
            self.tm.keys(s, "Enter")
            self.tm.wait_text(s, "the daemon's live command list")
            screen = self.tm.screen(s)
            for name in ("set", "ramp", "checkpoint", "snapshot-state", "rewind", "wait"):
                self.assertRegex(screen, r"(?m)^%s\s" % re.escape(name))
            self.tm.keys(s, "C-l")
            self.tm.type(s, "help rewind")
            self.tm.keys(s, "Enter")
            self.tm.wait_text(s, "usage: rewind NAME")



class ShutdownConfirmation(TmuxTestCase):
    """#19 item 3: at the prompt `shutdown` asks first (a stray one would end a
    long run); only a yes stops the daemon. Script mode does not ask."""

    def ask(self, s):
        self.tm.type(s, "shutdown")
        self.tm.keys(s, "Enter")
        self.tm.wait(s, lambda _: re.search(r"stop steerd at step \d+ and end the run\? \[y/N\]",
                                            self.tm.last_line(s)), "the question")

    def test_no_and_ctrl_c_keep_the_run(self):
        s = self.console("a")
        self.ask(s)
        self.tm.type(s, "n")
        self.tm.keys(s, "Enter")
        self.tm.wait_text(s, "not stopped")
        self.tm.wait_prompt(s)
        self.ask(s)
        self.tm.keys(s, "C-c")
        self.tm.wait(s, lambda t: t.count("not stopped") == 2, "a second 'not stopped'")
        self.tm.wait_prompt(s)
        self.assertTrue(self.d.alive())
        step = self.c.status()["step"]
        self.c.wait_step(step + 1)  # still stepping

    def test_yes_stops_the_daemon(self):
        s = self.console("a")
        self.ask(s)
        self.tm.type(s, "y")
        self.tm.keys(s, "Enter")
        self.tm.wait_text(s, "steerd stops after step")
        self.d.expect_clean_exit()

    def test_script_mode_does_not_ask(self):
        p = subprocess.run([CONSOLE, "-C", self.d.conn_path, "-e", "shutdown"], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, XDG_STATE_HOME=self.state))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("[y/N]", p.stdout + p.stderr)
        self.assertIn("steerd stops after step", p.stdout)
        self.d.expect_clean_exit()


if __name__ == "__main__":
    run_tests(Interactive, Reconnect, ShutdownConfirmation, Offline)
