# SPDX-License-Identifier: MIT
"""Steering an MPI run (issue 16), with N = 2 and 3 ranks: steerd-mpi hosting
parallel pic1d, and tests/mpi/embed_mpi, an MPI code embedding libsteerd-mpi
through steerd_open_mpi (the model "ring": one allreduce per step that counts
the steps the ranks took with different knob values).

The same Python clients as for serial runs attach through the connection
file (steerd_harness.Steerd with mpirun as the command):

  - steerd-mpi: set, step N, snapshot-state + rewind (bitwise), a ramp, a
    short search (its answer the serial steerd's; a state kept before it is
    still there after it), a checkpoint file written by every rank (openPMD,
    all particles), resume/pause, shutdown: mpirun and every rank exit 0; the
    Python package and steer-console attach through the connection file;
  - determinism: two N = 2 runs given the same changes at the same steps
    (schedule and clients) end bitwise the same;
  - embed_mpi: sets, ramps and a rewind reach every rank at the same step
    (mismatches stays 0, the total is exact); a state kept survives 30
    rewinds to another (each rank frees its backups); a step failing on rank 1 pauses
    all ranks and rank 0 reports rank 1 and its message; while paused, the
    ranks other than 0 wait without spinning a CPU;
  - SA_MPI_COLLECTIVE_DIAGS: diagnostic reads made on every rank together;
  - SIGTERM to mpirun stops the run cleanly on rank 0; a rank killed ends
    the job; either way no rank is left running;
  - a bad config: every rank exits with steerd's status, the message once.

Every mpirun is bounded (the harness's timeouts; killed with its ranks on
teardown); waits are for replies, events and heartbeats, never sleeps.

Run: STEERD_BUILD=build /usr/bin/python3 tests/mpi/test_steerd_mpi.py
"""
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from steerd_harness import (BUILD, FAST_KNOBS, REPO, Steerd, is_asan_build,  # noqa: E402
                            make_config, run_tests, wait_until)

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
STEERD_MPI = os.path.join(BUILD_DIR, "mpi", "bin", "steerd-mpi")
EMBED = os.path.join(BUILD_DIR, "mpi", "tests", "mpi", "embed_mpi")
MPIRUN = [shutil.which("mpirun") or "/usr/bin/mpirun", "--oversubscribe", "--mca", "mpi_yield_when_idle",
          "1", "--mca", "btl", "self,vader"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
# Open MPI keeps its allocations until exit by design: LeakSanitizer would
# report them (steerd's own frees are checked by the serial suites under ASan).
ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"} if is_asan_build(STEERD_MPI) else {}
SEARCH_TIMEOUT = 120
CONSOLE = os.path.join(BUILD_DIR, "bin", "steer-console")
LSAN_CONSOLE = "suppressions=" + os.path.join(REPO, "tests", "integration", "lsan-console.supp")
sys.path.insert(0, os.path.join(REPO, "console", "python"))
import h5py  # noqa: E402
import openpmd_check  # noqa: E402
import steerd  # noqa: E402  (the Python package, console/python/steerd)


def mpi(n, exe):
    return MPIRUN + ["-np", str(n), exe]


def own_scalars(values):
    """The simulation's values: steerd_* ones are steerd's wall-time figures."""
    return {k: v for k, v in values.items() if not k.startswith("steerd_")}


def ring_config(start="paused", knobs=None, schedule=None):
    cfg = {
        "run": {"start": start, "max_steps": 0},
        "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"},
        "diagnostics": {"scalars_every": 1, "heartbeat_ms": 50},
        "simulation": {"knobs": dict(knobs or {"rate": 2.0})},
    }
    if schedule:
        cfg["schedule"] = schedule
    return cfg


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def running(pid):
    """Alive and not a zombie (a container's init may be slow to reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return out


class MPIRun(unittest.TestCase):
    N = 2
    EXE = STEERD_MPI

    def launch(self, config, exe=None):
        d = Steerd(config=config, command=mpi(self.N, exe or self.EXE), env=ENV)
        self.addCleanup(d.cleanup)
        d.start()
        return d


class HostedPic1d(MPIRun):
    def setUp(self):
        self.d = self.launch(make_config(start="paused", knobs=FAST_KNOBS))
        self.c = self.d.client()

    def test_steer_like_a_serial_run(self):
        c = self.c
        hello = c("hello", {})
        self.assertEqual((hello["adapter"]["name"], hello["ranks"]), ("pic1d", self.N))
        self.assertIn("mpi_ranks", hello["capabilities"])
        self.assertEqual(c.status()["state"], "paused")
        self.assertEqual(c.step_and_wait(20), 20)
        self.assertEqual(c("set", {"values": {"anode_voltage": 500}})["step"], 20)
        self.assertEqual(c.get1("anode_voltage"), 500.0)
        names = ["particles", "field_energy", "kinetic_energy", "phi_min", "j_transmitted"]
        c("snapshot-state", {"name": "a"})
        c.step_and_wait(30)
        ahead = c.get(*names)
        self.assertEqual(c("rewind", {"name": "a"})["step"], 20)
        self.assertEqual(c.status()["step"], 20)
        c.step_and_wait(30)
        self.assertEqual(c.get(*names), ahead, "a rewind and the same steps give the same state")
        r = c("ramp", {"ramps": [{"knob": "injected_current", "to": 2000, "steps": 10}]})
        self.assertEqual(r["ramps"][0]["end_step"], 60)
        c.step_and_wait(15)
        self.assertEqual(c.get1("injected_current"), 2000.0)
        self.assertEqual(c("ramps", {})["ramps"], [])
        # One file written by every rank (parallel HDF5): openPMD-valid, at
        # this step, holding every rank's particles.
        ck = c("checkpoint", {})
        self.assertEqual(ck["step"], c.status()["step"])
        errors, warnings = openpmd_check.check_file(ck["path"])
        self.assertEqual(errors + warnings, [], "\n".join(errors + warnings))
        with h5py.File(ck["path"], "r") as f:
            self.assertEqual(int(f["steerd"].attrs["step"]), ck["step"])
            n = f["steerd/state/particles/x"].shape[0]
        self.assertEqual(n, c.get1("particles"))
        c("resume", {})
        c.wait_step(400)
        c("pause", {})
        self.assertEqual(c.status()["state"], "paused")
        c("shutdown", {})
        self.d.expect_clean_exit()

    def test_python_package_and_console_attach_as_to_a_serial_run(self):
        with steerd.connect(self.d.conn_path, name="py") as py:
            self.assertEqual(py.hello()["ranks"], self.N)
            py.subscribe(scalars=True)
            py.step(5)
            m = py.recv(timeout=30)
            while m.topic != "scalars" or m.header["step"] < 5:
                m = py.recv(timeout=30)
            self.assertEqual(m.values["particles"], py.get("particles")["particles"])
            py.set(anode_voltage=800)
            self.assertEqual(py.get("anode_voltage")["anode_voltage"], 800.0)
        p = subprocess.run([CONSOLE, "-C", self.d.conn_path, "-e", "status"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, LSAN_OPTIONS=LSAN_CONSOLE))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"adapter\s+pic1d")
        self.assertRegex(p.stdout, r"step\s+5\b")
        self.c("shutdown", {})
        self.d.expect_clean_exit()

    def test_search_answers_as_the_serial_run(self):
        body = {"knob": "injected_current", "from": 100, "to": 1000, "until": "j_injected > 500",
                "hold": 60, "tol": 0.05}
        names = ["particles", "field_energy", "kinetic_energy", "j_injected"]
        self.c("set", {"values": {"injected_current": 100}})
        self.c.step_and_wait(10)
        self.c("snapshot-state", {"name": "before"})
        self.c.step_and_wait(10)
        ahead = self.c.get(*names)
        self.c("rewind", {"name": "before"})
        r = self.c("search", body, timeout=SEARCH_TIMEOUT)
        self.assertTrue(450 <= r["result"] <= 550, r)
        serial = Steerd(**make_config(start="paused", knobs=FAST_KNOBS))
        self.addCleanup(serial.cleanup)
        serial.start()
        sc = serial.client()
        sc("set", {"values": {"injected_current": 100}})
        sc.step_and_wait(10)
        s = sc("search", body, timeout=SEARCH_TIMEOUT)
        for k in ("result", "bracket", "steps", "probes"):
            self.assertEqual(r[k], s[k], "%s: MPI %r, serial %r" % (k, r[k], s[k]))
        self.assertEqual(self.c.status()["state"], "paused")
        # every rank still has its part of the state kept before the search
        # (a search makes and frees dozens of states)
        self.c("rewind", {"name": "before"})
        self.c.step_and_wait(10)
        self.assertEqual(self.c.get(*names), ahead)
        self.c("shutdown", {})
        self.d.expect_clean_exit()


class Determinism(MPIRun):
    """Two runs of the same N given the same changes at the same steps."""

    def one_run(self):
        d = self.launch(make_config(start="paused", knobs=FAST_KNOBS, schedule=[
            {"at": 30, "set": {"anode_voltage": 700}},
            {"at": 60, "ramp": {"injected_current": {"to": 1500, "steps": 40}}}]))
        c = d.client()
        c.step_and_wait(50)
        c("set", {"values": {"vc_threshold": 0.2}})
        c.step_and_wait(150)
        snap = c("snapshot", {})
        values = dict(own_scalars(snap["scalars"]), **snap["knobs"])
        c("shutdown", {})
        d.expect_clean_exit()
        return values

    def test_two_runs_bitwise(self):
        a, b = self.one_run(), self.one_run()
        self.assertEqual((a["anode_voltage"], a["injected_current"], a["vc_threshold"]),
                         (700.0, 1500.0, 0.2))
        self.assertGreater(a["particles"], 0)
        self.assertEqual(a, b)


class Embedded(MPIRun):
    EXE = EMBED

    def setUp(self):
        self.d = self.launch(ring_config())
        self.c = self.d.client()

    def total(self, rate_per_step):
        """The exact total after steps of the given rates: sum_r (r+1) * sum(rates)."""
        return sum(range(1, self.N + 1)) * sum(rate_per_step)

    def test_changes_reach_every_rank_at_the_same_step(self):
        c = self.c
        self.assertEqual(c.get1("ranks"), float(self.N))
        c.step_and_wait(10)
        c("set", {"values": {"rate": 3.0}})
        c.step_and_wait(10)
        c("ramp", {"ramps": [{"knob": "rate", "to": 13.0, "steps": 10}]})
        c("snapshot-state", {"name": "s"})
        c.step_and_wait(20)
        # the ramp applies rate(step) at boundaries 21..30: 4, 5, ..., 13
        # (the step after boundary S uses the value at S; the ramp is 3 at 20, 13 at 30)
        rates = [2.0] * 10 + [3.0] * 11 + [4.0 + i for i in range(10)] + [13.0] * 9
        want = {"total": self.total(rates), "mismatches": 0.0}
        self.assertEqual(c.get("total", "mismatches"), want)
        c("rewind", {"name": "s"})
        c.step_and_wait(20)
        self.assertEqual(c.get("total", "mismatches"), want)
        c("shutdown", {})
        self.d.expect_clean_exit()

    def test_a_state_outlives_many_rewinds(self):
        """Every rewind makes and frees a backup of the state on every rank:
        the ranks free theirs when rank 0 does, so a state kept long ago
        is still there on all of them."""
        c = self.c
        c.step_and_wait(5)
        c("snapshot-state", {"name": "kept"})
        kept = c.get("total")
        c.step_and_wait(5)
        c("snapshot-state", {"name": "other"})
        for _ in range(30):
            c.step_and_wait(1)
            c("rewind", {"name": "other"})
        c("rewind", {"name": "kept"})
        self.assertEqual(c.get("total"), kept)
        c.step_and_wait(5)
        self.assertEqual(c.get1("total"), self.total([2.0] * 10))
        c("shutdown", {})
        self.d.expect_clean_exit()

    def test_a_step_failing_on_rank_1_pauses_all(self):
        c = self.c
        sub = self.d.subscriber("event.")
        sub.sync()
        c.step_and_wait(5)
        c("set", {"values": {"fail_rank": 1, "fail_step": 12}})
        c("resume", {})
        ev = sub.event("step_failed")
        self.assertIn("rank 1 of %d: injected failure on rank 1 at step 12" % self.N,
                      ev.get("message"), ev)
        wait_until(lambda: c.status()["state"] == "paused", what="paused")
        # the run goes on once the cause is gone
        c("set", {"values": {"fail_rank": -1}})
        c.step_and_wait(3)
        self.assertEqual(c.get1("mismatches"), 0.0)
        c("shutdown", {})
        self.d.expect_clean_exit()

    def test_paused_ranks_do_not_spin(self):
        rank0 = self.d.conn["pid"]
        workers = [p for p in children(self.d.pid) if p != rank0]
        self.assertEqual(len(workers), self.N - 1, "the ranks other than 0 under mpirun")
        sub = self.d.subscriber("heartbeat")
        sub.sync()
        before = {p: cpu_ticks(p) for p in workers}
        t0 = time.monotonic()
        for _ in range(20):  # 20 heartbeats of 50 ms: about a second paused
            self.assertIsNotNone(sub.recv(timeout=10), "heartbeat")
        wall = time.monotonic() - t0
        hz = os.sysconf("SC_CLK_TCK")
        for p in workers:
            cpu = (cpu_ticks(p) - before[p]) / hz
            self.assertLess(cpu, 0.25 * wall, "rank pid %d used %.2f s of CPU in %.2f s paused"
                            % (p, cpu, wall))
        self.c("shutdown", {})
        self.d.expect_clean_exit()


class CollectiveDiags(Embedded):
    """The ring with SA_MPI_COLLECTIVE_DIAGS: its diag_read is an allreduce,
    which steerd calls on every rank together."""

    def launch(self, config, exe=None):
        d = Steerd(config=config, command=mpi(self.N, EMBED) + ["--collective-diags"], env=ENV)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    test_paused_ranks_do_not_spin = None
    test_a_step_failing_on_rank_1_pauses_all = None


class Ending(MPIRun):
    """How a job ends besides shutdown: no rank is ever left running."""

    def setUp(self):
        self.d = self.launch(make_config(start="running", knobs=FAST_KNOBS))
        self.c = self.d.client()
        self.c.wait_step(10)
        self.ranks = children(self.d.pid)
        self.assertEqual(len(self.ranks), self.N)

    def assert_all_gone(self):
        self.d.wait_exit()
        wait_until(lambda: not [p for p in self.ranks if running(p)],
                   what="every rank gone after mpirun exited")

    def test_sigterm_to_mpirun_stops_the_run_cleanly(self):
        os.kill(self.d.pid, signal.SIGTERM)  # mpirun passes it on to every rank
        self.assert_all_gone()
        self.assertIn("(signal)", self.d.stderr())
        self.assertFalse(os.path.exists(self.d.conn_path), "rank 0 closed the run")

    def test_a_rank_that_dies_ends_the_job(self):
        worker = [p for p in self.ranks if p != self.d.conn["pid"]][0]
        os.kill(worker, signal.SIGKILL)
        self.assert_all_gone()
        self.assertNotEqual(self.d.returncode, 0)


class BadConfig(MPIRun):
    def test_every_rank_exits_with_steerds_status(self):
        d = Steerd(config="run: {start: paused}\nno_such_key: 1\n", command=mpi(self.N, STEERD_MPI),
                   env=ENV)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78, d.tail())
        self.assertEqual(d.stderr().count("no_such_key"), 1, d.tail())


def for_ranks(cls, n):
    return type("%s_N%d" % (cls.__name__, n), (cls,), {"N": n})


if __name__ == "__main__":
    for exe in (STEERD_MPI, EMBED):
        if not os.path.exists(exe):
            sys.exit("no %s (make mpi)" % exe)
    classes = [for_ranks(c, n) for n in (2, 3)
               for c in (HostedPic1d, Embedded, CollectiveDiags, Ending, BadConfig)]
    classes.append(for_ranks(Determinism, 2))
    run_tests(*classes)
