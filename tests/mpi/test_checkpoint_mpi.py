# SPDX-License-Identifier: MIT
"""Parallel HDF5 checkpoints of an MPI run (steerd/storage/checkpoint_mpi.c)
with pic1d over 2 and 3 ranks, through tests/mpi/pic1d_mpi (the MPI driver:
--checkpoint-at, --restart; the same calls steerd-mpi makes):

  - restart with the same N continues bitwise: run to A, checkpoint, go on to
    B; restart from the checkpoint and go on to B: every rank's particles,
    the fields, the averages and every scalar are the same bits; the same
    for snapshot-state/rewind through in-memory images of each rank;
  - restart with another N (2 -> 3, 3 -> 2, a serial file -> 2, and a
    parallel file restarted by serial steerd's own reader) resumes at the
    same step with the same knobs, journal and particles, redistributed
    (global count and total weight equal), and the physics goes on: a
    Child-Langmuir diode restarted on another N carries J_CL within 2 % and
    within 2 % of the run that was not interrupted;
  - the file is a checkpoint like a serial one: the openPMD checks pass
    (openpmd_check.py), the particle datasets hold every rank's part;
  - a write that fails on one rank fails on every rank, naming it, and the
    run goes on; a rank killed while the checkpoint is written ends the job,
    no rank is left running, the previous checkpoint stays whole under its name and
    restarts; a flipped bit in a particle part is refused on restart by the
    parallel and the serial reader.

Every mpirun is bounded (the whole session killed on timeout) and yields the
CPU when idle (--mca mpi_yield_when_idle 1; --oversubscribe; as root
--allow-run-as-root, as in CI). The runs go through start_run/run_json
below: steerd-mpi can take the driver's place there.

Run: STEERD_BUILD=build /usr/bin/python3 tests/mpi/test_checkpoint_mpi.py
"""
import glob
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from steerd_harness import BUILD, REPO, Steerd, is_asan_build, make_config, run_tests  # noqa: E402
import openpmd_check  # noqa: E402

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
DRIVER = os.path.join(BUILD_DIR, "mpi", "bin", "pic1d_mpi")
ASAN = is_asan_build(DRIVER)
RUN_TIMEOUT = 300  # a bound, not an expectation

E, ME, EPS0 = 1.602176634e-19, 9.1093837015e-31, 8.8541878128e-12
K_CL = 4 * EPS0 / 9 * math.sqrt(2 * E / ME)
CL_V, GAP = 1000.0, 0.01
CHILD = ["emission=scl", "anode_voltage=1000", "injection_energy=1e-4", "cells=200",
         "dt=2e-12", "particles_per_step=20", "average_window=2000"]
CL_SETTLE, CL_AVG = 4000, 2000
# the steering journal every checkpoint of the driver records (pic1d_mpi.c)
JOURNAL = [{"step": 1, "client": "pic1d_mpi", "knob": "seed", "old": 1, "new": 1}]
# a beam diode with particles in the gap, quick
BEAM = ["particles_per_step=40", "cells=100"]


def start_run(n, args, serial=False):
    """The driver on n ranks (serial: without a communicator, not under
    mpirun), in a session of its own."""
    cmd = [DRIVER] + (["--serial"] if serial else []) + list(args)
    if not serial:
        cmd = ["mpirun", "-np", str(n), "--oversubscribe", "--mca", "mpi_yield_when_idle", "1",
               "--mca", "btl", "self,vader"] + \
              (["--allow-run-as-root"] if os.geteuid() == 0 else []) + cmd
    env = dict(os.environ)
    if ASAN:
        env["ASAN_OPTIONS"] = "detect_leaks=0:" + env.get("ASAN_OPTIONS", "")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True), cmd


def finish(p, cmd):
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("timed out after %d s: %s" % (RUN_TIMEOUT, " ".join(cmd)))
    return out, err


def run_json(n, *args, serial=False):
    p, cmd = start_run(n, args, serial)
    out, err = finish(p, cmd)
    if p.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, err[-3000:]))
    return json.loads(out.strip().splitlines()[-1])


def run_fails(n, *args, serial=False):
    """Expect a non-zero exit; return stderr."""
    p, cmd = start_run(n, args, serial)
    out, err = finish(p, cmd)
    if p.returncode == 0:
        raise AssertionError("%s: succeeded, expected a failure" % " ".join(cmd))
    if "Sanitizer" in err:
        raise AssertionError(err[-3000:])
    return err, p


def write(n, path, at, until=None, extra=(), serial=False):
    """A run that checkpoints path at step `at` and goes on to `until`."""
    return run_json(n, *extra, "--until", str(until if until is not None else at),
                    "--checkpoint-at", str(at), path, serial=serial)


def restart(n, path, until, extra=(), serial=False):
    return run_json(n, *extra, "--restart", path, "--until", str(until), serial=serial)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ckpt-mpi-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


class SameN(Tmp):
    def test_restart_with_the_same_n_is_bitwise(self):
        for n in (2, 3):
            f = self.path("n%d.h5" % n)
            a = write(n, f, 300, 600, BEAM)
            b = restart(n, f, 600, BEAM)
            print("# N=%d: particles %d, hashes %s / %s" % (
                n, a["state"]["particles"], a["state"]["particle_hashes"],
                b["state"]["particle_hashes"]))
            self.assertEqual(len(b["state"]["particle_hashes"]), n)
            self.assertEqual(a["state"], b["state"])
            self.assertEqual(a["scalars"], b["scalars"])

    def test_snapshot_and_rewind_with_images_of_each_rank(self):
        """snapshot-state/rewind in an MPI run: each rank keeps an in-memory
        image of its own state (checkpoint_to_image) and puts it back
        (checkpoint_from_image_into): the run goes on bitwise as if the
        steps between had not been taken."""
        args = BEAM + ["thermal_energy=0.5"]  # random thermal spread: RNG state matters
        for n in (2, 3):
            straight = run_json(n, *args, "--until", "500")
            rewound = run_json(n, *args, "--until", "500", "--snapshot-at", "200",
                               "--rewind-at", "350")
            self.assertEqual(straight["state"], rewound["state"])
            self.assertEqual(straight["scalars"], rewound["scalars"])

    def test_the_file_is_openpmd_and_holds_every_part(self):
        import h5py
        f = self.path("p.h5")
        a = write(3, f, 200, 200, BEAM)
        errors, warnings = openpmd_check.check_file(f)
        self.assertEqual(errors + warnings, [], "\n".join(errors + warnings))
        with h5py.File(f, "r") as h:
            x = h["steerd/state/particles/x"]
            self.assertEqual(x.shape[0], a["state"]["particles"])
            parts = list(x.attrs["steerd_parts"])
            self.assertEqual(len(parts), 3)
            self.assertEqual(sum(parts), x.shape[0])
            self.assertAlmostEqual(h["steerd/state/particles/w"][()].sum() /
                                   a["state"]["weight"], 1.0, places=12)
            self.assertEqual(int(h["steerd"].attrs["step"]), 200)


class OtherN(Tmp):
    """Resumes at the same step with the same knobs and particles."""

    def check_resumed(self, at_write, resumed, label):
        w, r = at_write["state"], resumed["state"]
        print("# %s: step %d, particles %d / %d, weight %.17g / %.17g" % (
            label, r["step"], w["particles"], r["particles"], w["weight"], r["weight"]))
        self.assertEqual(r["step"], w["step"])
        self.assertEqual(r["knobs"], w["knobs"])
        self.assertEqual(resumed["journal"], JOURNAL)
        self.assertEqual(r["particles"], w["particles"])
        self.assertLess(abs(r["weight"] / w["weight"] - 1), 1e-12)

    def test_redistributed(self):
        cases = [(2, 3, False, False), (3, 2, False, False),
                 (1, 2, True, False),   # a serial steerd's file on 2 ranks
                 (2, 1, False, True)]   # a parallel file, serial steerd's reader
        for wn, rn, wserial, rserial in cases:
            f = self.path("%d-%d.h5" % (wn, rn))
            at = write(wn, f, 250, 250, BEAM + ["injected_current=100"], serial=wserial)
            again = restart(rn, f, 250, BEAM + ["injected_current=100"], serial=rserial)
            self.check_resumed(at, again, "%s %d -> %s %d" % (
                "serial" if wserial else "N=", wn, "serial" if rserial else "N=", rn))
            later = restart(rn, f, 400, BEAM + ["injected_current=100"], serial=rserial)
            self.assertEqual(later["state"]["step"], 400)

    def test_serial_steerd_restarts_a_parallel_file(self):
        """The daemon itself (build/bin/steerd, serial HDF5) on a file of 3
        ranks: the step, the knobs, and then the same steps as the serial
        reader of the driver (checkpoint_read, bitwise)."""
        f = self.path("three.h5")
        knobs = {"particles_per_step": 40, "cells": 100, "injected_current": 100}
        args = ["%s=%s" % kv for kv in knobs.items()]
        at = write(3, f, 250, 250, args)
        want = restart(1, f, 400, args, serial=True)
        d = Steerd(config=make_config(start="paused", knobs=knobs), args=["--restart", f])
        try:
            d.start()
            c = d.client()
            self.assertEqual(c.status()["step"], 250)
            got = c.knobs()
            for k, v in at["state"]["knobs"].items():
                self.assertEqual(got[k] if not isinstance(got[k], str) else v, v, k)
            c.step_and_wait(150)
            names = [k for k in want["scalars"] if not k.startswith("steerd_")]
            values = c.get(*names)
            print("# serial steerd on a file of 3 ranks: step %d, particles %d" % (
                values["step"], values["particles"]))
            for k in names:
                self.assertEqual(values[k], want["scalars"][k], k)
            d.stop()
        finally:
            d.cleanup()

    def test_child_langmuir_goes_on_after_another_n(self):
        j_cl = K_CL * CL_V ** 1.5 / GAP ** 2
        f = self.path("cl.h5")
        end = CL_SETTLE + CL_AVG
        whole = write(2, f, CL_SETTLE, end, CHILD)
        for rn in (3, 1):
            r = restart(rn, f, end, CHILD, serial=rn == 1)
            j, jw = r["scalars"]["j_transmitted"], whole["scalars"]["j_transmitted"]
            print("# Child-Langmuir 2 -> %s: J %.2f A/m^2 (uninterrupted %.2f, J_CL %.2f): "
                  "%+.2f %% / %+.2f %%" % (rn if rn > 1 else "serial", j, jw, j_cl,
                                           100 * (j / jw - 1), 100 * (j / j_cl - 1)))
            self.assertEqual(r["state"]["step"], end)
            self.assertLess(abs(j / jw - 1), 0.02)
            self.assertLess(abs(j / j_cl - 1), 0.02)


class Failures(Tmp):
    def test_a_rank_dying_mid_write_leaves_the_previous_checkpoint_whole(self):
        f = self.path("ckpt.h5")
        first = write(2, f, 150, 150, BEAM)
        with open(f, "rb") as fh:
            before = fh.read()
        err, p = run_fails(2, *BEAM, "--restart", f, "--until", "300",
                           "--checkpoint-at", "250", f, "--die-in-checkpoint", "1")
        # no rank left running in the job's session
        with self.assertRaises(ProcessLookupError):
            os.killpg(p.pid, 0)
        with open(f, "rb") as fh:
            self.assertEqual(fh.read(), before, "the checkpoint under its name changed")
        print("# leftovers after the kill: %s" % [os.path.basename(t) for t in
                                                  glob.glob(f + ".tmp.*")])
        again = restart(2, f, 150, BEAM)
        self.assertEqual(again["state"], first["state"])

    def test_a_write_failing_on_one_rank_fails_on_all_and_the_run_goes_on(self):
        """Rank 1's write of its part fails (the driver gives the writer an
        invalid name there): every rank returns the failure, naming rank 1;
        no temporary file is left, the checkpoint before is untouched, and
        the run goes on (no rank waits in a collective the others left)."""
        f = self.path("ckpt.h5")
        write(3, f, 150, 150, BEAM)
        with open(f, "rb") as fh:
            before = fh.read()
        r = run_json(3, *BEAM, "--restart", f, "--until", "300", "--checkpoint-at", "250", f,
                     "--fail-in-checkpoint", "1")
        print("# %s" % r["checkpoint_errors"])
        self.assertEqual(r["state"]["step"], 300)
        self.assertEqual(len(r["checkpoint_errors"]), 1)
        self.assertIn("on rank 1 of 3", r["checkpoint_errors"][0])
        self.assertEqual(glob.glob(f + ".tmp.*"), [])
        with open(f, "rb") as fh:
            self.assertEqual(fh.read(), before)

    def test_a_flipped_bit_in_a_part_is_refused(self):
        import h5py
        f = self.path("flip.h5")
        write(2, f, 150, 150, BEAM)
        with h5py.File(f, "r") as h:
            x = h["steerd/state/particles/x"]
            parts = list(x.attrs["steerd_parts"])
            offset = int(x.id.get_offset()) + 8 * (int(parts[0]) + 3)  # in rank 1's part
        with open(f, "r+b") as fh:
            fh.seek(offset)
            b = fh.read(1)
            fh.seek(offset)
            fh.write(bytes([b[0] ^ 0x10]))
        for n, serial in ((2, False), (3, False), (1, True)):
            err, _ = run_fails(n, *BEAM, "--restart", f, "--until", "150", serial=serial)
            self.assertIn("does not match its checksum", err, err[-2000:])


if __name__ == "__main__":
    if not os.access(DRIVER, os.X_OK):
        print("1..0 # SKIP %s not built (make mpi)" % DRIVER)
        sys.exit(0)
    run_tests(SameN, OtherN, Failures)
