# SPDX-License-Identifier: MIT
"""--restart of steerd-mpi with N > 1 ranks (issue 16): rank 0 reads the
checkpoint's metadata, every rank creates its instance with the saved knob
values and restores its share of the file (checkpoint_mpi_read_into), rank
0's run adopts step, knobs, ramps, journal and history.

  - a steered N = 2 run (a set at step 20) writes a checkpoint at step 30 and
    goes on K steps, its scalars recorded at each; restarted with N = 2 from
    the file it is at the same step with the same knobs and journal, and the
    same K steps give bitwise the same scalars;
  - restarted with N = 3 (from the directory: the checkpoint written last)
    and with the serial steerd: same step, knobs, global particle count, and
    the run goes on; a file of the serial steerd restarts on 2 ranks;
  - tests/mpi/embed_mpi (an MPI code embedding libsteerd-mpi) restarts on
    the same N with options.restart: same step, knob, and the same totals;
  - a directory whose newest file has a flipped bit: the older file is
    taken and the newest named as skipped, as in a serial restart;
  - a flipped bit in rank 1's part of a particle dataset: every rank refuses
    it, mpirun exits 65 (EX_DATAERR) and the message is said once; so is a
    missing file or a directory without a checkpoint (rank 0's outcome, which
    every rank takes).

Every mpirun is bounded (the harness's timeouts); waits are for replies.

Run: STEERD_BUILD=build /usr/bin/python3 tests/mpi/test_restart_mpi.py
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from steerd_harness import (BUILD, FAST_KNOBS, REPO, Steerd, is_asan_build,  # noqa: E402
                            make_config, run_tests)

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
STEERD_MPI = os.path.join(BUILD_DIR, "mpi", "bin", "steerd-mpi")
EMBED = os.path.join(BUILD_DIR, "mpi", "tests", "mpi", "embed_mpi")
MPIRUN = [shutil.which("mpirun") or "/usr/bin/mpirun", "--oversubscribe", "--mca", "mpi_yield_when_idle",
          "1", "--mca", "btl", "self,vader"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"} if is_asan_build(STEERD_MPI) else {}
sys.path.insert(0, os.path.join(REPO, "console", "python"))
import h5py  # noqa: E402

NAMES = ["particles", "field_energy", "kinetic_energy", "phi_min", "j_transmitted"]
K = 10
CONFIG = make_config(start="paused", knobs=FAST_KNOBS)


def mpi(n, exe=STEERD_MPI):
    return MPIRUN + ["-np", str(n), exe]


def read_journal(path):
    """The steering journal kept in a checkpoint (a JSON array, or JSON lines)."""
    with h5py.File(path, "r") as f:
        raw = f["steerd/journal"][()]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def sets_of(journal):
    return [(e["step"], e["knob"], e["new"]) for e in journal]


class RestartMPI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="steerd-rst-")
        cls.ckdir = os.path.join(cls.dir, "ck")
        os.mkdir(cls.ckdir)
        d = Steerd(config=CONFIG, command=mpi(2), env=ENV)
        try:
            d.start()
            c = d.client()
            c.step_and_wait(20)
            c("set", {"values": {"anode_voltage": 500}})
            c.step_and_wait(10)
            ck = c("checkpoint", {})
            cls.step = ck["step"]
            cls.file = os.path.join(cls.ckdir, os.path.basename(ck["path"]))
            shutil.copy(ck["path"], cls.file)
            cls.knobs = c.knobs()
            cls.particles = c.get1("particles")
            cls.ahead = []
            for _ in range(K):
                c.step_and_wait(1)
                cls.ahead.append(c.get(*NAMES))
            cls.newer = os.path.join(cls.dir, "newer.h5")  # written last: damaged below
            shutil.copy(c("checkpoint", {})["path"], cls.newer)
            c("shutdown", {})
            d.expect_clean_exit()
        finally:
            d.cleanup()
        cls.journal = sets_of(read_journal(cls.file))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def restart(self, n, path):
        command = mpi(n) if n > 1 else None
        d = Steerd(config=CONFIG, command=command, env=ENV, args=["--restart", path])
        self.addCleanup(d.cleanup)
        d.start()
        return d, d.client()

    def check_restored(self, c, label):
        s = c.status()
        self.assertEqual((s["step"], s["state"]), (self.step, "paused"), label)
        self.assertEqual(c.knobs(), self.knobs, label)
        self.assertEqual(c.get1("particles"), self.particles, label)

    def test_the_journal_holds_the_set(self):
        self.assertIn((20, "anode_voltage", 500.0), self.journal)

    def test_same_n_continues_bitwise(self):
        d, c = self.restart(2, self.file)
        self.check_restored(c, "N = 2")
        self.assertIn("ranks", c("hello", {}))
        self.assertEqual(c("hello", {})["ranks"], 2)
        again = []
        for _ in range(K):
            c.step_and_wait(1)
            again.append(c.get(*NAMES))
        self.assertEqual(again, self.ahead, "the same steps after a restart give the same scalars")
        # The journal goes on: a checkpoint written now still holds the set.
        ck = c("checkpoint", {})
        self.assertEqual(ck["step"], self.step + K)
        self.assertEqual(sets_of(read_journal(ck["path"])), self.journal)
        c("shutdown", {})
        d.expect_clean_exit()

    def test_other_n_goes_on(self):
        for n, path in ((3, self.ckdir), (1, self.file)):
            label = "N = %d from %s" % (n, path)
            d, c = self.restart(n, path)
            self.check_restored(c, label)
            c.step_and_wait(5)
            self.assertEqual(c.status()["step"], self.step + 5, label)
            self.assertGreater(c.get1("particles"), 0, label)
            c("shutdown", {})
            d.expect_clean_exit()

    def test_a_serial_file_restarts_on_2_ranks(self):
        d = Steerd(config=CONFIG)
        self.addCleanup(d.cleanup)
        d.start()
        c = d.client()
        c.step_and_wait(20)
        c("set", {"values": {"anode_voltage": 500}})
        c.step_and_wait(10)
        f = os.path.join(self.dir, "serial.h5")
        shutil.copy(c("checkpoint", {})["path"], f)
        want = (c.knobs(), c.get1("particles"))
        c("shutdown", {})
        d.expect_clean_exit()
        d, c = self.restart(2, f)
        self.assertEqual(c.status()["step"], 30)
        self.assertEqual((c.knobs(), c.get1("particles")), want)
        c.step_and_wait(5)
        self.assertEqual(c.status()["step"], 35)
        self.assertEqual(sets_of(read_journal(c("checkpoint", {})["path"])), self.journal)
        c("shutdown", {})
        d.expect_clean_exit()

    @staticmethod
    def flip_a_bit(src, dst):
        """A copy of src with one bit flipped in rank 1's part of the particles' x."""
        shutil.copy(src, dst)
        with h5py.File(dst, "r") as h:
            x = h["steerd/state/particles/x"]
            parts = list(x.attrs["steerd_parts"])
            offset = int(x.id.get_offset()) + 8 * (int(parts[0]) + 3)
        with open(dst, "r+b") as fh:
            fh.seek(offset)
            b = fh.read(1)
            fh.seek(offset)
            fh.write(bytes([b[0] ^ 0x10]))

    def test_a_damaged_file_is_refused_on_every_rank(self):
        f = os.path.join(self.dir, "flip.h5")
        self.flip_a_bit(self.file, f)
        for n in (2, 3):
            d = Steerd(config=CONFIG, command=mpi(n), env=ENV, args=["--restart", f])
            self.addCleanup(d.cleanup)
            d.start(wait=False)
            self.assertEqual(d.wait_exit(), 65, d.tail())
            self.assertEqual(d.stderr().count("does not match its checksum"), 1, d.tail())
            self.assertFalse(os.path.exists(d.conn_path))

    def test_a_damaged_newest_file_in_a_directory_is_skipped(self):
        # As a serial restart does: the older whole file is taken, the newest
        # named as skipped, and no rank is left holding a partial restore.
        both = os.path.join(self.dir, "both")
        os.makedirs(both, exist_ok=True)
        shutil.copy(self.file, both)
        self.flip_a_bit(self.newer, os.path.join(both, "newer.h5"))
        for n in (2, 3):
            d, c = self.restart(n, both)
            self.check_restored(c, "N = %d" % n)
            log = d.stderr()
            self.assertEqual(log.count("skipping"), 1, d.tail())
            self.assertIn("newer.h5", log)
            self.assertIn("does not match its checksum", log)
            c.step_and_wait(3)
            self.assertEqual(c.status()["step"], self.step + 3)
            c("shutdown", {})
            d.expect_clean_exit()

    def test_no_checkpoint_is_refused_on_every_rank(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        for path, says in ((os.path.join(self.dir, "nope.h5"), "No such file"),
                           (empty, "no usable checkpoint")):
            d = Steerd(config=CONFIG, command=mpi(2), env=ENV, args=["--restart", path])
            self.addCleanup(d.cleanup)
            d.start(wait=False)
            self.assertEqual(d.wait_exit(), 65, d.tail())
            self.assertEqual(d.stderr().count(says), 1, d.tail())


class EmbeddedRestart(unittest.TestCase):
    """tests/mpi/embed_mpi (steerd_open_mpi with options.restart): each rank's
    own x is a part of the file; the code's instances are restored in place."""

    def launch(self, args=()):
        cfg = {"run": {"start": "paused", "max_steps": 0},
               "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"},
               "diagnostics": {"scalars_every": 1, "heartbeat_ms": 50},
               "simulation": {"knobs": {"rate": 2.0}}}
        d = Steerd(config=cfg, command=mpi(2, EMBED), env=ENV, args=list(args))
        self.addCleanup(d.cleanup)
        d.start()
        return d, d.client()

    def test_same_n_continues_exactly(self):
        tmp = tempfile.mkdtemp(prefix="steerd-rst-")
        self.addCleanup(shutil.rmtree, tmp, True)
        d, c = self.launch()
        c.step_and_wait(10)
        c("set", {"values": {"rate": 3.0}})
        c.step_and_wait(5)
        ck = c("checkpoint", {})
        f = os.path.join(tmp, os.path.basename(ck["path"]))
        shutil.copy(ck["path"], f)
        at = c.get("total", "mismatches")
        c.step_and_wait(5)
        ahead = c.get("total", "mismatches")
        c("shutdown", {})
        d.expect_clean_exit()
        d, c = self.launch(["--restart", f])
        self.assertEqual(c.status()["step"], ck["step"])
        self.assertEqual(c.knobs()["rate"], 3.0)
        self.assertEqual(c.get("total", "mismatches"), at)
        c.step_and_wait(5)
        self.assertEqual(c.get("total", "mismatches"), ahead)
        c("shutdown", {})
        d.expect_clean_exit()


if __name__ == "__main__":
    if not os.path.exists(STEERD_MPI):
        print("1..0 # SKIP %s not built (make mpi)" % STEERD_MPI)
        sys.exit(0)
    run_tests(RestartMPI, EmbeddedRestart)
