# SPDX-License-Identifier: MIT
"""The `search` command against real steerd processes, and its clients:
steer-console's `search`, examples/python/steer_client.py, and
examples/python/plot_run.py on a checkpoint the daemon wrote.

  (a) grounded gap (configs/grounded-gap-fast.yaml): search injected_current
      in [100, 300] until virtual_cathode, hold 50 transit times, tol 1%,
      finds 8 K V0^1.5 / d^2 = 186.7 A/m^2 within 1%;
  (b) the default 1 kV diode (configs/diode.yaml, thermal_energy 1 eV so the
      seed matters) converges to the same limit within 1% for two seeds, and
      the run goes on as before (running or paused) afterwards;
  (c) steer_client.py runs the same search and returns the daemon's reply;
  (d) steer-console `search --json` in script mode prints it too;
  (e) plot_run.py draws a PNG of a checkpoint and of a recorded run.

The grounded-gap searches all start from one state kept with snapshot-state
while the run is paused, so they are bitwise the same computation: (c) and
(d) must reproduce (a) exactly.

  (g) with default settings (no hold, no tol) the search agrees within 1 %
      with the theory of the maximum transmitted current of a cold beam
      (jaffe_limit) and with a brute-force reference (REFERENCE) on three
      diodes: the grounded gap (V/V0 = 0), configs/diode.yaml (V/V0 = 10)
      and a steep 5 kV gap with 50 eV injection (V/V0 = 100);
  (h) direction down agrees with a brute-force descent;
  (i) hold_time works before the first step (the adapter's dt diagnostic),
      and every seconds-to-steps conversion is range-checked (bad_argument);
  (j) a search is journaled: a checkpoint written during it restarts, and
      its journal explains the knob's value; a search left at its result
      warns (event search_warning) when its condition turns true later.

The default-settings searches on diode.yaml and the steep gap cost ~10^5
steps each (minutes under ASan on a loaded machine): under ASan only the
grounded gap runs them (same code paths; the other two add physics, not
memory checks), the rest is skipped with a reason.

Run: STEERD_BUILD=build/srch /usr/bin/python3 tests/integration/test_search.py
Brute-force references (minutes, once): make search-reference
"""
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import unittest

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from steerd_harness import (BUILD, FAST_KNOBS, REPO, Steerd, is_asan_build,  # noqa: E402
                            make_config, run_tests, wait_until)

BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)
CONSOLE = os.path.join(BUILD_DIR, "bin", "steer-console")
PY = sys.executable or "/usr/bin/python3"
EXAMPLES = os.path.join(REPO, "examples", "python")
STEER_CLIENT = os.path.join(EXAMPLES, "steer_client.py")
PLOT_RUN = os.path.join(EXAMPLES, "plot_run.py")

# A bound, not an expectation: an ASan build on a loaded 2-core machine.
SEARCH_TIMEOUT = 400

# Physics of the grounded gap.
E, ME, EPS0 = 1.602176634e-19, 9.1093837015e-31, 8.8541878128e-12
K_CL = 4 * EPS0 / 9 * math.sqrt(2 * E / ME)          # 2.334e-6 A/V^1.5
GAP, V0, DT = 0.01, 100.0, 1e-11
J_LIMIT = 8 * K_CL * V0 ** 1.5 / GAP ** 2            # 186.7 A/m^2
TRANSIT = GAP / math.sqrt(2 * E * V0 / ME)           # 1.69 ns
HOLD = math.ceil(50 * TRANSIT / DT)                  # 8431 steps


def jaffe_limit(V, V0, d):
    """The maximum current density (A/m^2) a cold beam injected with energy
    eV0 carries across a planar gap d whose anode is at V (cathode 0) without
    reflection: G. Jaffe, Phys. Rev. 65, 91 (1944); P. V. Akimov, H. Schamel
    et al., Phys. Plasmas 8, 3788 (2001), "The true nature of
    space-charge-limited currents in electron vacuum diodes"; R. J. Umstattd,
    C. G. Carr et al., Am. J. Phys. 73, 160 (2005).

    Derivation. In steady flow without reflection v = k sqrt(V0 + phi) with
    k = sqrt(2e/m), and Poisson's equation phi'' = J / (eps0 k sqrt(V0 + phi))
    integrates once to phi'^2 = (4J / (eps0 k)) (w - wm), w = sqrt(V0 + phi),
    wm its value at the potential minimum. Integrating dx = 2 w dw / phi' from
    the minimum to the cathode (w = wc = sqrt(V0)) and to the anode
    (w = wa = sqrt(V0 + V)):
        d = (4 / (3 sqrt(alpha))) G(wm),  alpha = 4J / (eps0 k),
        G(wm) = s_c^1/2 (s_c + 3 wm) + s_a^1/2 (s_a + 3 wm),  s = w - wm.
    So J = (4 eps0 k / (9 d^2)) G(wm)^2: a solution exists while J is at most
    K G_max^2 / d^2 (K the Child-Langmuir perveance), the maximum over
    0 <= wm <= min(wc, wa); above it no steady beam exists and a virtual
    cathode forms. The maximum is K (sqrt(V0) + sqrt(V0 + V))^3 / d^2 for
    V > 0 (minimum at zero kinetic energy, wm = 0) and 8 K V0^1.5 / d^2 for
    V = 0 (wm = wc / 2); V0 = 0 gives Child-Langmuir. Here G is maximised
    numerically (golden section), and checked against those closed forms."""
    wc, wa = math.sqrt(V0), math.sqrt(V0 + V)

    def g(wm):
        sc, sa = wc - wm, wa - wm
        return math.sqrt(sc) * (sc + 3 * wm) + math.sqrt(sa) * (sa + 3 * wm)

    lo, hi = 0.0, min(wc, wa)
    r = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        a, b = hi - r * (hi - lo), lo + r * (hi - lo)
        if g(a) < g(b):
            lo = a
        else:
            hi = b
    gmax = max(g(0.5 * (lo + hi)), g(0.0), g(min(wc, wa)))
    return K_CL * gmax ** 2 / d ** 2


# The brute-force references (make search-reference, tests/reference/
# search_reference.c): fresh runs from an empty gap every 0.25 % of the
# theory, each held 200 vacuum transit times (4x the search's default hold);
# the limit is the midpoint between the last value without a virtual
# cathode and the first with one. "descent": a virtual cathode formed at
# 1.5 x the limit, then the current lowered in steps of 0.25 %, each held
# 200 transit times, until it clears (midpoint of the last two values).
REFERENCE = {
    "grounded": {"up": 186.95, "descent": 147.272},
    "diode": {"up": 1879.61},
    "steep": {"up": 11147.1},
}


def read_config(name, subs=()):
    """A config file of the repository with textual substitutions (each must apply)."""
    with open(os.path.join(REPO, "configs", name)) as f:
        text = f.read()
    for old, new in subs:
        assert re.search(old, text, re.M), "%s: no %r to replace" % (name, old)
        text = re.sub(old, new, text, count=1, flags=re.M)
    return text


def run_cmd(args, timeout=SEARCH_TIMEOUT):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    return p.returncode, p.stdout, p.stderr


def send_search(client, body):
    """Send a search without waiting; returns the request id."""
    rid = client.next_id()
    client.send_raw([b"", json.dumps({"cmd": "search", "id": rid, "client": client.name}).encode(),
                     json.dumps(body).encode()])
    return rid


def check_reply_shape(t, r, lo, hi, tol):
    """What PROTOCOL.md promises of a successful search reply."""
    t.assertTrue(r["converged"], r)
    good, bad = r["bracket"]
    t.assertEqual(r["result"], good)
    t.assertLess(good, bad)
    t.assertLessEqual(bad - good, tol * bad * (1 + 1e-12))
    probes = r["probes"]
    t.assertEqual((probes[0]["value"], probes[0]["bad"]), (lo, False))
    t.assertEqual((probes[1]["value"], probes[1]["bad"]), (hi, True))
    t.assertEqual(sum(p["steps"] for p in probes), r["steps"])
    # A settled good whose confirmation failed is bad after all.
    failed = {p["value"] for p in probes if p["confirm"] and p["bad"]}
    t.assertEqual(max(p["value"] for p in probes if not p["bad"] and p["value"] not in failed), good)
    t.assertEqual(min(p["value"] for p in probes if p["bad"]), bad)
    # The result held the whole hold: at once, or settled and then confirmed.
    at = [p for p in probes if p["value"] == good]
    t.assertEqual(sum(p["steps"] for p in at if not p["bad"]), at[0]["hold"], at)
    t.assertFalse(any(p["settled"] for p in probes if p["bad"] or p["confirm"]), probes)


class SearchTestCase(unittest.TestCase):
    """Daemons of a class are shared by its tests (setUpClass)."""
    daemons = []

    @classmethod
    def start(cls, config):
        d = Steerd(config=config)
        cls.daemons.append(d)
        d.start()
        return d

    @classmethod
    def tearDownClass(cls):
        try:
            for d in cls.daemons:
                if d.alive():
                    d.stop()  # SIGTERM: asserts exit 0 and no sanitizer report
        finally:
            for d in cls.daemons:
                d.cleanup()
            cls.daemons = []

    def daemon_logs(self):
        return [(d.config_path, d.tail(25)) for d in self.daemons]

    def tearDown(self):
        for d in self.daemons:
            d.check_sanitizers()


class GroundedGap(SearchTestCase):
    reference = None  # the daemon's reply in (a), for (c) and (d)

    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        cls.d = cls.start(read_config("grounded-gap-fast.yaml",
                                      [(r"^  start: running", "  start: paused")]))
        cls.c = cls.d.client("tester")
        cls.c.step_and_wait(1)  # hold_time needs the time per step
        cls.start_state = cls.c("snapshot-state", {"name": "start"})
        cls.knobs0 = cls.c.knobs()

    def setUp(self):
        self.c("rewind", {"name": "start"})

    def daemon_search(self, rewind=True):
        """The daemon's reply to the reference search (run once); with
        rewind, back at the start state afterwards."""
        if GroundedGap.reference is None:
            GroundedGap.reference = self.c("search", {
                "knob": "injected_current", "from": 100, "to": 300, "until": "virtual_cathode",
                "hold": HOLD, "tol": 0.01}, timeout=SEARCH_TIMEOUT)
            if rewind:
                self.c("rewind", {"name": "start"})
        return GroundedGap.reference

    def assert_same_as_reference(self, r):
        ref = self.daemon_search()
        for k in ("knob", "result", "bracket", "converged", "steps", "probes", "until"):
            self.assertEqual(r[k], ref[k], "%s differs from the daemon's reply" % k)

    def test_a_daemon_finds_the_space_charge_limit(self):
        sub = self.d.subscriber("event.search_")
        self.assertEqual(HOLD, 8431)
        GroundedGap.reference = None
        r = self.daemon_search(rewind=False)
        check_reply_shape(self, r, 100.0, 300.0, 0.01)
        print("# grounded gap: search found %.2f A/m^2 (theory %.2f, %+.2f %%), bracket %s, "
              "%d steps in %d probes" % (r["result"], J_LIMIT, 100 * (r["result"] / J_LIMIT - 1),
                                         r["bracket"], r["steps"], len(r["probes"])))
        self.assertLess(abs(r["result"] - J_LIMIT) / J_LIMIT, 0.01)
        self.assertLessEqual(r["bracket"][0], J_LIMIT * 1.01)
        self.assertGreaterEqual(r["bracket"][1], J_LIMIT * 0.99)
        # Good probes ran the whole hold; bad ones stopped at the condition.
        for p in r["probes"]:
            if p["bad"]:
                self.assertLess(p["steps"], HOLD)
            else:
                self.assertEqual(p["steps"], HOLD)
        # Events: started, one probe event per probe, finished with the result.
        started = sub.event("search_started", knob="injected_current")
        self.assertEqual((started["from"], started["to"], started["hold"]), (100.0, 300.0, HOLD))
        evs = sub.events_until("search_finished")
        probes = [m for m in evs if m.topic == "event.search_probe"]
        self.assertEqual([(m["value"], m["bad"], m["steps"]) for m in probes],
                         [(p["value"], p["bad"], p["steps"]) for p in r["probes"]])
        self.assertEqual(probes[-1]["total_steps"], r["steps"])
        self.assertEqual(evs[-1]["result"], r["result"])
        # It ends in the last good state, knob at the result, still paused.
        st = self.c.status()
        self.assertEqual((st["state"], st["step"]), ("paused", r["step"]))
        v = self.c.get("injected_current", "virtual_cathode")
        self.assertEqual(v, {"injected_current": r["result"], "virtual_cathode": 0.0})

    def test_c_python_client_returns_the_daemon_reply(self):
        self.daemon_search()
        rc, out, err = run_cmd([PY, STEER_CLIENT, "-C", self.d.conn_path, "search",
                                "injected_current", "100", "300", "--until", "virtual_cathode",
                                "--hold", str(HOLD), "--tol", "0.01", "--json"])
        self.assertEqual(rc, 0, out + err)
        r = json.loads(out.strip().splitlines()[-1])
        self.assert_same_as_reference(r)
        # Progress from the search_probe events, one line per probe.
        lines = [ln for ln in err.splitlines() if ln.startswith("probe ")]
        self.assertEqual(len(lines), len(r["probes"]), err)
        self.assertIn("probe 1: injected_current = 100 good", lines[0])
        self.assertIn("bad", lines[1])
        # get and set through the same client.
        rc, out, err = run_cmd([PY, STEER_CLIENT, "-C", self.d.conn_path, "get",
                                "injected_current", "virtual_cathode"])
        self.assertEqual(rc, 0, err)
        self.assertIn("injected_current = %s" % json.dumps(r["result"]), out)
        self.assertIn("virtual_cathode = 0.0", out)
        rc, out, err = run_cmd([PY, STEER_CLIENT, "-C", self.d.conn_path, "set",
                                "injected_current=120"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.c.get1("injected_current"), 120.0)
        rc, out, err = run_cmd([PY, STEER_CLIENT, "-C", self.d.conn_path, "set",
                                "injected_current", "-5"])
        self.assertEqual(rc, 1)
        self.assertIn("out_of_range", err)

    def test_d_console_search_json(self):
        self.daemon_search()
        # The hold as a time: 84.31 ns at 10 ps per step = the same 8431 steps.
        rc, out, err = run_cmd([CONSOLE, "-C", self.d.conn_path, "--json", "-e",
                                "search injected_current 100 A/m^2 0.3k until virtual_cathode "
                                "hold 84.31ns tol 1%"])
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("Sanitizer", err)
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 1, out)  # the reply body, nothing else
        r = json.loads(lines[0])
        self.assertIsInstance(r["result"], float)
        self.assert_same_as_reference(r)
        self.assertEqual(self.c.status()["state"], "paused")

    def test_f_console_human_output_and_errors(self):
        # A short search (short hold, coarse tol) in human mode: progress
        # lines, then result, bracket and cost.
        rc, out, err = run_cmd([CONSOLE, "-C", self.d.conn_path, "-e",
                                "search injected_current 150 250 until virtual_cathode == 1 "
                                "hold 1500 tol 10%; get injected_current"])
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"probe 1: injected_current = 150 A/m\^2 good after 1500 steps")
        self.assertRegex(out, r"probe 2: injected_current = 250 A/m\^2 bad  after \d+ steps")
        m = re.search(r"result:  injected_current = ([\d.]+) A/m\^2 \(converged", out)
        self.assertTrue(m, out)
        self.assertRegex(out, r"bracket: \[[\d.]+, [\d.]+\] A/m\^2")
        self.assertRegex(out, r"steps:   \d+ simulated in \d+ probes")
        self.assertRegex(out, r"injected_current\s+%s\s+A/m\^2" % re.escape(m.group(1)))
        # 'from' already meets the condition: refused, exit status 1.
        rc, out, err = run_cmd([CONSOLE, "-C", self.d.conn_path, "-e",
                                "search injected_current 250 300 until virtual_cathode hold 2000"])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("search failed", err)
        self.assertIn("refused", err)
        # Console-side argument errors never reach the daemon.
        for bad, why in [("search injected_current 300 100 until virtual_cathode", "below"),
                         ("search injected_current 100 300 hold 2000", "condition"),
                         ("search injected_current 100 300 until virtual_cathode tol 2", "tol"),
                         ("search injected_current 100 300 until virtual_cathode hold 5 parsecs",
                          "hold"),
                         ("search injected_current 100 V 300 until virtual_cathode", "unit"),
                         ("search injected_current 100 300 until no_such_thing", "no_such_thing")]:
            rc, out, err = run_cmd([CONSOLE, "-C", self.d.conn_path, "-e", bad])
            self.assertEqual(rc, 1, "%s: %s%s" % (bad, out, err))
            self.assertIn(why, err, bad)
        # While a search runs, steering is bad_state; cancel {"search": true} ends it.
        # A condition that cannot hold (the state the searches above left may
        # keep a virtual cathode at any current: hysteresis), so the search
        # is certainly under way when it is cancelled.
        rid = send_search(self.c, {"knob": "injected_current", "from": 100, "to": 300,
                                   "until": "virtual_cathode > 5", "hold": 10 ** 7})
        other = self.d.client("other")
        wait_until(lambda: other.error("set", {"values": {"injected_current": 110}}) == "bad_state",
                   what="set refused while searching")
        other("cancel", {"search": True})
        hdr, body = self.c.recv_reply(SEARCH_TIMEOUT, want_id=rid)
        self.assertFalse(hdr["ok"])
        self.assertEqual(body["error"]["code"], "refused")
        self.assertEqual(self.c.status()["state"], "paused")


class ConsoleCancel(SearchTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        cls.d = cls.start(diode_config("grounded"))

    def test_l_console_ctrl_c_reports_cancelled(self):
        sub = self.d.subscriber("event.search_")
        p = subprocess.Popen([CONSOLE, "-C", self.d.conn_path, "-e",
                              "search injected_current 100 300 until virtual_cathode hold 10000000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sub.event("search_started", knob="injected_current")
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=SEARCH_TIMEOUT)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertTrue(sub.event("search_finished")["error"].startswith("cancelled by"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("search cancelled", err)
        self.assertNotIn("search failed", err)


class Diode(SearchTestCase):
    """configs/diode.yaml (1 kV, 100 eV electrons, 200 cells, 2 ps) with
    thermal emission (kT = 1 eV: the random numbers, hence the seed, matter).
    Exploring with the search itself ([1000, 10000], then narrower) puts the
    limit at about 1.9 kA/m^2 for a 16 ns hold (~20 transit times): the
    range [1500, 2500] brackets it with margin on both sides."""
    LO, HI, HOLD, TOL = 1500.0, 2500.0, 8000, 0.01

    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        subs = [(r"^    thermal_energy: 0 ", "    thermal_energy: 1 ")]
        # Seed 1 running, seed 2 paused: the search must leave each as it was.
        cls.d1 = cls.start(read_config("diode.yaml", subs))
        cls.d2 = cls.start(read_config("diode.yaml", subs + [
            (r"^    seed: 1 ", "    seed: 2 "), (r"^  start: running", "  start: paused")]))

    def test_b_converges_and_is_seed_independent(self):
        c1, c2 = self.d1.client("tester"), self.d2.client("tester")
        c2.step_and_wait(200)
        c1.wait_step(200)
        self.assertEqual(c1.knobs()["seed"], 1)
        self.assertEqual(c2.knobs()["seed"], 2)
        before = [c1.knobs(), c2.knobs()]
        body = {"knob": "injected_current", "from": self.LO, "to": self.HI,
                "until": "virtual_cathode", "hold": self.HOLD, "tol": self.TOL}
        # Both at once: two daemons, two cores.
        ids = [send_search(c1, body), send_search(c2, body)]
        r1 = c1.recv_reply(SEARCH_TIMEOUT, want_id=ids[0])
        r2 = c2.recv_reply(SEARCH_TIMEOUT, want_id=ids[1])
        for hdr, r in (r1, r2):
            self.assertTrue(hdr["ok"], r)
            check_reply_shape(self, r, self.LO, self.HI, self.TOL)
        r1, r2 = r1[1], r2[1]
        print("# diode 1 kV: seed 1 -> %.2f A/m^2 (%d steps, %d probes), seed 2 -> %.2f A/m^2 "
              "(%d steps, %d probes)" % (r1["result"], r1["steps"], len(r1["probes"]),
                                         r2["result"], r2["steps"], len(r2["probes"])))
        self.assertLess(abs(r1["result"] - r2["result"]) / r1["result"], 0.01)
        # The seeds did make the runs differ (a probe ended at another step),
        # so the agreement is not a copy of one computation.
        self.assertNotEqual([p["steps"] for p in r1["probes"]],
                            [p["steps"] for p in r2["probes"]])

        # Afterwards: seed 1 runs on, seed 2 stays paused; both at the result,
        # no virtual cathode, every other knob as before, no ramps.
        for c, r, state, kb in ((c1, r1, "running", before[0]), (c2, r2, "paused", before[1])):
            st = c.status()
            self.assertEqual(st["state"], state)
            v = c.get("injected_current", "virtual_cathode", "j_transmitted")
            self.assertEqual(v["injected_current"], r["result"])
            if state == "paused":
                # The running one goes on at 1% below the limit: a virtual
                # cathode may still form there later, which is physics.
                self.assertEqual(v["virtual_cathode"], 0.0)
            kn = c.knobs()
            kb = dict(kb, injected_current=r["result"])
            self.assertEqual(kn, kb)
            self.assertEqual(c("ramps")["ramps"], [])
        s1 = c1.status()["step"]
        c1.wait_step(s1 + 500)
        self.assertEqual(c2.status()["step"], r2["step"])
        self.assertEqual(c2.step_and_wait(300), r2["step"] + 300)
        v = c2.get("virtual_cathode", "j_transmitted", "j_injected")
        self.assertEqual(v["virtual_cathode"], 0.0)
        self.assertGreater(v["j_transmitted"], 0.9 * v["j_injected"])
        for c in (c1, c2):
            # Steering works again.
            self.assertEqual(c("set", {"values": {"injected_current": 1000}})["applied"],
                             {"injected_current": 1000.0})


class PlotRun(SearchTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        cls.d = cls.start(make_config(start="running", knobs=FAST_KNOBS,
                                      diagnostics={"heartbeat_ms": 100}))

    def png_size(self, path):
        with open(path, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n", path)
        return struct.unpack(">II", head[16:24])

    def test_e_plot_checkpoint_and_recording(self):
        c = self.d.client("tester")
        c.wait_step(500)
        r = c("checkpoint", {"name": "plot.h5"})
        path = r["path"] if os.path.isabs(r["path"]) else os.path.join(self.d.tmp, r["path"])
        self.assertTrue(os.path.exists(path), r)
        out = os.path.join(self.d.tmp, "plot.png")
        rc, so, se = run_cmd([PY, PLOT_RUN, "checkpoint", path, "-o", out], timeout=120)
        self.assertEqual(rc, 0, so + se)
        w, h = self.png_size(out)
        self.assertGreaterEqual((w, h), (800, 600))
        self.assertGreater(os.path.getsize(out), 20000)  # four panels with data, not blank

        rec = os.path.join(self.d.tmp, "run.jsonl")
        proc = subprocess.Popen([PY, PLOT_RUN, "record", "-C", self.d.conn_path, "--seconds", "3",
                                 "-o", rec], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        # Steer while it records: the change shows up as an event.
        wait_until(lambda: os.path.exists(rec) and os.path.getsize(rec) > 0, 60,
                   what="the recording to start")
        c("set", {"values": {"injected_current": 1100}})
        so, se = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, so + se)
        with open(rec) as f:
            lines = [json.loads(x) for x in f]
        self.assertEqual(lines[0]["type"], "header")
        self.assertTrue(any(x["type"] == "scalars" for x in lines))
        self.assertTrue(any(x.get("event") == "knob_changed" and x.get("new") == 1100.0
                            for x in lines), se)
        out = os.path.join(self.d.tmp, "run.png")
        rc, so, se = run_cmd([PY, PLOT_RUN, "plot", rec, "-o", out], timeout=120)
        self.assertEqual(rc, 0, so + se)
        self.assertGreaterEqual(self.png_size(out), (800, 600))


def read_journal(path):
    """The steering journal kept in a checkpoint (a JSON array, or JSON lines)."""
    with h5py.File(path, "r") as f:
        raw = f["steerd/journal"][()]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def compute_references(binary):
    """make search-reference: run the brute-force scans, print REFERENCE."""
    jobs = [("grounded", "up", 0.985, 1.03), ("grounded", "descent", 0.70, 1.0),
            ("diode", "up", 0.985, 1.03), ("steep", "up", 0.985, 1.03)]
    out = {}
    for name, mode, lo, hi in jobs:
        V, V0, d = DIODES[name][:3]
        p = subprocess.run([binary, name, mode, repr(jaffe_limit(V, V0, d)), repr(lo), repr(hi)],
                           capture_output=True, text=True, check=True)
        sys.stdout.write(p.stdout)
        out.setdefault(name, {})[mode] = float(p.stdout.strip().splitlines()[-1].split()[2])
    print("REFERENCE = %r" % out)
    return 0


ASAN = is_asan_build()
# A bound for the default-settings searches (~10^5 steps of a 200-cell diode).
DEFAULT_TIMEOUT = 3000
PAUSED = (r"^  start: running", "  start: paused")

# name: (anode voltage V, injection energy V0, gap, dt, search range)
DIODES = {
    "grounded": (0.0, 100.0, 0.01, 1e-11, 100.0, 300.0),
    "diode": (1000.0, 100.0, 0.01, 2e-12, 500.0, 4000.0),
    "steep": (5000.0, 50.0, 0.01, 1e-12, 5000.0, 20000.0),
}


def diode_config(name, subs=()):
    """The config of one of DIODES, started paused."""
    if name == "grounded":
        return read_config("grounded-gap-fast.yaml", [PAUSED] + list(subs))
    if name == "diode":
        return read_config("diode.yaml", [PAUSED] + list(subs))
    assert name == "steep"
    return read_config("diode.yaml", [PAUSED, (r"^    anode_voltage: 1000 ", "    anode_voltage: 5000 "),
                                      (r"^    injection_energy: 100 ", "    injection_energy: 50 "),
                                      (r"^    dt: 2.0e-12 ", "    dt: 1.0e-12 ")] + list(subs))


def transit_time(V, V0, d):
    """Vacuum transit of a cold electron of energy eV0 across d to an anode at V > -V0."""
    v0, a = math.sqrt(2 * E * V0 / ME), E * V / (ME * d)
    return d / v0 if a == 0 else (-v0 + math.sqrt(v0 * v0 + 2 * a * d)) / a


class Theory(unittest.TestCase):
    def test_jaffe_limit_closed_forms(self):
        for V, V0 in ((0.0, 100.0), (0.0, 1.0), (1000.0, 100.0), (5000.0, 50.0), (1000.0, 0.0),
                      (10.0, 100.0)):
            want = (8 * K_CL * V0 ** 1.5 if V == 0 else
                    K_CL * (math.sqrt(V0) + math.sqrt(V0 + V)) ** 3) / GAP ** 2
            self.assertAlmostEqual(jaffe_limit(V, V0, GAP) / want, 1.0, places=9, msg=(V, V0))
        self.assertAlmostEqual(jaffe_limit(0.0, V0, GAP), J_LIMIT, places=9)


class DefaultSettings(SearchTestCase):
    """(g) `search injected_current FROM TO until virtual_cathode`, nothing else."""

    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        names = ["grounded"] if ASAN else list(DIODES)
        cls.d = {n: cls.start(diode_config(n)) for n in names}

    def run_defaults(self, names):
        clients = {n: self.d[n].client("tester") for n in names}
        ids = {}
        for n in names:  # all at once: one daemon each
            lo, hi = DIODES[n][4:6]
            ids[n] = send_search(clients[n], {"knob": "injected_current", "from": lo, "to": hi,
                                              "until": "virtual_cathode"})
        for n in names:
            V, V0, d, dt, lo, hi = DIODES[n]
            hdr, r = clients[n].recv_reply(DEFAULT_TIMEOUT, want_id=ids[n])
            self.assertTrue(hdr["ok"], r)
            check_reply_shape(self, r, lo, hi, 0.005)  # the default tol
            self.assertEqual(r["direction"], "up")
            hold = math.ceil(50 * transit_time(V, V0, d) / dt - 1e-9)
            self.assertEqual({p["hold"] for p in r["probes"]}, {hold})
            # Far below the limit the run settles in a few transit times:
            # such probes end early (the result is still held the whole
            # hold, check_reply_shape).
            self.assertTrue(any(p["settled"] for p in r["probes"]), r["probes"])
            theory, ref = jaffe_limit(V, V0, d), REFERENCE[n]["up"]
            print("# %s (V/V0 = %g): default search %.2f A/m^2 in %d steps, %d probes (hold %d); "
                  "theory %.2f (%+.2f %%), brute force %s (%s)" % (
                      n, V / V0, r["result"], r["steps"], len(r["probes"]), hold, theory,
                      100 * (r["result"] / theory - 1), ref,
                      "%+.2f %%" % (100 * (r["result"] / ref - 1)) if ref else "not computed"))
            self.assertLess(abs(r["result"] / theory - 1), 0.01, n)
            self.assertIsNotNone(ref, "%s: run make search-reference" % n)
            self.assertLess(abs(r["result"] / ref - 1), 0.01, n)
            self.assertEqual(clients[n].get1("virtual_cathode"), 0.0)

    def test_g1_grounded_gap(self):
        self.run_defaults(["grounded"])

    @unittest.skipIf(ASAN, "~10^5 steps of a 200-cell diode each: normal build only "
                     "(the grounded gap runs the same code under ASan)")
    def test_g2_diode_and_steep_gap(self):
        self.run_defaults(["diode", "steep"])


class Directions(SearchTestCase):
    """(h), (i), (j) on the grounded gap."""

    @classmethod
    def setUpClass(cls):
        cls.daemons = []
        cls.d = cls.start(diode_config("grounded", [
            (r"^  start: paused", "  start: paused\ncheckpoint:\n  directory: ckpt\n"
                                  "  every_steps: 700\n  keep: 100\n  on_exit: false")]))
        cls.c = cls.d.client("tester")
        cls.c("snapshot-state", {"name": "clean"})

    def setUp(self):
        self.c("rewind", {"name": "clean"})

    def test_h_direction_down_agrees_with_a_descent(self):
        c = self.c
        # down starts where the condition holds: refused on a clean gap.
        self.assertEqual(c.error("search", {"knob": "injected_current", "from": 50, "to": 300,
                                            "until": "virtual_cathode", "direction": "down"}),
                         "refused")
        c("set", {"values": {"injected_current": 1.5 * J_LIMIT}})
        wait_until(lambda: c.step_and_wait(200) and c.get1("virtual_cathode") == 1.0,
                   what="a virtual cathode")
        c.step_and_wait(5000)
        r = c("search", {"knob": "injected_current", "from": 50, "to": 300,
                         "until": "virtual_cathode", "direction": "down"}, timeout=DEFAULT_TIMEOUT)
        self.assertEqual(r["direction"], "down")
        self.assertTrue(r["converged"], r)
        probes = r["probes"]
        self.assertEqual((probes[0]["value"], probes[0]["bad"]), (300.0, True))
        self.assertEqual((probes[1]["value"], probes[1]["bad"]), (50.0, False))
        good, bad = r["bracket"]
        self.assertEqual(r["result"], good)
        self.assertLessEqual(bad - good, 0.005 * bad * (1 + 1e-12))
        print("# probes: %s" % [(p["value"], p["bad"], p["steps"]) for p in probes])
        ref = REFERENCE["grounded"]["descent"]
        print("# grounded gap, direction down: %.2f A/m^2 (%.3f x the limit) in %d steps; "
              "brute-force descent %s" % (r["result"], r["result"] / J_LIMIT, r["steps"], ref))
        self.assertIsNotNone(ref, "run make search-reference")
        self.assertLess(abs(r["result"] / ref - 1), 0.01)
        # It ends where the virtual cathode cleared, at the result.
        self.assertEqual(c.get("injected_current", "virtual_cathode"),
                         {"injected_current": r["result"], "virtual_cathode": 0.0})

    def test_i_hold_time_before_the_first_step_and_range_checks(self):
        d = self.start(diode_config("grounded"))
        c = d.client("tester")
        self.assertEqual(c.status()["step"], 0)
        sub = d.subscriber("event.search_")
        base = {"knob": "injected_current", "from": 100, "to": 300, "until": "virtual_cathode"}
        # Range checks first: nothing runs, nothing changes.
        for extra, why in [({"hold_time": 1e300}, "hold_time"),
                           ({"hold_time": 1e3}, "hold_time"),  # 1e14 steps > 2^40
                           ({"direction": "sideways"}, "direction"),
                           ({"hold": 2 ** 40 + 1}, "hold")]:
            hdr, body = c.request("search", dict(base, **extra))
            self.assertFalse(hdr["ok"], extra)
            self.assertEqual(body["error"]["code"], "bad_argument", body)
            self.assertIn(why, body["error"]["message"])
        self.assertEqual((c.status()["step"], c.get1("injected_current")), (0, 100.0))
        # No transit time where a probe goes (electrons at rest, no field):
        # no default hold there, said so, and the run is back as it was.
        c("set", {"values": {"injection_energy": 0, "anode_voltage": 150}})
        hdr, body = c.request("search", {"knob": "anode_voltage", "from": 0, "to": 180,
                                         "until": "virtual_cathode"})
        self.assertEqual(body["error"]["code"], "bad_argument", body)
        self.assertIn("no default hold at anode_voltage = 0", body["error"]["message"])
        self.assertEqual((c.status()["step"], c.get1("anode_voltage")), (0, 150.0))
        c("set", {"values": {"injection_energy": 100, "anode_voltage": 0}})
        # hold_time at step 0: 1 ns is 100 steps of the adapter's dt (10 ps).
        r = c("search", dict(base, hold_time=1e-9, tol=0.2), timeout=SEARCH_TIMEOUT)
        self.assertEqual(sub.event("search_started", knob="injected_current")["hold"], 100)
        self.assertEqual({p["hold"] for p in r["probes"]}, {100})

    def test_j_journal_explains_a_checkpoint_taken_during_a_search(self):
        c = self.c
        c("set", {"values": {"injected_current": 100}})
        sub = self.d.subscriber("event.")
        rid = send_search(c, {"knob": "injected_current", "from": 150, "to": 250,
                              "until": "virtual_cathode", "hold": 1000, "tol": 0.05})
        hdr, r = c.recv_reply(SEARCH_TIMEOUT, want_id=rid)
        self.assertTrue(hdr["ok"], r)
        evs = sub.events_until("search_finished")
        ckpts = [m for m in evs if m.topic == "event.checkpoint_written"]
        probes = [m for m in evs if m.topic == "event.knob_changed" and m.get("search") == "probe"]
        self.assertEqual([m["new"] for m in probes], [p["value"] for p in r["probes"]])
        self.assertGreater(len(ckpts), 1, "checkpoints during the search")
        # Each restarts at the knob value its journal explains (the last
        # "new" of the knob: probes and restores are journaled like a set).
        for m in ckpts:
            path = m["path"] if os.path.isabs(m["path"]) else os.path.join(self.d.tmp, m["path"])
            journal = read_journal(path)
            started = [e for e in journal if e.get("search") == "started"]
            self.assertEqual((started[-1]["from"], started[-1]["direction"]), (150.0, "up"))
            explained = [e["new"] for e in journal if e.get("knob") == "injected_current" and "new" in e]
            restarted = Steerd(config=diode_config("grounded"), args=["--restart", path])
            self.daemons.append(restarted)
            restarted.start()
            rc = restarted.client("tester")
            self.assertEqual(rc.get1("injected_current"), explained[-1], path)
            self.assertEqual(rc.status()["step"], m["step"])
            restarted.stop()
        # After the search: the result, journaled.
        path = os.path.join(self.d.tmp, c("checkpoint", {"name": "after.h5"})["path"])
        journal = read_journal(path)
        fin = [e for e in journal if e.get("search") == "finished"]
        self.assertEqual(fin[-1]["result"], r["result"])
        explained = [e["new"] for e in journal if e.get("knob") == "injected_current" and "new" in e]
        self.assertEqual(explained[-1], r["result"])

    def test_m_a_settled_good_that_fails_its_confirmation_is_bad(self):
        # A condition that comes true at a given step, whatever the knob: a
        # probe that settles before it is a provisional good, and holding it
        # on to the whole hold (8431 steps) meets it. Every confirmation
        # fails, the search goes back to the good below each time, and when
        # 'from' itself fails the search is refused.
        c = self.c
        s0, j0 = c.status()["step"], c.get1("injected_current")
        sub = self.d.subscriber("event.search_")
        hdr, body = c.request("search", {"knob": "injected_current", "from": 100, "to": 300,
                                         "until": "step >= %d" % (s0 + 4000)},
                              timeout=DEFAULT_TIMEOUT)
        self.assertFalse(hdr["ok"], body)
        self.assertEqual(body["error"]["code"], "refused")
        self.assertIn("held on to the whole hold", body["error"]["message"])
        evs = sub.events_until("search_finished")
        probes = [m for m in evs if m.topic == "event.search_probe"]
        self.assertTrue(probes[0]["settled"] and not probes[0]["bad"], probes[0])
        confirms = [(m["value"], m["bad"]) for m in probes if m["confirm"]]
        self.assertGreater(len(confirms), 1, confirms)  # one above 'from', then 'from'
        self.assertTrue(all(bad for _, bad in confirms), confirms)
        self.assertEqual(confirms[-1], (100.0, True))
        # After each failed confirmation, the next probe (or confirmation)
        # starts below the value that failed.
        for i, m in enumerate(probes[:-1]):
            if m["confirm"]:
                self.assertLess(probes[i + 1]["value"], m["value"])
                self.assertEqual(m["bad_value"], m["value"])
        # Back in the state the search started from.
        self.assertEqual((c.status()["step"], c.get1("injected_current")), (s0, j0))

    def test_k_search_warning_when_the_condition_turns_true_at_the_result(self):
        c = self.c
        c("set", {"values": {"injected_current": 100, "anode_voltage": 0}})
        c.step_and_wait(2000)
        r = c("search", {"knob": "injected_current", "from": 100, "to": 150,
                         "until": "virtual_cathode", "hold": 500}, timeout=SEARCH_TIMEOUT)
        self.assertEqual(r["result"], 150.0)  # never met up to 'to'
        sub = self.d.subscriber("event.search_warning")
        # A retarding anode makes a barrier at the same current.
        c("set", {"values": {"anode_voltage": -60}})
        c.step_and_wait(3000)
        w = sub.event("search_warning")
        self.assertEqual((w["knob"], w["result"], w["until"]),
                         ("injected_current", 150.0, "virtual_cathode"))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--reference":
        sys.exit(compute_references(sys.argv[2]))
    run_tests(Theory, GroundedGap, ConsoleCancel, Diode, DefaultSettings, Directions, PlotRun)
