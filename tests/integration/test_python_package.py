# SPDX-License-Identifier: MIT
"""The Python package `steerd` (console/python/steerd) against real steerd
processes: every command, error replies as exceptions carrying the protocol's
code, values with units (the shared table tests/data/units.tsv), the stream
(exact topics, numpy arrays, gaps, late join), the run's identity across a
restart, CURVE keys, the asyncio client, and `make install` putting the
package where Debian's python3 finds it.

Heartbeat liveness, retries with retry_key and following a daemon to new
ports are tested in test_client_liveness.py (examples/python/steer_client.py
is the package's Client).

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_python_package.py
"""
import asyncio
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steerd_harness as h  # noqa: E402
from steerd_harness import REPO, DaemonTestCase, FAST_KNOBS, Steerd, make_config, run_tests, wait_until  # noqa: E402

sys.path.insert(0, os.path.join(REPO, "console", "python"))
import numpy as np  # noqa: E402
import steerd  # noqa: E402
from steerd import units  # noqa: E402

TABLE = os.path.join(REPO, "tests", "data", "units.tsv")
PYTHON = "/usr/bin/python3"


def read_table():
    rows = []
    with open(TABLE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            text, unit, want = line.split("\t")
            rows.append((n, text, "" if unit == "-" else unit, want))
    return rows


class TestUnits(unittest.TestCase):
    def test_shared_table(self):
        rows = read_table()
        self.assertGreater(len(rows), 40)
        for n, text, unit, want in rows:
            with self.subTest(line=n, text=text, unit=unit):
                if want == "error":
                    with self.assertRaises(units.UnitError):
                        units.parse(text, unit)
                else:
                    got = units.parse(text, unit)
                    self.assertTrue(math.isclose(got, float(want), rel_tol=1e-12),
                                    "%r in %r: %r, expected %s" % (text, unit, got, want))

    def test_knob_types(self):
        self.assertEqual(units.knob_value({"type": "int", "unit": ""}, "2k"), 2000)
        self.assertIsInstance(units.knob_value({"type": "int", "unit": ""}, "2k"), int)
        with self.assertRaises(units.UnitError):
            units.knob_value({"type": "int", "unit": ""}, "1.5")
        self.assertIs(units.knob_value({"type": "bool"}, "on"), True)
        self.assertEqual(units.knob_value({"type": "enum"}, "scl"), "scl")
        self.assertEqual(units.knob_value({"type": "double", "unit": "V"}, 900), 900)


class TestOffline(unittest.TestCase):
    """What needs no daemon: topics, gap arithmetic, history frames."""

    def test_topics_are_exact(self):
        ranks = {"phi": 1, "phi2": 1, "j_transmitted": 0}
        t = steerd.Topics(arrays=["phi"], diagnostics=ranks)
        self.assertTrue(t.wants("array.phi"))
        self.assertFalse(t.wants("array.phi2"))
        self.assertFalse(t.wants("scalars"))
        with self.assertRaisesRegex(ValueError, r"arrays=\['phi'\]"):
            steerd.Topics(topics=["phi"], diagnostics=ranks)
        with self.assertRaisesRegex(ValueError, "scalars="):
            steerd.Topics(topics=["j_transmitted"], diagnostics=ranks)
        with self.assertRaisesRegex(ValueError, "is a scalar"):
            steerd.Topics(arrays=["j_transmitted"], diagnostics=ranks)
        with self.assertRaisesRegex(ValueError, "give the event's name"):
            steerd.Topics(events=["event.paused"])
        self.assertTrue(steerd.Topics(events=True).wants("event.paused"))

    def test_gaps_from_topic_seq(self):
        from steerd.protocol import Message, SeqTracker
        s = SeqTracker()
        ms = [Message("scalars", {"seq": q, "topic_seq": t, "prev_seq": q - 1}, None)
              for q, t in ((10, 1), (11, 2), (15, 6))]
        self.assertTrue(all(s.observe(m) for m in ms))
        self.assertEqual([m.lost for m in ms], [0, 0, 3])
        self.assertEqual(s.lost, {"scalars": 3})
        # Late join at seq 20: older messages dropped; a first message whose
        # prev_seq is after the snapshot shows one missed (how many: unknown).
        s.join(20)
        self.assertFalse(s.observe(Message("scalars", {"seq": 19, "topic_seq": 9, "prev_seq": 18},
                                           None)))
        m = Message("array.phi", {"seq": 30, "topic_seq": 4, "prev_seq": 25}, None)
        self.assertTrue(s.observe(m))
        self.assertIsNone(m.lost)
        m = Message("scalars", {"seq": 21, "topic_seq": 10, "prev_seq": 19}, None)
        self.assertTrue(s.observe(m))
        self.assertEqual(m.lost, 0)

    def test_history_frames(self):
        body = {"names": ["a"], "stats": ["mean", "max"], "points": 2, "markers": [{"seq": 1}],
                "frames": [{"name": "step", "dtype": "<u8", "shape": [2]},
                           {"name": "seq", "dtype": "<u8", "shape": [2]},
                           {"name": "count", "dtype": "<u8", "shape": [2]},
                           {"name": "a", "unit": "V", "dtype": "<f8", "shape": [2, 2]}]}
        frames = [np.array([5, 6], "<u8").tobytes(), np.array([1, 2], "<u8").tobytes(),
                  np.array([1, 1], "<u8").tobytes(), np.array([[1, 2], [3, 4]], "<f8").tobytes()]
        hist = steerd.History(body, frames)
        self.assertEqual(hist["step"].tolist(), [5, 6])
        self.assertEqual(hist["a"].tolist(), [1.0, 3.0])
        self.assertEqual(hist["a.max"].tolist(), [2.0, 4.0])
        self.assertEqual(hist.units, {"a": "V"})
        with self.assertRaises(ValueError):
            steerd.History(body, frames[:3])

    def test_history_without_pandas(self):
        # What history() returns where pandas is not installed (make deps installs it).
        body = {"names": [], "frames": [{"name": n, "dtype": "<u8", "shape": [0]}
                                        for n in ("step", "seq", "count")]}
        make = {}
        commands = steerd.commands.Commands()
        commands._request = lambda cmd, b, transform: make.setdefault("f", transform)
        commands.history("x")
        saved = sys.modules.get("pandas")
        sys.modules["pandas"] = None  # import pandas raises ImportError
        try:
            self.assertIsInstance(make["f"](body, [b"", b"", b""]), steerd.History)
        finally:
            if saved is None:
                del sys.modules["pandas"]
            else:
                sys.modules["pandas"] = saved

    def test_error_classes(self):
        for code, name in steerd.CODES.items():
            cls = getattr(steerd, name)
            self.assertTrue(issubclass(cls, steerd.SteerdError))
            self.assertEqual(cls.code, code)
        e = steerd.errors.error_for("set", {"error": {"code": "from_the_future", "message": "m"}})
        self.assertIs(type(e), steerd.SteerdError)
        self.assertEqual(e.code, "from_the_future")


class PackageTestCase(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS,
              "extra": {"checkpoint": {"directory": "ckpt"}}}

    def client(self, **kw):
        kw.setdefault("name", "pytest")
        kw.setdefault("timeout", h.REPLY_TIMEOUT)
        cl = steerd.Client(self.d.conn_path, **kw)
        self.addCleanup(cl.close)
        return cl


class TestCommands(PackageTestCase):
    def test_reads(self):
        cl = self.client()
        hello = cl.hello()
        self.assertEqual(hello["server"], "steerd")
        self.assertEqual(cl.run_id, hello["run_id"])
        self.assertEqual(cl.status()["state"], "paused")
        self.assertIn("injected_current", [k["name"] for k in cl.params()["knobs"]])
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        self.assertEqual(cl.get(["injected_current"]), {"injected_current": 1000.0})
        self.assertEqual(cl.ramps(), [])
        self.assertIn("seq", cl.snapshot())

    def test_set_with_units(self):
        cl = self.client()
        r = cl.set(injected_current="1.5 kA/m^2", anode_voltage="900 V")
        self.assertEqual(r["applied"], {"injected_current": 1500.0, "anode_voltage": 900.0})
        cl.set({"injected_current": "2k"})
        self.assertEqual(cl.get("injected_current")["injected_current"], 2000.0)
        cl.set(vc_threshold="20m")
        self.assertAlmostEqual(cl.get("vc_threshold")["vc_threshold"], 0.02)
        with self.assertRaises(units.UnitError):
            cl.set(anode_voltage="1 kA")  # refused here: nothing sent
        self.assertEqual(cl.get("anode_voltage")["anode_voltage"], 900.0)

    def test_ramp_pause_resume_step_cancel(self):
        cl = self.client()
        start = cl.status()["step"]
        r = cl.step(3)
        self.assertEqual(r["until"], r["step"] + 3)
        wait_until(lambda: cl.status()["step"] >= start + 3, what="3 steps")
        ramps = cl.ramp("anode_voltage", "1.2 kV", steps=1000)
        self.assertEqual((ramps[0]["knob"], ramps[0]["to"]), ("anode_voltage", 1200.0))
        self.assertEqual(len(cl.ramps()), 1)
        self.assertEqual(cl.cancel(knob="anode_voltage")["cancelled"], [ramps[0]["id"]])
        ramps = cl.ramp("injected_current", "1.1k", duration="10 ps")
        self.assertGreaterEqual(ramps[0]["end_step"] - ramps[0]["start_step"], 1)
        self.assertEqual(cl.resume()["state"], "running")
        self.assertEqual(cl.pause()["state"], "paused")
        cl.step(1000000)
        self.assertEqual(cl.cancel(steps=True)["cancelled"], "steps")

    def test_checkpoint_and_states(self):
        cl = self.client()
        cl.step(5)
        wait_until(lambda: cl.status()["step"] >= 5, what="5 steps")
        r = cl.checkpoint("py.h5")
        self.assertTrue(os.path.isfile(r["path"]))
        self.assertEqual(os.path.basename(r["path"]), "py.h5")
        self.assertIn("write_seq", cl.checkpoint())
        self.assertEqual(cl.snapshot_state("before")["name"], "before")
        cl.set(injected_current=1234)
        self.assertEqual(cl.rewind("before")["name"], "before")
        self.assertEqual(cl.get("injected_current")["injected_current"], 1000.0)
        self.assertEqual(cl.drop_state("before")["kept"], 0)

    def test_search(self):
        cl = self.client()
        probes = []
        r = cl.search("injected_current", "100", "200", until="virtual_cathode >= 2", hold=20,
                      tol=0.2, progress=probes.append)
        self.assertEqual(r["knob"], "injected_current")
        self.assertEqual(r["result"], 200.0)  # the condition can never hold
        self.assertTrue(probes)

    def test_call_any_command_and_retry_key(self):
        cl = self.client()
        body = {"values": {"injected_current": 1600}}
        r1 = cl.call("set", body, retry_key="py-1")
        r2 = cl.call("set", body, retry_key="py-1")  # the same request again: applied once
        self.assertEqual(r1, r2)

    def test_connect_by_endpoint(self):
        cl = steerd.Client(self.d.conn["control"], name="by-endpoint", timeout=h.REPLY_TIMEOUT)
        self.addCleanup(cl.close)
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        cl.resume()
        phi = cl.array("phi")  # the diagnostics endpoint comes from hello
        self.assertIsInstance(phi, np.ndarray)
        self.assertEqual(phi.shape, (FAST_KNOBS["cells"] + 1,))


class TestErrors(PackageTestCase):
    """Each error reply raises the class of its code, with .code and .message."""

    def check(self, cls, fn, *args, **kw):
        with self.assertRaises(cls) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code, cls.code)
        self.assertTrue(cm.exception.message)
        return cm.exception

    def test_codes(self):
        cl = self.client()
        e = self.check(steerd.UnknownName, cl.get, "injcted_current")
        self.assertIn("did you mean", e.message)
        self.check(steerd.BadArgument, cl.get, "phi")
        self.check(steerd.OutOfRange, cl.set, injected_current=-1)
        self.check(steerd.FixedKnob, cl.set, gap=0.02)
        self.check(steerd.UnknownCommand, cl.call, "no-such-command")
        self.check(steerd.BadArgument, cl.step, 0)
        cl.resume()
        self.check(steerd.BadState, cl.step, 1)
        cl.pause()
        self.check(steerd.UnknownName, cl.rewind, "never-kept")
        self.check(steerd.UnknownName, cl.cancel, search=True)
        cl.call("set", {"values": {"injected_current": 1100}}, retry_key="py-2")
        self.check(steerd.BadRequest, cl.call, "set", {"values": {"injected_current": 1200}},
                   retry_key="py-2")
        for i in range(8):
            cl.snapshot_state("s%d" % i)
        self.check(steerd.LimitReached, cl.snapshot_state, "s8")
        self.check(steerd.Refused, cl.search, "injected_current", 100, 200,
                   until="injected_current > 0", hold=10)
        # Whatever the class, SteerdError catches it.
        with self.assertRaises(steerd.SteerdError):
            cl.get("nope")


class TestStream(PackageTestCase):
    config = dict(PackageTestCase.config, start="running")

    def test_scalars_arrays_events(self):
        cl = self.client()
        seen, asked = {}, False
        for m in cl.stream(scalars=["j_transmitted"], arrays=["phi"], events=["knob_changed"],
                           seconds=h.WAIT_TIMEOUT):  # the event may queue behind many scalars
            seen.setdefault(m.topic, m)
            if not asked:
                cl.set(injected_current=1100)  # once subscribed: its event is ours
                asked = True
            if len(seen) == 3:
                break
        self.assertEqual(set(seen), {"scalars", "array.phi", "event.knob_changed"})
        self.assertEqual(list(seen["scalars"].values), ["j_transmitted"])
        self.assertIsInstance(seen["array.phi"].values, np.ndarray)
        self.assertEqual(seen["array.phi"].values.dtype, np.float64)
        self.assertEqual(seen["event.knob_changed"].header["new"], 1100.0)
        topic, header, values = seen["scalars"]  # unpacks as before
        self.assertEqual(topic, "scalars")

    def test_phi_is_not_a_topic(self):
        cl = self.client()
        cl.hello()
        with self.assertRaisesRegex(ValueError, r"arrays=\['phi'\]"):
            next(cl.stream("phi"))
        with self.assertRaisesRegex(ValueError, "no diagnostic"):
            next(cl.stream(arrays=["ph"]))

    def test_arrays_at_one_step(self):
        cl = self.client()
        x, v = cl.arrays("phase_x", "phase_v")
        self.assertEqual(x.shape, v.shape)
        self.assertTrue(np.all((x >= 0) & (x <= 0.01)))

    def test_late_join(self):
        cl = self.client()
        ms = list(cl.stream(scalars=True, count=20, join=True))
        self.assertTrue(all(m.seq > cl.joined["seq"] for m in ms))
        self.assertEqual(ms[0].lost, 0)  # prev_seq <= the snapshot's seq: nothing missed
        self.assertEqual([m.topic_seq for m in ms], list(range(ms[0].topic_seq,
                                                               ms[0].topic_seq + 20)))

    def test_lost_messages_are_counted(self):
        # The daemon keeps at most 10 messages for us and we hold 10: a
        # client that does not read for 20000 steps must lose some.
        self.d.stop()
        d = self.start_daemon(start="running", knobs=FAST_KNOBS, diagnostics={"send_hwm": 10})
        cl = steerd.Client(d.conn_path, name="slow", timeout=h.REPLY_TIMEOUT, rcvhwm=10)
        self.addCleanup(cl.close)
        cl.subscribe(scalars=True)
        start = cl.status()["step"]
        wait_until(lambda: cl.status()["step"] > start + 20000, what="20000 steps")
        lost = 0
        for m in cl.stream(scalars=True, count=200):
            lost += m.lost or 0
        self.assertGreater(lost, 0)
        self.assertGreater(cl.seq.lost["scalars"], 0)


class TestHistory(PackageTestCase):
    def test_history_as_numpy(self):
        cl = self.client()
        if "history" not in cl.hello()["capabilities"]:
            self.skipTest("this steerd keeps no history")
        cl.step(20)
        wait_until(lambda: cl.status()["step"] >= 20, what="20 steps")
        set_at = cl.set(injected_current="1.5k")["step"]
        cl.step(20)
        wait_until(lambda: cl.status()["step"] >= set_at + 20, what="20 more steps")
        h = cl.history("injected_current", "virtual_cathode", stats=["mean", "min", "max"],
                       frame=False)
        self.assertIsInstance(h, steerd.History)
        self.assertEqual(h.step.dtype, np.uint64)
        self.assertEqual(len(h), len(h["injected_current"]))
        current = dict(zip(h["step"].tolist(), h["injected_current"].tolist()))
        self.assertEqual(current[set_at], 1000.0)  # the sample of step S was computed before
        self.assertEqual(current[set_at + 1], 1500.0)
        self.assertTrue(np.all(h["injected_current.min"] <= h["injected_current.max"]))
        self.assertEqual(h.units["injected_current"], "A/m^2")
        sets = [m for m in h.markers if m["entry"].get("knob") == "injected_current"]
        self.assertEqual(sets[-1]["entry"]["new"], 1500.0)
        self.assertEqual(sets[-1]["step"], set_at)
        # Polling: only what is new since next_seq.
        cl.step(5)
        wait_until(lambda: cl.status()["step"] >= set_at + 25, what="5 more steps")
        new = cl.history("injected_current", from_seq=h.next_seq, frame=False)
        self.assertEqual(len(new), 5)
        self.assertEqual(new["step"].tolist(), list(range(set_at + 21, set_at + 26)))
        with self.assertRaises(steerd.BadArgument):
            cl.history("phi")
        with self.assertRaises(steerd.UnknownName):
            cl.history("nosuch")

    def test_dataframe_when_pandas_is_installed(self):
        cl = self.client()
        if "history" not in cl.hello()["capabilities"]:
            self.skipTest("this steerd keeps no history")
        cl.step(3)
        wait_until(lambda: cl.status()["step"] >= 3, what="3 steps")
        try:
            import pandas  # noqa: F401
        except ImportError:
            self.assertIsInstance(cl.history("injected_current"), steerd.History)
            with self.assertRaises(ImportError):
                cl.history("injected_current", frame=True)
            self.skipTest("pandas is not installed: History returned instead, as documented")
        df = cl.history("injected_current", stats=["mean", "max"])
        self.assertEqual(list(df.columns), ["step", "seq", "count", "injected_current",
                                            "injected_current.max"])
        self.assertIn("markers", df.attrs)


class TestRunIdentity(PackageTestCase):
    def start_again(self, args):
        """A new steerd writing the first one's connection file (on other ports)."""
        d = Steerd(config=make_config(start="paused", knobs=FAST_KNOBS), args=args)
        d.conn_path = self.d.conn_path
        self.addCleanup(d.cleanup)
        self._daemons.append(d)  # tearDown stops it and checks a clean exit
        return d.start()

    def test_restart_and_other_run(self):
        cl = self.client(timeout=2.0, attempts=5)
        changes = []
        cl.on_restart = lambda kind, old, new: changes.append((kind, new.get("restart_step")))
        first = cl.hello()
        ck = cl.checkpoint("here.h5")
        self.d.stop()
        d2 = self.start_again(["--restart", ck["path"]])
        self.assertEqual(cl.get("injected_current"), {"injected_current": 1000.0})
        self.assertEqual(changes, [("restarted", ck["step"])])
        self.assertEqual(cl.run_id, first["run_id"])
        self.assertNotEqual(cl.start_id, first["start_id"])
        d2.stop()
        self.start_again([])
        cl.status()
        self.assertEqual([c[0] for c in changes], ["restarted", "other_run"])
        self.assertNotEqual(cl.run_id, first["run_id"])


class TestAsync(PackageTestCase):
    config = dict(PackageTestCase.config, start="running")

    def test_async_client(self):
        async def main():
            async with await steerd.AsyncClient.connect(self.d.conn_path, name="aio",
                                                        timeout=h.REPLY_TIMEOUT) as run:
                r = await run.set(injected_current="1.2 kA/m^2")
                self.assertEqual(r["applied"], {"injected_current": 1200.0})
                # Several requests at once on one client: replies matched by id.
                got = await asyncio.gather(run.get("injected_current"), run.status(),
                                           run.get("anode_voltage"))
                self.assertEqual(got[0], {"injected_current": 1200.0})
                self.assertEqual(got[2], {"anode_voltage": 1000.0})
                with self.assertRaises(steerd.OutOfRange) as cm:
                    await run.set(anode_voltage="1 GV")
                self.assertEqual(cm.exception.code, "out_of_range")
                ms = [m async for m in run.stream(scalars=True, count=5, join=True)]
                self.assertTrue(all(m.seq > run.joined["seq"] for m in ms))
                phi = await run.array("phi")
                self.assertEqual(phi.shape, (FAST_KNOBS["cells"] + 1,))
                if "history" in run._hello["capabilities"]:
                    past = await run.history("injected_current", frame=False)
                    self.assertGreater(len(past), 0)
                    self.assertEqual(past["injected_current"][-1], 1200.0)
                ramps = await run.ramp("anode_voltage", "900 V", steps=100)
                self.assertEqual(ramps[0]["to"], 900.0)
                self.assertEqual((await run.pause())["state"], "paused")
                run.watch()
                await asyncio.wait_for(run.wait_heartbeat(), h.WAIT_TIMEOUT)
                self.assertTrue(run.alive)
        asyncio.run(main())


class TestCurve(unittest.TestCase):
    def test_keys(self):
        import test_security as sec
        d = sec.SecureDaemon()
        self.addCleanup(d.cleanup)
        d.start()
        alice = steerd.Client(d.conn_path, name="alice", key=d.secret("alice"),
                              timeout=h.REPLY_TIMEOUT)
        self.addCleanup(alice.close)
        self.assertEqual(alice.set(injected_current="1.1k")["applied"],
                         {"injected_current": 1100.0})
        bob = steerd.Client(d.conn["control"], key=d.secret("bob"),
                            server_key=os.path.join(d.keys, "server.key"), timeout=h.REPLY_TIMEOUT)
        self.addCleanup(bob.close)
        self.assertEqual(bob.get("injected_current"), {"injected_current": 1100.0})
        with self.assertRaises(steerd.Forbidden) as cm:
            bob.set(injected_current=1000)
        self.assertEqual(cm.exception.code, "forbidden")
        d.stop()


class TestInstall(unittest.TestCase):
    def test_make_install_puts_it_on_debians_path(self):
        dest = tempfile.mkdtemp(prefix="steerd-install-")
        self.addCleanup(shutil.rmtree, dest, True)
        build = h.BUILD if os.path.isabs(h.BUILD) else os.path.join(REPO, h.BUILD)
        minor = "python%d.%d" % sys.version_info[:2]
        for prefix, where in (("/usr", "/usr/lib/python3/dist-packages"),
                              ("/usr/local", "/usr/local/lib/%s/dist-packages" % minor)):
            r = subprocess.run(["make", "-s", "install-python", "BUILD=" + build,
                                "PREFIX=" + prefix, "DESTDIR=" + dest],
                               cwd=REPO, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            pkg = os.path.join(dest + where, "steerd")
            self.assertTrue(os.path.isfile(os.path.join(pkg, "__init__.py")), pkg)
            # Debian's python3 reads that directory for that prefix.
            r = subprocess.run([PYTHON, "-c", "import sys; print('\\n'.join(sys.path))"],
                               capture_output=True, text=True, env={})
            self.assertIn(where, r.stdout.split(), "not on Debian's python3 path")
            r = subprocess.run([PYTHON, "-c", "import steerd, sys; print(steerd.__file__)"],
                               env=dict(os.environ, PYTHONPATH=dest + where), cwd="/",
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(pkg), r.stdout)


if __name__ == "__main__":
    run_tests(TestUnits, TestOffline, TestCommands, TestErrors, TestStream, TestHistory,
              TestRunIdentity,
              TestAsync, TestCurve, TestInstall)
