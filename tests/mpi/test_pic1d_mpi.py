# SPDX-License-Identifier: MIT
"""pic1d over MPI (particle decomposition) against theory and against its
serial run, with N = 2 and 3 ranks, through tests/mpi/pic1d_mpi (the driver
that creates pic1d with sa_host.mpi_comm = MPI_COMM_WORLD):

  - determinism: two runs with the same N are bitwise the same (the driver
    hashes every step's scalars and the final arrays), and at every step
    every rank holds the same scalars, phi, rho and efield;
  - N = 1 over MPI is bitwise the serial run (the same emission, and a sum
    over one rank is no sum), and N = 2, 3 agree with it within noise;
  - Child-Langmuir: space-charge-limited emission into 1 kV, 1 cm carries
    J_CL within 2 % with phi ~ (x/d)^(4/3) within 2 %;
  - the grounded gap: below 8 J_CL(V0) the beam crosses, above it a virtual
    cathode forms;
  - the virtual-cathode onset, bisected over fresh runs held 50 transit
    times: within 2 % of the serial onset and of 8 K V0^1.5 / d^2;
  - ranks created with different knobs fail create() together.

Every mpirun is bounded (killed with its ranks on timeout) and yields the
CPU when idle (--mca mpi_yield_when_idle 1; --oversubscribe for 3 ranks on
2 cores; --allow-run-as-root as root, as in CI).

Run: STEERD_BUILD=build /usr/bin/python3 tests/mpi/test_pic1d_mpi.py
"""
import json
import math
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from steerd_harness import BUILD, REPO, is_asan_build, run_tests  # noqa: E402

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
DRIVER = os.path.join(BUILD_DIR, "mpi", "bin", "pic1d_mpi")
ASAN = is_asan_build(DRIVER)
# A bound, not an expectation: ASan, 3 ranks on 2 loaded cores.
RUN_TIMEOUT = 300

E, ME, EPS0 = 1.602176634e-19, 9.1093837015e-31, 8.8541878128e-12
K_CL = 4 * EPS0 / 9 * math.sqrt(2 * E / ME)

# The grounded gap of tests/unit/test_sim_pic1d_physics.c: a cold 100 eV beam
# into 1 cm, anode at 0 V, held 50 vacuum transit times.
GAP, V0, DT = 0.01, 100.0, 1e-11
J_LIMIT = 8 * K_CL * V0 ** 1.5 / GAP ** 2            # 186.7 A/m^2
HOLD = math.ceil(50 * GAP / math.sqrt(2 * E * V0 / ME) / DT)  # 8431 steps
GROUNDED = ["anode_voltage=0", "injection_energy=100", "cells=100", "dt=1e-11",
            "particles_per_step=20", "average_window=500"]

# Child-Langmuir of tests/unit/test_sim_pic1d_physics.c.
CL_V = 1000.0
CHILD = ["emission=scl", "anode_voltage=1000", "injection_energy=1e-4", "cells=200",
         "dt=2e-12", "particles_per_step=20", "average_window=2000"]
CL_SETTLE, CL_AVG = 4000, 2000


def mpirun(n, *args, serial=False, fails=False):
    """Run the driver on n ranks (serial: no communicator, not under mpirun)
    and return rank 0's JSON (fails: expect it to exit non-zero, return its
    stderr). Bounded: on timeout the whole job is killed."""
    cmd = [DRIVER] + (["--serial"] if serial else []) + list(args)
    if not serial:
        cmd = ["mpirun", "-np", str(n), "--oversubscribe", "--mca", "mpi_yield_when_idle", "1",
               "--mca", "btl", "self,vader"] + \
              (["--allow-run-as-root"] if os.geteuid() == 0 else []) + cmd
    env = dict(os.environ)
    if ASAN:
        # Open MPI keeps its allocations until exit by design: LSan would
        # report them; the adapter's own frees are checked by the serial
        # unit tests under ASan.
        env["ASAN_OPTIONS"] = "detect_leaks=0:" + env.get("ASAN_OPTIONS", "")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("timed out after %d s: %s" % (RUN_TIMEOUT, " ".join(cmd)))
    if fails and p.returncode != 0 and "Sanitizer" not in err:
        return err
    if fails or p.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
        raise AssertionError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, err[-3000:]))
    return json.loads(out.strip().splitlines()[-1])


class Determinism(unittest.TestCase):
    """Bitwise the same for a given N, the same on every rank, N=1 == serial."""

    ARGS = GROUNDED + ["injected_current=%g" % (0.95 * J_LIMIT), "--steps", "2000"]

    def test_same_n_bitwise_and_ranks_agree(self):
        for n in (2, 3):
            a, b = mpirun(n, *self.ARGS), mpirun(n, *self.ARGS)
            print("# N=%d: hashes %s %s" % (n, a["hash"], b["hash"]))
            self.assertTrue(a["identical"] and b["identical"], "ranks disagree with N=%d" % n)
            self.assertEqual(a["ranks"], n)
            self.assertEqual(a["hash"], b["hash"])

    def test_one_rank_is_serial_and_n_within_noise(self):
        serial = mpirun(1, *self.ARGS, serial=True)
        one = mpirun(1, *self.ARGS)
        self.assertEqual(one["hash"], serial["hash"], "N=1 over MPI differs from serial")
        s = serial["scalars"]
        for n in (2, 3):
            r = mpirun(n, *self.ARGS)["scalars"]
            print("# N=%d vs serial: particles %d / %d, j_transmitted %.4f / %.4f, phi_min "
                  "%.3f / %.3f V" % (n, r["particles"], s["particles"], r["j_transmitted"],
                                     s["j_transmitted"], r["phi_min"], s["phi_min"]))
            # the same emission: only the order of the charge sums differs
            self.assertEqual(r["particles"], s["particles"])
            self.assertEqual(r["j_injected"], s["j_injected"])
            self.assertLess(abs(r["j_transmitted"] / s["j_transmitted"] - 1), 1e-3)
            self.assertLess(abs(r["phi_min"] / s["phi_min"] - 1), 1e-3)


class Failures(unittest.TestCase):
    def test_ranks_with_different_knobs_fail_together(self):
        """A host that creates the ranks with different knob values gets an
        error from create() on every rank (no rank left waiting)."""
        err = mpirun(2, "--steps", "10", "--on-rank", "1", "injected_current=5", fails=True)
        self.assertIn("created with different knob values", err)


class ChildLangmuir(unittest.TestCase):
    def test_child_langmuir(self):
        j_cl = K_CL * CL_V ** 1.5 / GAP ** 2
        for n in (2, 3):
            r = mpirun(n, *CHILD, "--steps", str(CL_SETTLE + CL_AVG),
                       "--avg-from", str(CL_SETTLE + CL_AVG // 2))
            s = r["scalars"]
            err_j = s["j_transmitted"] / j_cl - 1
            phi = r["phi_avg"]
            cells = len(phi) - 1
            worst = max(abs(phi[j] / (CL_V * (j / cells) ** (4 / 3)) - 1)
                        for j in range(cells + 1) if j / cells > 0.1)
            print("# N=%d Child-Langmuir: J_CL %.2f A/m^2, transmitted %.2f (%+.2f %%), "
                  "phi within %.2f %% of V (x/d)^(4/3)" % (n, j_cl, s["j_transmitted"],
                                                           100 * err_j, 100 * worst))
            self.assertTrue(r["identical"])
            self.assertLess(abs(err_j), 0.02)
            self.assertLess(s["reflected_fraction"], 1e-3)
            self.assertLess(worst, 0.02)


class GroundedGap(unittest.TestCase):
    def run_gap(self, n, fraction):
        r = mpirun(n, *GROUNDED, "injected_current=%.6g" % (fraction * J_LIMIT),
                   "--steps", str(HOLD))
        s = r["scalars"]
        print("# N=%d grounded gap at %.2f x 8 J_CL(V0): virtual cathode %s, reflected %.3f, "
              "transmitted %.3f" % (n, fraction, "formed" if r["vc_seen"] else "never",
                                    s["reflected_fraction"],
                                    s["j_transmitted"] / s["j_injected"]))
        self.assertTrue(r["identical"])
        return r

    def test_below_limit(self):
        for n in (2, 3):
            r = self.run_gap(n, 0.95)
            s = r["scalars"]
            self.assertFalse(r["vc_seen"])
            self.assertLess(s["reflected_fraction"], 1e-3)
            self.assertLess(abs(s["j_transmitted"] / s["j_injected"] - 1), 1e-3)

    def test_above_limit(self):
        for n in (2, 3):
            r = self.run_gap(n, 1.05)
            self.assertTrue(r["vc_seen"])
            self.assertGreater(r["scalars"]["reflected_fraction"], 0.1)


class Onset(unittest.TestCase):
    """The least injected current that forms a virtual cathode: bisection
    over fresh runs in [0.9, 1.1] x 8 K V0^1.5 / d^2 (5 runs: +-0.6 %)."""

    def onset(self, n, serial=False):
        r = mpirun(n, *GROUNDED, "--steps", str(HOLD), "--onset", "injected_current",
                   "%.6g" % (0.9 * J_LIMIT), "%.6g" % (1.1 * J_LIMIT), "5", serial=serial)
        self.assertTrue(r["identical"])
        return r["onset"]

    def test_onset_n2_n3_vs_serial(self):
        serial = self.onset(1, serial=True)
        print("# serial onset %.2f A/m^2 (theory %.2f, %+.2f %%)"
              % (serial, J_LIMIT, 100 * (serial / J_LIMIT - 1)))
        for n in (2, 3):
            j = self.onset(n)
            print("# N=%d onset %.2f A/m^2: %+.2f %% from serial, %+.2f %% from theory"
                  % (n, j, 100 * (j / serial - 1), 100 * (j / J_LIMIT - 1)))
            self.assertLess(abs(j / serial - 1), 0.02)
            self.assertLess(abs(j / J_LIMIT - 1), 0.02)


if __name__ == "__main__":
    if not os.access(DRIVER, os.X_OK):
        print("1..0 # SKIP %s not built (make mpi)" % DRIVER)
        sys.exit(0)
    run_tests(Determinism, Failures, ChildLangmuir, GroundedGap, Onset)
