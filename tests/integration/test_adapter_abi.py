# SPDX-License-Identifier: MIT
"""sim-adapter ABI compatibility (#15), with a real steerd and adapters built
here by the C compiler as their authors would build them:

- an adapter built against ABI 2.0 (tests/data/steerd_adapter-2.0.h, the
  header as released, without 2.1's read_scalars) loads and runs in this
  2.1 host; so does examples/oscillator built against that header;
- an ABI 1 adapter is refused at start with a message naming both versions
  (exit 78, file:line:col of simulation.adapter, like any bad adapter);
- an adapter claiming a later minor, with a larger descriptor, loads and
  runs (the host reads only the fields it knows);
- the host reads every scalar through read_scalars (ABI 2.1) when the
  adapter gives it, and publishes NaN when it fails.

The adapter is tests/integration/adapter_abi.c ("abitest"); its scalar
`probe` says which way the host read it (1: diag_read, 2: read_scalars)."""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (BIN, REPO, Steerd, make_config, run_tests, sanitizer_report)  # noqa: E402

EX_CONFIG = 78
HERE = os.path.dirname(os.path.abspath(__file__))
ADAPTER_SRC = os.path.join(HERE, "adapter_abi.c")
HEADER_2_0 = os.path.join(REPO, "tests", "data", "steerd_adapter-2.0.h")
HEADER_NOW = os.path.join(REPO, "sim-adapter", "steerd_adapter.h")
CC_TIMEOUT = 120


def header_dir(tmp, header, name):
    """A directory whose steerd_adapter.h is `header`: what the adapter's author had."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    shutil.copy(header, os.path.join(d, "steerd_adapter.h"))
    return d


def build_so(tmp, name, src, include, defines=()):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        raise unittest.SkipTest("no C compiler")
    so = os.path.join(tmp, "lib%s.so" % name)
    cmd = [cc, "-std=c11", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I" + include]
    cmd += ["-D" + d for d in defines] + [src, "-lm", "-o", so]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=CC_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("%s failed:\n%s" % (" ".join(cmd), r.stderr))
    return so


class AbiCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="steerd-abi-")
        old = header_dir(cls.tmp, HEADER_2_0, "include-2.0")
        now = header_dir(cls.tmp, HEADER_NOW, "include-2.1")
        cls.so = {
            "v2_0": build_so(cls.tmp, "abi_v2_0", ADAPTER_SRC, old),
            "oscillator_v2_0": build_so(cls.tmp, "osc_v2_0", os.path.join(
                REPO, "examples", "oscillator", "oscillator.c"), old),
            "v1": build_so(cls.tmp, "abi_v1", ADAPTER_SRC, now, ["ABI_ONE"]),
            "future": build_so(cls.tmp, "abi_future", ADAPTER_SRC, now, ["FUTURE_MINOR"]),
            "read_scalars": build_so(cls.tmp, "abi_rs", ADAPTER_SRC, now, ["WITH_READ_SCALARS"]),
        }

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, so, start="paused"):
        cfg = make_config(start=start)
        cfg["simulation"] = {"adapter": so}
        d = Steerd(cfg)
        self.addCleanup(d.cleanup)
        d.start()
        return d

    def scalars(self, d, after_step):
        """The first scalars message of a step after `after_step`: {name: value}."""
        sub = d.subscriber("scalars")
        m = sub.expect(lambda m: m.topic == "scalars" and m["step"] > after_step, what="scalars")[0]
        return dict(zip(m["names"], m.floats(0)))

    def runs_abitest(self, so, probe):
        """The adapter loads, steps, takes a knob and publishes its scalars."""
        d = self.start(so)
        self.assertEqual(d.conn["adapter"], "abitest")
        c = d.client()
        self.assertEqual(c.step_and_wait(3), 3)
        self.assertEqual(c.get1("counter"), 3.0)
        c("set", {"values": {"rate": 2.5}})
        sub = d.subscriber("scalars")
        c.step_and_wait(2)
        m = sub.expect(lambda m: m.topic == "scalars" and m["step"] == 5, what="scalars of step 5")[0]
        # The adapter's scalars (steerd adds its own, steerd_boundary_fraction, after them).
        got = {k: v for k, v in zip(m["names"], m.floats(0)) if not k.startswith("steerd_")}
        self.assertEqual(got, {"counter": 8.0, "probe": probe})
        self.assertEqual(c.get1("probe"), probe)
        d.stop()


class TestOlderMinor(AbiCase):
    def test_adapter_built_against_2_0_runs(self):
        # Its descriptor ends before read_scalars: the host must not look past it.
        self.runs_abitest(self.so["v2_0"], probe=1.0)

    def test_oscillator_built_against_2_0_runs(self):
        d = self.start(self.so["oscillator_v2_0"])
        self.assertEqual(d.conn["adapter"], "oscillator")
        c = d.client()
        self.assertEqual(c.step_and_wait(10), 10)
        self.assertTrue(math.isfinite(c.get1("energy")))
        d.stop()


class TestOtherVersions(AbiCase):
    def test_abi_1_refused_naming_both_versions(self):
        cfg = make_config()
        cfg["simulation"] = {"adapter": self.so["v1"]}
        d = Steerd(cfg)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        rc = d.wait_exit()
        err = d.stderr()
        self.assertIsNone(sanitizer_report(err), err)
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("%s:2:12: " % d.config_path, err)  # simulation.adapter's value
        self.assertIn("adapter built for sim-adapter ABI 1, steerd speaks ABI 2.1", err)
        self.assertFalse(os.path.exists(d.conn_path))

    def test_later_minor_with_larger_descriptor_loads(self):
        self.runs_abitest(self.so["future"], probe=1.0)


class TestReadScalars(AbiCase):
    def test_host_reads_scalars_through_read_scalars(self):
        self.runs_abitest(self.so["read_scalars"], probe=2.0)

    def test_failed_read_scalars_publishes_nan(self):
        d = self.start(self.so["read_scalars"])
        c = d.client()
        c("set", {"values": {"fail_reads": True}})
        sub = d.subscriber("scalars")
        c.step_and_wait(1)
        m = sub.expect(lambda m: m.topic == "scalars" and m["step"] == 1, what="scalars of step 1")[0]
        ours = [x for k, x in zip(m["names"], m.floats(0)) if not k.startswith("steerd_")]
        self.assertTrue(ours and all(math.isnan(x) for x in ours), m.floats(0))
        c("set", {"values": {"fail_reads": False}})
        c.step_and_wait(1)
        m = sub.expect(lambda m: m.topic == "scalars" and m["step"] == 2, what="scalars of step 2")[0]
        self.assertEqual(m.floats(0)[:2], [2.0, 2.0])  # then steerd_boundary_fraction
        d.stop()


if __name__ == "__main__":
    run_tests(TestOlderMinor, TestOtherVersions, TestReadScalars)
