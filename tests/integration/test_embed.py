# SPDX-License-Identifier: MIT
"""Codes that keep their own main() and embed libsteerd, run as real processes:
examples/embed-fortran/heat (Fortran 2008 through the steerd module and the
variable-binding builder), examples/embed-cpp/nbody (C++, a descriptor with
static callbacks into its object) and tests/embed/nosave (the builder without
state). Each is attached with the same clients as the daemon: hello, set a
knob and see it in the diagnostics, the stream, pause/step/resume,
checkpoint, stop, --restart and continue bitwise; steer-console attaches;
a code without save gets `unsupported`.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (BUILD, REPO, DaemonTestCase, Steerd, run_tests,  # noqa: E402
                            wait_until)

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
HEAT = os.path.join(BUILD_DIR, "examples", "embed-fortran", "heat")
NBODY = os.path.join(BUILD_DIR, "examples", "embed-cpp", "nbody")
NOSAVE = os.path.join(BUILD_DIR, "tests", "embed", "nosave")
CONSOLE = os.path.join(BUILD_DIR, "bin", "steer-console")
LSAN_CONSOLE = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "lsan-console.supp")


def embed_config(knobs=None, every=None):
    """A config for an embedded code: no simulation.adapter (the code is it),
    paused, free loopback ports, checkpoints in the run's directory."""
    return {
        "simulation": {"knobs": dict(knobs or {})},
        "run": {"start": "paused", "max_steps": 0},
        "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"},
        "diagnostics": {"scalars_every": 1, "arrays_every": 1, "heartbeat_ms": 50,
                        "send_hwm": 1000, **({"every": every} if every else {})},
        "checkpoint": {"directory": "checkpoints", "on_exit": False},
    }


class EmbedCase(DaemonTestCase):
    autostart = False

    def start_code(self, exe, knobs=None, args=(), every=None):
        d = Steerd(config=embed_config(knobs, every), command=[exe], args=args)
        self.addCleanup(d.cleanup)
        self._daemons = getattr(self, "_daemons", []) + [d]
        d.start()
        return d, d.client("tester")

    def scalars_at(self, sub, step):
        """The code's scalars published at STEP, as {name: value} (without steerd's own,
        steerd_boundary_fraction, a wall-time ratio no restart repeats)."""
        m, _ = sub.expect(lambda m: m.topic == "scalars" and m["step"] == step,
                          what="scalars of step %d" % step)
        return {k: v for k, v in zip(m["names"], m.floats()) if not k.startswith("steerd_")}

    def array_at(self, sub, name, step):
        """The raw bytes of array NAME published at STEP (bitwise comparisons)."""
        m, _ = sub.expect(lambda m: m.topic == "array." + name and m["step"] == step,
                          what="array.%s of step %d" % (name, step))
        return m.data[0]

    def checkpoint_restart(self, exe, knobs, steer, probe_arrays, more=7):
        """Steer, checkpoint at step S, run `more` steps and record the
        stream; stop; restart from the checkpoint and run the same steps:
        the same step, knobs and bitwise the same diagnostics."""
        d, c = self.start_code(exe, knobs)
        c.step_and_wait(5)
        steer(c)
        c.step_and_wait(3)
        ck = c("checkpoint", {})
        at = ck["step"]
        self.assertEqual(at, 8)
        self.assertTrue(os.path.isfile(ck["path"]), ck)
        knobs_then = c.knobs()
        sub = d.subscriber("scalars", *("array." + a for a in probe_arrays))
        c.step_and_wait(more)
        want_scalars = self.scalars_at(sub, at + more)
        want_arrays = [self.array_at(sub, a, at + more) for a in probe_arrays]
        d.stop()

        r, rc = self.start_code(exe, knobs, args=["--restart", ck["path"]])
        st = rc.status()
        self.assertEqual(st["step"], at)
        self.assertEqual(st["state"], "paused")
        self.assertEqual(rc.knobs(), knobs_then)
        rsub = r.subscriber("scalars", *("array." + a for a in probe_arrays))
        rc.step_and_wait(more)
        self.assertEqual(self.scalars_at(rsub, at + more), want_scalars)
        for a, want in zip(probe_arrays, want_arrays):
            self.assertEqual(self.array_at(rsub, a, at + more), want, "array %s differs" % a)
        r.stop()


class FortranHeat(EmbedCase):
    def test_hello_knobs_from_config_and_stream(self):
        d, c = self.start_code(HEAT, {"t_left": 450, "dt": 0.02})
        h = c("hello")
        self.assertEqual(h["adapter"]["name"], "heat1d")
        self.assertEqual(h["state"], "paused")
        self.assertEqual({k["name"] for k in h["knobs"]},
                         {"alpha", "dt", "t_left", "t_right", "t_initial", "print_every"})
        knobs = c.knobs()
        self.assertEqual(knobs["t_left"], 450)   # the config's value, written into the variable
        self.assertEqual(knobs["dt"], 0.02)      # a fixed knob from the config
        self.assertEqual(knobs["t_right"], 300)  # the code's initial value is the default
        sub = d.subscriber("scalars", "array.u")
        c.step_and_wait(1)
        s = self.scalars_at(sub, 1)
        self.assertEqual(s["t_mid"], 300.0)
        m, _ = sub.expect(lambda m: m.topic == "array.u" and m["step"] == 1, what="array.u")
        self.assertEqual(m["axis"], "x")
        self.assertEqual(m["unit"], "K")
        u = m.floats()
        self.assertEqual(len(u), 101)
        self.assertEqual((u[0], u[-1]), (450.0, 300.0))
        self.assertEqual(c("status")["time"], 0.02)

    def test_set_writes_the_variable_between_steps(self):
        d, c = self.start_code(HEAT)
        sub = d.subscriber("array.u")
        c.step_and_wait(2)
        c("set", {"values": {"t_left": 1000}})
        self.assertEqual(c.get1("t_left"), 1000)
        until = c.step_and_wait(1)
        m, _ = sub.expect(lambda m: m["step"] == until, what="array.u after the set")
        u = m.floats()
        self.assertEqual(u[0], 1000.0)  # the code held its end at the new value
        self.assertGreater(u[1], 300.0)  # and heat flowed in from it
        self.assertEqual(c.error("set", {"values": {"dt": 0.01}}), "fixed_knob")
        self.assertEqual(c.error("set", {"values": {"alpha": 1.0}}), "out_of_range")

    def test_pause_step_resume(self):
        d, c = self.start_code(HEAT)
        self.assertEqual(c.step_and_wait(4), 4)
        self.assertEqual(c.status()["step"], 4)
        c("resume")
        st = c.wait_step(50)
        self.assertEqual(st["state"], "running")
        c("pause")
        paused = wait_until(lambda: (lambda s: s["state"] == "paused" and s)(c.status()),
                            what="paused")
        self.assertEqual(c.status()["step"], paused["step"])  # it stays there
        self.assertEqual(c.step_and_wait(1), paused["step"] + 1)

    def test_checkpoint_restart_continues_bitwise(self):
        def steer(c):
            c("set", {"values": {"t_left": 900, "alpha": 5e-4}})
        self.checkpoint_restart(HEAT, {"t_right": 250}, steer, ["u"])

    def test_steady_state_is_the_straight_line(self):
        """Physics: with both ends held, the rod relaxes to the linear
        profile; the slowest mode decays as exp(-pi^2 alpha t / L^2), here
        tau = 101 s, so after 1200 s (11.9 tau) the middle is within 1 mK of
        the mean of the ends."""
        d, c = self.start_code(HEAT, {"alpha": 1e-3, "t_left": 400, "t_right": 300},
                               every={"u": 0, "x": 0})
        c.step_and_wait(30000, timeout=120)
        self.assertAlmostEqual(c.status()["time"], 1200.0, delta=1e-6)
        self.assertAlmostEqual(c.get1("t_mid"), 350.0, delta=1e-3)
        self.assertAlmostEqual(c.get1("t_mean"), 350.0, delta=1e-3)

    def test_steerd_options_on_the_command_line(self):
        """--log-level and --connection-file=PATH as steerd takes them; a
        missing value is a usage error, unknown arguments are the code's."""
        d, c = self.start_code(HEAT, args=["--log-level=error"])
        c("set", {"values": {"t_left": 500}})
        c.step_and_wait(1)  # the set was applied, and would have been logged at info
        self.assertEqual(c.get1("t_left"), 500)
        self.assertNotIn("INFO", d.stderr())
        d.stop()
        p = subprocess.run([HEAT, "--restart"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--restart needs a value", p.stderr)


class CppNBody(EmbedCase):
    def test_set_knob_changes_diagnostics(self):
        d, c = self.start_code(NBODY)
        h = c("hello")
        self.assertEqual(h["adapter"]["name"], "nbody")
        sub = d.subscriber("scalars", "array.radius")
        c.step_and_wait(1)
        before = self.scalars_at(sub, 1)
        self.assertAlmostEqual(before["energy"], before["kinetic"] + before["potential"],
                               delta=1e-12 * abs(before["energy"]))
        self.assertEqual(len(self.array_at(sub, "radius", 1)), 8 * 8)
        c("set", {"values": {"star_mass": 4e30}})
        self.assertEqual(c.get1("star_mass"), 4e30)
        c.step_and_wait(1)
        after = self.scalars_at(sub, 2)
        # A heavier star binds the planets deeper: the potential energy roughly doubles.
        self.assertLess(after["potential"], 1.8 * before["potential"])

    def test_checkpoint_restart_continues_bitwise(self):
        def steer(c):
            c("set", {"values": {"star_mass": 2.5e30, "dt": 43200}})
        self.checkpoint_restart(NBODY, {"softening": 2e7}, steer, ["radius"])

    def test_restart_refuses_a_foreign_checkpoint(self):
        """A heat1d checkpoint is not nbody's: refused at start with a message."""
        d, c = self.start_code(HEAT)
        c.step_and_wait(1)
        path = c("checkpoint", {})["path"]
        d.stop()
        p = subprocess.run([NBODY, "--restart", path], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, XDG_RUNTIME_DIR=d.tmp))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("heat1d", p.stderr)


class Console(EmbedCase):
    def test_console_attaches_in_script_mode(self):
        d, c = self.start_code(HEAT)
        c.step_and_wait(3)
        p = subprocess.run([CONSOLE, "-C", d.conn_path, "-e", "status"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LSAN_OPTIONS=LSAN_CONSOLE))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"adapter\s+heat1d")
        self.assertRegex(p.stdout, r"step\s+3\b")


class NoSave(EmbedCase):
    def test_commands_needing_save_are_unsupported(self):
        d, c = self.start_code(NOSAVE, {"gain": 2})
        c.step_and_wait(3)
        self.assertEqual(c.get1("gain"), 2)
        self.assertGreater(c.get1("level"), 0)
        before = c.status()
        for cmd, body in (("checkpoint", {}), ("snapshot-state", {"name": "a"}),
                          ("search", {"knob": "gain", "from": 0, "to": 1, "until": "level"})):
            h, b = c.request(cmd, body)
            self.assertFalse(h["ok"], cmd)
            self.assertEqual(b["error"]["code"], "unsupported", (cmd, b))
            self.assertIn("save", b["error"]["message"])
        self.assertEqual(c.status()["step"], before["step"])  # nothing changed
        self.assertEqual(os.listdir(d.tmp).count("checkpoints"), 0)
        d.stop()


if __name__ == "__main__":
    run_tests(FortranHeat, CppNBody, Console, NoSave)
