# SPDX-License-Identifier: MIT
"""Checkpoints against a real steerd: bitwise restart (with a ramp in flight),
in-memory snapshot-state/rewind, periodic policy and rotation, the final
checkpoint on SIGTERM, kill -9 during writes, refusals of bad checkpoints,
and the openPMD attributes of what the daemon writes."""
import glob
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (BIN, FAST_KNOBS, DaemonTestCase, Steerd, make_config,  # noqa: E402
                            run_tests, wait_until)
from openpmd_check import check_file as check_openpmd  # noqa: E402

CKPT = {"checkpoint": {"directory": "ckpt"}}
N = 150  # steps before and after the restart


def state_arrays(path):
    """Every dataset the adapter saved, as raw bytes (bitwise comparison)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes()
        f["steerd/state"].visititems(visit)
    return out


def start_without_config(test, restart, cwd):
    """steerd --restart RESTART without -c: it must start; stopped with
    SIGTERM, it must exit 0. Returns its stderr."""
    conn = os.path.join(cwd, "no-config.json")
    with open(os.path.join(cwd, "no-config.log"), "w+b") as log:
        p = subprocess.Popen([BIN, "--restart", restart, "-C", conn], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=log, cwd=cwd)
        try:
            wait_until(lambda: os.path.exists(conn) or p.poll() is not None, 30, what="start")
            test.assertIsNone(p.poll(), "steerd --restart %s exited with %s" % (restart, p.poll()))
        finally:
            p.send_signal(signal.SIGTERM)
            test.assertEqual(p.wait(30), 0)
        log.seek(0)
        return log.read().decode(errors="replace")


def scalar_names(client):
    # steerd_boundary_fraction is steerd's wall-time cost, not the simulation's state
    return [d["name"] for d in client("hello")["diagnostics"]
            if d["rank"] == 0 and d["name"] != "steerd_boundary_fraction"]


class TestRestart(DaemonTestCase):
    autostart = False

    def daemon(self, args=(), knobs=None):
        return self.start_daemon(config=make_config(start="paused", knobs=knobs or FAST_KNOBS,
                                                     extra=CKPT), args=list(args))

    def begin(self, c):
        # A ramp that is still running at step N and at step 2N.
        c("ramp", {"ramps": [{"knob": "injected_current", "to": 1500, "steps": 4 * N}]})
        c("set", {"values": {"thermal_energy": 0.5}})  # random thermal spread: RNG state matters

    def test_restart_is_bitwise_identical(self):
        straight = self.daemon()
        c = straight.client()
        self.begin(c)
        c.step_and_wait(2 * N)
        names = scalar_names(c)
        want = c.get(*names)
        c("checkpoint", {"name": "straight.h5"})
        straight.stop()

        first = self.daemon()
        c = first.client()
        self.begin(c)
        c.step_and_wait(N)
        mid = c("checkpoint", {"name": "mid.h5"})
        self.assertEqual(mid["step"], N)
        first.stop()
        mid_path = os.path.join(first.tmp, "ckpt", "mid.h5")

        restarted = self.daemon(args=["--restart", mid_path])
        c = restarted.client()
        self.assertEqual(c.status()["step"], N)
        self.assertEqual(len(c("ramps")["ramps"]), 1, "the ramp in flight is restored")
        c.step_and_wait(N)
        self.assertEqual(c.get(*names), want, "diagnostics after restart differ")
        c("checkpoint", {"name": "restarted.h5"})
        restarted.stop()

        a = state_arrays(os.path.join(straight.tmp, "ckpt", "straight.h5"))
        b = state_arrays(os.path.join(restarted.tmp, "ckpt", "restarted.h5"))
        self.assertEqual(sorted(a), sorted(b))
        self.assertIn("particles/x", a)
        for name in a:
            self.assertEqual(a[name], b[name], "%s differs bitwise" % name)

    def test_restart_without_config_uses_the_saved_one(self):
        d = self.daemon()
        c = d.client()
        c.step_and_wait(20)
        path = os.path.join(d.tmp, "ckpt", c("checkpoint")["path"].split("/")[-1])
        d.stop()
        start_without_config(self, path, d.tmp)


SAMPLE_010 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "ckpt-0.1.0.h5")


class RestartRefusal:
    """For DaemonTestCases: --restart of a bad file must exit 65 naming it."""

    def refused(self, path, knobs=None):
        d = Steerd(config=make_config(knobs=knobs or FAST_KNOBS), args=["--restart", path])
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        rc = d.wait_exit()
        d.check_sanitizers()
        self.assertEqual(rc, 65, d.stderr())
        self.assertIn(path, d.stderr())
        return d.stderr()

    def copy_of_sample(self):
        """A copy of the 0.1.0 sample in a temporary directory, to spoil."""
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="steerd-it-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "copy.h5")
        shutil.copy(SAMPLE_010, path)
        return path


class TestRefusals(RestartRefusal, DaemonTestCase):
    autostart = False

    def good_checkpoint(self):
        d = self.start_daemon(config=make_config(knobs=FAST_KNOBS, extra=CKPT))
        c = d.client()
        c.step_and_wait(10)
        c("checkpoint", {"name": "good.h5"})
        d.stop()
        return os.path.join(d.tmp, "ckpt", "good.h5")

    def test_missing(self):
        self.refused("/nonexistent/ckpt.h5")

    def test_not_hdf5(self):
        path = os.path.join(self.good_checkpoint() + ".txt")
        with open(path, "w") as f:
            f.write("hello\n" * 100)
        self.assertIn("not an HDF5 file", self.refused(path))

    def test_truncated(self):
        good = self.good_checkpoint()
        path = good + ".cut"
        with open(good, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        self.refused(path)

    def test_foreign_hdf5(self):
        path = self.good_checkpoint() + ".foreign"
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(10.0)
        self.assertIn("not a steerd checkpoint", self.refused(path))

    def test_different_fixed_knob(self):
        good = self.good_checkpoint()
        knobs = dict(FAST_KNOBS, cells=60)
        self.assertIn("cells", self.refused(good, knobs=knobs))

    def test_corrupt_state(self):
        good = self.good_checkpoint()
        with h5py.File(good, "r+") as f:
            x = f["steerd/state/particles/x"]
            if x.shape[0]:
                x[0] = float("nan")
        self.refused(good)


class TestPolicy(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS,
              "extra": {"checkpoint": {"directory": "ckpt", "every_steps": 10, "keep": 2}}}

    def test_periodic_and_rotation(self):
        sub = self.d.subscriber("event.checkpoint_written")
        self.c.step_and_wait(50)
        ev = [sub.expect(lambda m: m.topic == "event.checkpoint_written")[0] for _ in range(5)]
        self.assertEqual([m["step"] for m in ev], [10, 20, 30, 40, 50])
        self.assertTrue(all(m["bytes"] > 0 for m in ev))
        files = sorted(glob.glob(os.path.join(self.d.tmp, "ckpt", "*.h5")))
        self.assertEqual([saved_step(p) for p in files], [40, 50])
        self.assertEqual(files, sorted(m["path"] for m in ev[3:]))

    def test_final_checkpoint_on_sigterm(self):
        self.c.step_and_wait(7)
        self.d.stop()
        self.assertEqual(len(glob.glob(os.path.join(self.d.tmp, "ckpt", "ckpt_*_step7.h5"))), 1)

    def test_name_is_a_file_name_only(self):
        for bad in ("../x.h5", "/tmp/x.h5", ".hidden", "a/b", ""):
            self.assertEqual(self.c.error("checkpoint", {"name": bad}), "bad_argument")

    def test_openpmd_attributes(self):
        self.c.step_and_wait(5)
        path = os.path.join(self.d.tmp, "ckpt", self.c("checkpoint", {"name": "o.h5"})["path"].split("/")[-1])
        with h5py.File(path, "r") as f:
            self.assertEqual(f.attrs["openPMD"], b"1.1.0")
            self.assertEqual(f.attrs["basePath"], b"/data/%T/")
            it = f["data/5"]
            self.assertIn("phi", it["meshes"])
            self.assertEqual(list(it["meshes/phi"].attrs["axisLabels"]), [b"x"])
            el = it["particles/electrons"]
            for rec in ("position/x", "momentum/x", "weighting", "charge", "mass"):
                self.assertIn(rec, el)


class TestRewind(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_try_a_change_and_go_back(self):
        c = self.c
        c.step_and_wait(30)
        names = scalar_names(c)
        before = c.get(*names)
        knobs = c.knobs() if hasattr(c, "knobs") else None
        saved = c("snapshot-state", {"name": "clean"})
        self.assertEqual(saved["step"], 30)
        c("set", {"values": {"injected_current": 5000}})
        c.step_and_wait(40)
        r = c("rewind", {"name": "clean"})
        self.assertEqual((r["from_step"], r["step"]), (70, 30))
        self.assertEqual(c.status()["step"], 30)
        self.assertEqual(c.get(*names), before)
        if knobs is not None:
            self.assertEqual(c.knobs(), knobs)
        self.assertEqual(c.error("rewind", {"name": "nope"}), "unknown_name")


class TestKill9(DaemonTestCase):
    autostart = False

    def test_kill_during_checkpoints_never_leaves_a_torn_file(self):
        knobs = {"cells": 100, "particles_per_step": 400}
        rng = random.Random(1)
        for round_ in range(3):
            d = self.start_daemon(config=make_config(
                start="running", knobs=knobs,
                extra={"checkpoint": {"directory": "ckpt", "every_steps": 25, "keep": 3}}))
            wait_until(lambda: len(glob.glob(os.path.join(d.tmp, "ckpt", "ckpt_*.h5"))) >= 2, 60,
                       what="two checkpoints")
            time.sleep(rng.uniform(0.0, 0.3))
            d.proc.kill()
            d.wait_exit()
            finals = sorted(glob.glob(os.path.join(d.tmp, "ckpt", "ckpt_*.h5")))
            self.assertTrue(finals)
            for path in finals:  # every file under a final name is whole
                with h5py.File(path, "r") as f:
                    self.assertIn("steerd/state/particles/x", f)
            newest = max(finals, key=write_seq)
            self.assertEqual(newest, finals[-1], "names sort like the write sequence")
            again = self.start_daemon(config=make_config(knobs=knobs, extra=CKPT),
                                      args=["--restart", os.path.dirname(newest)])
            step = saved_step(newest)
            self.assertEqual(again.client()("status")["step"], step, "round %d" % round_)
            again.stop()


# ------------------------------------------------------------------ data safety (issue 12)


def steerd_run(args, cwd, timeout=60):
    """Run steerd to its exit (no -c unless ARGS give it); (status, stderr)."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    p = subprocess.run([BIN] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def write_seq(path):
    with h5py.File(path, "r") as f:
        return int(f["steerd"].attrs["write_seq"])


def saved_step(path):
    with h5py.File(path, "r") as f:
        return int(f["steerd"].attrs["step"])


def rotated(directory):
    return sorted(glob.glob(os.path.join(directory, "ckpt_*.h5")))


class TestRotationNeverRemovesTheNewest(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS,
              "extra": {"checkpoint": {"directory": "ckpt", "keep": 3, "keep_named": 2}}}

    def test_repeated_checkpoints_at_one_step_do_not_collide(self):
        """Paused, four `checkpoint` commands at one step: four files, the
        three newest kept, every announced newest one on disk."""
        replies = []
        for _ in range(4):
            r = self.c("checkpoint")
            self.assertTrue(os.path.isabs(r["path"]), r)
            self.assertTrue(os.path.exists(r["path"]), "announced newest %s is gone" % r["path"])
            replies.append(r)
        self.assertEqual(len({r["path"] for r in replies}), 4, replies)
        seqs = [r["write_seq"] for r in replies]
        self.assertEqual(seqs, sorted(set(seqs)), "write_seq must increase")
        kept = rotated(os.path.join(self.d.tmp, "ckpt"))
        self.assertEqual(kept, sorted(r["path"] for r in replies[1:]))
        self.assertEqual([write_seq(p) for p in kept], seqs[1:])
        # names sort like the sequence
        self.assertEqual(kept, sorted(kept, key=write_seq))

    def test_path_is_absolute_in_reply_and_event(self):
        sub = self.d.subscriber("event.checkpoint_written")
        r = self.c("checkpoint", {"name": "abs.h5"})
        self.assertEqual(r["path"], os.path.realpath(os.path.join(self.d.tmp, "ckpt", "abs.h5")))
        ev = sub.event("checkpoint_written")
        self.assertEqual(ev["path"], r["path"])
        self.assertEqual(ev["write_seq"], r["write_seq"])

    def test_named_checkpoints_are_bounded(self):
        """checkpoint.keep_named: the oldest named checkpoint goes; writing a
        name again replaces that file and counts once."""
        ck = os.path.join(self.d.tmp, "ckpt")
        for name in ("a.h5", "b.h5", "b.h5", "c.h5"):
            self.c("checkpoint", {"name": name})
        self.assertFalse(os.path.exists(os.path.join(ck, "a.h5")))
        self.assertTrue(os.path.exists(os.path.join(ck, "b.h5")))
        self.assertTrue(os.path.exists(os.path.join(ck, "c.h5")))
        self.c("checkpoint")  # a periodic-style one does not count against named ones
        self.assertTrue(os.path.exists(os.path.join(ck, "b.h5")))


class TestOnExitAtTheSameStep(DaemonTestCase):
    autostart = False

    def test_keep1_every_steps_and_on_exit_at_one_step_leave_a_checkpoint(self):
        d = self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS, extra={
            "checkpoint": {"directory": "ckpt", "keep": 1, "every_steps": 5, "on_exit": True}}))
        sub = d.subscriber("event.checkpoint_written")
        c = d.client()
        c.step_and_wait(5)
        sub.event("checkpoint_written", step=5)
        d.stop()
        kept = rotated(os.path.join(d.tmp, "ckpt"))
        self.assertEqual(len(kept), 1, kept)
        with h5py.File(kept[0], "r") as f:
            self.assertEqual(int(f["steerd"].attrs["step"]), 5)


class TestOnExitWithoutDirectory(DaemonTestCase):
    """A checkpoint section without a directory writes where the `checkpoint`
    command does, the working directory; no section writes nothing unasked."""
    autostart = False

    def run_and_stop(self, extra):
        d = self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS, extra=extra))
        d.client().step_and_wait(3)
        d.stop()
        return rotated(d.tmp)

    def test_on_exit_writes_to_the_working_directory(self):
        kept = self.run_and_stop({"checkpoint": {"on_exit": True}})
        self.assertEqual(len(kept), 1, kept)
        with h5py.File(kept[0], "r") as f:
            self.assertEqual(int(f["steerd"].attrs["step"]), 3)

    def test_no_checkpoint_section_writes_nothing(self):
        self.assertEqual(self.run_and_stop({}), [])


class TestRestartDirectory(DaemonTestCase):
    autostart = False

    def daemon(self, args=(), directory="ckpt"):
        # no checkpoint on exit: the tests choose which one is written last
        return self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS, extra={
            "checkpoint": {"directory": directory, "on_exit": False}}), args=list(args))

    def test_picks_the_checkpoint_written_last_named_ones_included(self):
        """A named checkpoint written after a rewind (lower step, name sorting
        first) is the one `--restart DIR` continues from."""
        d = self.daemon()
        c = d.client()
        c.step_and_wait(10)
        c("snapshot-state", {"name": "s"})
        c.step_and_wait(20)
        c("checkpoint")
        c("rewind", {"name": "s"})
        last = c("checkpoint", {"name": "a.h5"})
        self.assertEqual(last["step"], 10)
        d.stop()
        ck = os.path.join(d.tmp, "ckpt")
        again = self.daemon(args=["--restart", ck])
        c = again.client()
        self.assertEqual(c.status()["step"], 10)
        self.assertIn(os.path.join(ck, "a.h5"), again.stderr())
        # the sequence goes on above everything in the directory
        r = c("checkpoint")
        self.assertGreater(r["write_seq"], last["write_seq"])
        again.stop()
        # and without -c, the same choice
        err = start_without_config(self, ck, d.tmp)
        self.assertIn("restarted from %s at step 10" % os.path.join(ck, "a.h5"), err)

    def test_sequence_continues_from_the_directory_after_restart_from_an_older_file(self):
        d = self.daemon()
        c = d.client()
        c.step_and_wait(3)
        old = c("checkpoint", {"name": "old.h5"})
        c.step_and_wait(3)
        newer = c("checkpoint")
        d.stop()
        ck = os.path.dirname(old["path"])
        again = self.daemon(args=["--restart", old["path"]], directory=ck)
        r = again.client()("checkpoint", {"name": "after.h5"})
        self.assertGreater(r["write_seq"], newer["write_seq"])
        again.stop()
        again2 = self.daemon(args=["--restart", ck])
        self.assertEqual(again2.client().status()["step"], 3)
        self.assertIn(r["path"], again2.stderr())
        again2.stop()

    def test_damaged_newest_is_skipped_with_a_warning(self):
        d = self.daemon()
        c = d.client()
        c.step_and_wait(4)
        c("checkpoint", {"name": "good.h5"})
        c.step_and_wait(4)
        bad1 = c("checkpoint")["path"]
        c.step_and_wait(4)
        bad2 = c("checkpoint", {"name": "z.h5"})["path"]
        d.stop()
        with open(bad1, "r+b") as f:  # truncated
            f.truncate(os.path.getsize(bad1) // 2)
        with h5py.File(bad2, "r+") as f:  # state corrupt
            f["steerd/state/particles/x"][0] = float("nan")
        ck = os.path.dirname(bad1)
        again = self.daemon(args=["--restart", ck])
        self.assertEqual(again.client().status()["step"], 4)
        err = again.stderr()
        self.assertIn(bad1, err)
        self.assertIn(bad2, err)
        again.stop()

    def test_directory_without_a_usable_checkpoint_exits_65(self):
        d = Steerd(config=make_config(knobs=FAST_KNOBS))
        self.addCleanup(d.cleanup)
        ck = os.path.join(d.tmp, "empty")
        os.makedirs(ck)
        with open(os.path.join(ck, "junk.h5"), "w") as f:
            f.write("not hdf5")
        for args in (["-c", d.config_path, "--restart", ck], ["--restart", ck]):
            rc, err = steerd_run(args + ["-C", os.path.join(d.tmp, "c.json")], d.tmp)
            self.assertEqual(rc, 65, err)
            self.assertIn(ck, err)
            self.assertIn("junk.h5", err)


class TestRefusalsBothForms(DaemonTestCase):
    """Every unusable checkpoint exits 65 naming the file and the reason,
    with -c and without (then the config would come from the checkpoint)."""
    autostart = False

    def good(self):
        d = self.start_daemon(config=make_config(knobs=FAST_KNOBS, extra=CKPT))
        c = d.client()
        c.step_and_wait(3)
        path = c("checkpoint", {"name": "good.h5"})["path"]
        d.stop()
        self.cfg = d.config_path
        self.tmp = d.tmp
        return path

    def both(self, path, reason):
        for extra in (["-c", self.cfg], []):
            rc, err = steerd_run(extra + ["--restart", path, "-C", os.path.join(self.tmp, "c.json")],
                                 self.tmp)
            self.assertEqual(rc, 65, "%s %s: %s" % (extra, path, err))
            self.assertIn(path, err)
            self.assertIn(reason, err.lower(), err)

    def test_every_kind_of_unusable_file(self):
        good = self.good()
        data = open(good, "rb").read()
        t = self.tmp
        cases = []
        p = os.path.join(t, "empty.h5")
        open(p, "wb").close()
        cases.append((p, "not an hdf5 file"))
        p = os.path.join(t, "text.h5")
        with open(p, "w") as f:
            f.write("hello\n" * 50)
        cases.append((p, "not an hdf5 file"))
        p = os.path.join(t, "cut.h5")
        with open(p, "wb") as f:
            f.write(data[: len(data) // 2])
        cases.append((p, "corrupt"))
        cases.append((os.path.join(t, "missing.h5"), "no such file"))
        p = os.path.join(t, "old.h5")
        with h5py.File(p, "w", libver="earliest") as f:
            f.create_group("steerd")
        cases.append((p, "older than 1.8"))
        p = os.path.join(t, "foreign.h5")
        with h5py.File(p, "w", libver="latest") as f:
            f["data"] = np.arange(4.0)
        cases.append((p, "no /steerd group"))
        p = os.path.join(t, "loop.h5")
        os.symlink(p, p)
        cases.append((p, "symbolic links"))
        p = os.path.join(t, "nothing_here")
        os.makedirs(p)
        cases.append((p, "no usable checkpoint"))
        for path, reason in cases:
            with self.subTest(path=path):
                self.both(path, reason)


class TestExternalAdapterFromCheckpoint(DaemonTestCase):
    """A checkpoint names its adapter; an external one (a .so) is not loaded
    on the checkpoint's word alone."""
    autostart = False

    def test_external_adapter_needs_a_config_or_the_flag(self):
        so = os.path.join(os.path.dirname(os.path.dirname(BIN)), "examples", "liboscillator.so")
        if not os.path.exists(so):
            self.skipTest("no %s" % so)
        cfg = {"simulation": {"adapter": so, "knobs": {}},
               "run": {"start": "paused", "max_steps": 0},
               "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"},
               "checkpoint": {"directory": "ckpt"}}
        d = self.start_daemon(config=cfg)
        path = d.client()("checkpoint", {"name": "osc.h5"})["path"]
        d.stop()
        conn = os.path.join(d.tmp, "x.json")
        for args in (["--restart", path], ["--check", "--restart", path],
                     ["--restart", os.path.dirname(path)]):
            rc, err = steerd_run(args + ["-C", conn], d.tmp)
            self.assertEqual(rc, 77, "%s: %s" % (args, err))
            self.assertIn(so, err)
            self.assertIn("--trust-checkpoint-adapter", err)
            self.assertFalse(os.path.exists(conn))
        rc, err = steerd_run(["--check", "--trust-checkpoint-adapter", "--restart", path], d.tmp)
        self.assertEqual(rc, 0, err)
        rc, err = steerd_run(["--check", "-c", d.config_path, "--restart", path], d.tmp)
        self.assertEqual(rc, 0, err)


class TestWave1Sample(DaemonTestCase):
    """tests/data/ckpt-0.1.0.h5 was written by steerd 0.1.0 (wave 1: pic1d,
    cells 50, 4 particles a step, injected_current 1234, anode_voltage 900,
    thermal_energy 0.5, run to step 60, on_exit checkpoint). Later formats must
    keep restarting it: same step, same knobs, and it steps on."""
    autostart = False

    def test_restart_of_a_0_1_0_checkpoint(self):
        with h5py.File(SAMPLE_010, "r") as f:
            self.assertEqual(f["steerd"].attrs["steerd_version"], b"0.1.0")
        knobs = dict(FAST_KNOBS)
        d = self.start_daemon(config=make_config(knobs=knobs, extra=CKPT),
                              args=["--restart", os.path.abspath(SAMPLE_010)])
        c = d.client()
        self.assertEqual(c.status()["step"], 60)
        k = c.knobs()
        self.assertEqual((k["injected_current"], k["anode_voltage"], k["thermal_energy"]),
                         (1234, 900, 0.5))
        self.assertEqual(k["cells"], 50)
        c.step_and_wait(10)
        self.assertEqual(c.status()["step"], 70)
        path = c("checkpoint", {"name": "after.h5"})["path"]
        d.stop()
        with h5py.File(os.path.join(d.tmp, "ckpt", os.path.basename(path)), "r") as f:
            self.assertEqual(int(f["steerd"].attrs["step"]), 70)


class TestMalformedState(RestartRefusal, DaemonTestCase):
    """A restart refusal names what is wrong: a present but malformed
    attribute is not reported as missing."""
    autostart = False

    def refused_with(self, edit):
        path = self.copy_of_sample()
        with h5py.File(path, "r+") as f:
            edit(f["steerd/state"])
        return self.refused(path)

    def test_negative_count_is_malformed_not_missing(self):
        def edit(st):
            del st["average"].attrs["count"]
            st["average"].attrs["count"] = np.int64(-3)
        err = self.refused_with(edit)
        self.assertIn("average/count is present but malformed: -3 (a signed 64-bit integer), "
                      "expected an unsigned 64-bit integer", err)
        self.assertNotIn("lacks", err)

    def test_missing_count_is_missing(self):
        err = self.refused_with(lambda st: st["average"].attrs.__delitem__("count"))
        self.assertIn("state attribute average/count is missing", err)

    def test_count_of_another_type(self):
        def edit(st):
            del st["average"].attrs["count"]
            st["average"].attrs["count"] = np.float64(50.0)
        self.assertIn("average/count is present but malformed: a 64-bit float, expected an "
                      "unsigned 64-bit integer", self.refused_with(edit))


class TestKeptStates(DaemonTestCase):
    """snapshot-state keeps at most 8 names: a 9th is limit_reached (not
    refused), drop-state frees a place, and a dropped name is gone."""
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_ninth_name_then_drop_state(self):
        c = self.c
        sub = self.d.subscriber("event.state_dropped")
        c.step_and_wait(3)
        for i in range(8):
            self.assertEqual(c("snapshot-state", {"name": "s%d" % i})["name"], "s%d" % i)
        c("snapshot-state", {"name": "s3"})  # the same name replaces: still 8
        header, body = c.request("snapshot-state", {"name": "s8"})
        self.assertFalse(header["ok"])
        self.assertEqual(body["error"]["code"], "limit_reached")
        self.assertIn("drop-state", body["error"]["message"])
        r = c("drop-state", {"name": "s0"})
        self.assertEqual(r, {"name": "s0", "step": 3, "kept": 7})
        ev = sub.expect(lambda m: m.topic == "event.state_dropped")[0]
        self.assertEqual((ev["name"], ev["client"]), ("s0", "tester"))
        self.assertEqual(c("snapshot-state", {"name": "s8"})["name"], "s8")
        self.assertEqual(c.error("rewind", {"name": "s0"}), "unknown_name")
        self.assertEqual(c.error("drop-state", {"name": "s0"}), "unknown_name")
        self.assertEqual(c("rewind", {"name": "s8"})["step"], 3)

    def test_drop_state_arguments(self):
        self.assertEqual(self.c.error("drop-state", {}), "bad_argument")
        self.assertEqual(self.c.error("drop-state", {"name": "../x"}), "bad_argument")
        self.assertEqual(self.c.error("drop-state", {"name": "a", "x": 1}), "bad_argument")
        self.assertEqual(self.c.error("drop-state", {"name": "never"}), "unknown_name")


class TestOpenPMDStandard(DaemonTestCase):
    """Checkpoint files meet openPMD 1.1.0: every rule of the openPMD
    validator (check_h5.py; tests/integration/openpmd_check.py), with no
    error and no warning, for a periodic and a named checkpoint; and the particle records mean what the adapter saved."""
    config = {"start": "paused", "knobs": FAST_KNOBS,
              "extra": {"checkpoint": {"directory": "ckpt", "every_steps": 40}}}

    def files(self):
        sub = self.d.subscriber("event.checkpoint_written")
        self.c.step_and_wait(40)  # the periodic one, at step 40
        periodic = sub.event("checkpoint_written", step=40)["path"]
        named = self.c("checkpoint", {"name": "before-the-change.h5"})["path"]
        return periodic, named

    def test_validator_rules(self):
        for path in self.files():
            errors, warnings = check_openpmd(path)
            self.assertEqual((errors, warnings), ([], []), path)

    def test_iteration_encoding(self):
        periodic, named = self.files()
        for path in (periodic, named):  # each a file of its own: one iteration, group-based
            with h5py.File(path, "r") as f:
                self.assertEqual(f.attrs["iterationEncoding"], b"groupBased")
                self.assertEqual(f.attrs["iterationFormat"], f.attrs["basePath"])

    def test_particle_records(self):
        periodic, _ = self.files()
        with h5py.File(periodic, "r") as f:
            dt = f["data/40"].attrs["dt"]
            self.assertEqual(dt, 2e-12)
            el = f["data/40/particles/electrons"]
            # leapfrog: the velocity is half a step behind the positions
            self.assertEqual(el["momentum"].attrs["timeOffset"], -dt / 2)
            self.assertEqual(el["position"].attrs["timeOffset"], 0.0)
            w = el["weighting"]
            self.assertEqual(list(w.attrs["unitDimension"]), [0.0] * 7)
            self.assertEqual(list(w.attrs["steerd_unitDimension"]), [-2.0] + [0.0] * 6)
            self.assertIn(b"per m^2 of a 1D slab", w.attrs["comment"])
            x = el["position/x"][()]
            self.assertGreater(len(x), 0)
            pp = el["particlePatches"]
            self.assertEqual(list(pp["numParticles"][()]), [len(x)])
            self.assertEqual(list(pp["numParticlesOffset"][()]), [0])
            lo, ext = pp["offset/x"][0], pp["extent/x"][0]
            self.assertLessEqual(lo, x.min())
            self.assertGreater(lo + ext, x.max())  # the upper bound is excluded

    def test_the_check_sees_what_0_1_0_lacked(self):
        errors, warnings = check_openpmd(SAMPLE_010)
        text = "\n".join(errors + warnings)
        for want in ("iterationFormat", "weightingPower", "macroWeighted", "particlePatches"):
            self.assertIn(want, text)


def flip_a_bit(path, dataset, byte=3):
    """Flip one bit of a dataset's stored bytes, behind HDF5's back."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        at = ds.id.get_chunk_info(0).byte_offset if ds.chunks else ds.id.get_offset()
    with open(path, "r+b") as raw:
        raw.seek(at + byte)
        b = raw.read(1)[0]
        raw.seek(at + byte)
        raw.write(bytes([b ^ 0x10]))


class TestFlippedBit(RestartRefusal, DaemonTestCase):
    """A flipped bit anywhere in a checkpoint's data: restart refuses the
    file (every array's xxh64 is verified, the openPMD view's meshes and
    patches included), and an HDF5 reader of a mesh gets an error instead of
    changed numbers (Fletcher32 on the openPMD view's own arrays)."""
    autostart = False

    def checkpoint(self):
        d = self.start_daemon(config=make_config(knobs=FAST_KNOBS, extra=CKPT))
        c = d.client()
        c.step_and_wait(10)
        path = os.path.join(d.tmp, "ckpt", os.path.basename(c("checkpoint", {"name": "f.h5"})["path"]))
        d.stop()
        return path

    def test_mesh_bit_flip(self):
        path = self.checkpoint()
        flip_a_bit(path, "data/10/meshes/phi")
        with h5py.File(path, "r") as f:
            self.assertTrue(f["data/10/meshes/phi"].fletcher32)
            with self.assertRaises(OSError):  # an openPMD reader is not served corrupt data
                f["data/10/meshes/phi"][()]
        self.assertIn("/data/10/meshes/phi does not match its checksum", self.refused(path))

    def test_patch_and_state_bit_flips(self):
        for dataset in ("data/10/particles/electrons/particlePatches/offset/x",
                        "steerd/state/particles/v", "steerd/state/fields/phi"):
            path = self.checkpoint()
            flip_a_bit(path, dataset, byte=0)
            err = self.refused(path)
            self.assertTrue("checksum" in err, "%s: %s" % (dataset, err))

    def test_mesh_bit_flip_in_a_0_1_0_file(self):
        path = self.copy_of_sample()
        flip_a_bit(path, "data/60/meshes/phi")
        self.assertIn("/data/60/meshes/phi does not match its checksum", self.refused(path))


if __name__ == "__main__":
    run_tests(TestRestart, TestRefusals, TestPolicy, TestRewind, TestKill9,
              TestRotationNeverRemovesTheNewest, TestOnExitAtTheSameStep, TestOnExitWithoutDirectory,
              TestRestartDirectory,
              TestRefusalsBothForms, TestExternalAdapterFromCheckpoint, TestWave1Sample,
              TestMalformedState, TestKeptStates, TestOpenPMDStandard, TestFlippedBit)
