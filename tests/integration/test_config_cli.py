# SPDX-License-Identifier: MIT
"""The real binary's command line and configuration checks: exit statuses,
file:line:col error positions, --check, --help, --version, where the
connection file goes, endpoints."""
import contextlib
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (BIN, REPO, Client, DaemonTestCase, Steerd, make_config, run_tests,  # noqa: E402
                            sanitizer_report, to_yaml, wait_until)

EX_USAGE, EX_UNAVAILABLE, EX_CONFIG, EX_CANTCREAT = 64, 69, 78, 73

SIM = "simulation:\n  adapter: pic1d\n"


def run_steerd(args, timeout=60, env=None, cwd=None):
    p = subprocess.run([BIN] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})), cwd=cwd)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    rep = sanitizer_report(err)
    if rep:
        raise AssertionError("sanitizer report:\n" + rep)
    return p.returncode, out, err


class CliCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="steerd-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, text, name="c.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertConfigError(self, text, line, col, message=None, check=True):
        path = self.write(text)
        rc, out, err = run_steerd((["--check"] if check else []) + ["-c", path])
        self.assertEqual(rc, EX_CONFIG, "exit %d, stderr: %s" % (rc, err))
        where = "%s:%d:%d: " % (path, line, col)
        self.assertIn(where, err, "expected %r in stderr:\n%s" % (where, err))
        if message:
            self.assertIn(message, err.split(where, 1)[1].splitlines()[0])
        self.assertEqual(len(err.strip().splitlines()), 1, "one error line expected:\n" + err)
        return err


class TestConfigErrors(CliCase):
    def test_shipped_bad_configs(self):
        """Each configs/bad/*.yaml names its error in a '# expect: L:C: message' line."""
        files = sorted(glob.glob(os.path.join(REPO, "configs", "bad", "*.yaml")))
        self.assertTrue(files)
        for path in files:
            with self.subTest(config=os.path.basename(path)):
                with open(path) as f:
                    m = re.search(r"^# expect: (\d+):(\d+): (.*)$", f.read(), re.M)
                self.assertIsNotNone(m, "%s has no '# expect:' line" % path)
                rc, out, err = run_steerd(["-c", path])
                self.assertEqual(rc, EX_CONFIG, err)
                want = "%s:%s:%s: %s" % (path, m.group(1), m.group(2), m.group(3))
                self.assertIn(want, err)

    def test_unknown_key(self):
        self.assertConfigError(SIM + "runn:\n  start: paused\n", 3, 1, "unknown key 'runn'")
        self.assertConfigError(SIM + "diagnostics:\n  scalars_every: 2\n  heartbeat: 100\n", 5, 3,
                               "unknown key 'heartbeat'")
        self.assertConfigError(SIM + "  knobs:\n    injected_curent: 5\n", 4, 5, "injected_curent")
        self.assertConfigError("simulation: {adapter: pic1d, colour: blue}\n", 1, 30, "colour")

    def test_duplicate_key(self):
        self.assertConfigError(SIM + "run:\n  start: paused\nrun:\n  start: running\n", 5, 1, "duplicate key 'run'")
        self.assertConfigError(SIM + "run:\n  max_steps: 5\n  start: paused\n  max_steps: 6\n", 6, 3,
                               "duplicate key 'max_steps'")

    def test_wrong_type(self):
        self.assertConfigError(SIM + "run:\n  max_steps: lots\n", 4, 14)
        self.assertConfigError(SIM + "diagnostics:\n  heartbeat_ms: \"100\"\n", 4, 17)
        self.assertConfigError(SIM + "  knobs:\n    anode_voltage: [1, 2]\n", 4, 20)
        self.assertConfigError(SIM + "run:\n  max_steps: 1.5\n", 4, 14)
        self.assertConfigError(SIM + "run:\n  start: sometimes\n", 4, 10)
        self.assertConfigError(SIM + "  knobs:\n    cells: 100.5\n", 4, 12)

    def test_out_of_range(self):
        self.assertConfigError(SIM + "  knobs:\n    injected_current: -5\n", 4, 23, "out of range")
        self.assertConfigError(SIM + "  knobs:\n    cells: 3\n", 4, 12, "out of range")
        self.assertConfigError(SIM + "diagnostics:\n  heartbeat_ms: 5\n", 4, 17)
        self.assertConfigError(SIM + "diagnostics:\n  send_hwm: 0\n", 4, 13)
        self.assertConfigError(SIM + "limits:\n  max_message_bytes: 10\n", 4, 22)
        self.assertConfigError(SIM + "run:\n  max_steps: -1\n", 4, 14)
        self.assertConfigError(SIM + "run:\n  simulation_cpu: 1024\n", 4, 19, "out of range")
        self.assertConfigError(SIM + "run:\n  simulation_cpu: -1\n", 4, 19)

    def test_simulation_cpu_not_available(self):
        # in range for the schema, but not a CPU this process may use: refused at start
        cpu = max(os.sched_getaffinity(0)) + 1
        rc, out, err = run_steerd(["-c", self.write(SIM + "run:\n  simulation_cpu: %d\n" % cpu)])
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("run.simulation_cpu: CPU %d is not one steerd may run on" % cpu, err)

    def test_schedule_errors(self):
        self.assertConfigError(SIM + "schedule:\n  - at: 10\n    set: {nope: 1}\n", 5, 11, "nope")
        self.assertConfigError(SIM + "schedule:\n  - at: 10\n    set: {injected_current: -1}\n", 5, 29,
                               "out of range")
        self.assertConfigError(SIM + "schedule:\n  - at: 10\n    ramp:\n      anode_voltage: {to: 5, steps: 3, rate: 1}\n",
                               6, 22)

    def test_error_at_runtime_start_too(self):
        # without --check the same error, the same exit status
        self.assertConfigError(SIM + "runn: 1\n", 3, 1, check=False)

    def test_missing_or_empty(self):
        rc, out, err = run_steerd(["-c", os.path.join(self.tmp, "nope.yaml")])
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("nope.yaml", err)
        rc, out, err = run_steerd(["-c", self.write("")])
        self.assertEqual(rc, EX_CONFIG, err)
        rc, out, err = run_steerd(["-c", self.write("run:\n  start: paused\n")])
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("simulation", err)


class TestCommandLine(CliCase):
    def test_check_shipped_configs(self):
        for name in ("diode.yaml", "grounded-gap.yaml"):
            with self.subTest(config=name):
                conn = os.path.join(self.tmp, "conn.json")
                rc, out, err = run_steerd(["--check", "-c", os.path.join(REPO, "configs", name), "-C", conn])
                self.assertEqual(rc, 0, err)
                self.assertFalse(os.path.exists(conn), "--check wrote a connection file")

    def test_usage_errors(self):
        diode = os.path.join(REPO, "configs", "diode.yaml")
        for args in ([], ["--check"], ["-c", diode, "--bogus"], ["-c", diode, "extra"],
                     ["-c", diode, "--log-level", "loud"], ["-c"]):
            with self.subTest(args=args):
                rc, out, err = run_steerd(args)
                self.assertEqual(rc, EX_USAGE, err)
                self.assertTrue(err.strip())

    def test_help_and_version(self):
        for a in ("--help", "-h"):
            rc, out, err = run_steerd([a])
            self.assertEqual(rc, 0)
            self.assertIn("usage: steerd", out)
        # The release from steerd.h, the ABI from steerd_adapter.h (#15: one version source).
        with open(os.path.join(REPO, "sim-adapter", "steerd.h")) as f:
            release = re.search(r'^#define STEERD_VERSION_STRING "([^"]+)"', f.read(), re.M).group(1)
        with open(os.path.join(REPO, "sim-adapter", "steerd_adapter.h")) as f:
            abi = dict(re.findall(r"^#define SA_ABI_(MAJOR|MINOR) (\d+)u", f.read(), re.M))
        for a in ("--version", "-V"):
            rc, out, err = run_steerd([a])
            self.assertEqual(rc, 0)
            self.assertEqual(out, "steerd %s (sim-adapter ABI %s.%s)\n"
                             % (release, abi["MAJOR"], abi["MINOR"]))

    def test_connection_file_unwritable(self):
        d = Steerd(make_config(), args=[])
        self.addCleanup(d.cleanup)
        rc, out, err = run_steerd(["-c", d.config_path, "-C", os.path.join(self.tmp, "no", "dir", "c.json")])
        self.assertEqual(rc, EX_CANTCREAT, err)

    def test_port_in_use(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        cfg = make_config()
        cfg["endpoints"]["control"] = "tcp://127.0.0.1:%d" % port
        path = self.write(to_yaml(cfg))
        rc, out, err = run_steerd(["-c", path, "-C", os.path.join(self.tmp, "c.json")])
        self.assertEqual(rc, EX_UNAVAILABLE, err)
        self.assertIn(str(port), err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "c.json")))


class TestSimulationCpu(DaemonTestCase):
    autostart = False

    @unittest.skipUnless(len(os.sched_getaffinity(0)) >= 2, "needs 2 CPUs")
    def test_simulation_thread_alone_on_its_cpu(self):
        cpus = sorted(os.sched_getaffinity(0))
        d = Steerd(make_config(start="running", run={"simulation_cpu": cpus[-1]}))
        self.addCleanup(d.cleanup)
        d.start()
        c = d.client("x")
        self.assertEqual(c("status")["state"], "running")

        def allowed(tid):
            with open("/proc/%d/task/%s/status" % (d.pid, tid)) as f:
                line = [x for x in f if x.startswith("Cpus_allowed_list:")][0]
            return line.split(":", 1)[1].strip()

        tids = os.listdir("/proc/%d/task" % d.pid)
        self.assertGreaterEqual(len(tids), 4)  # simulation, control, publisher, libzmq I/O...
        self.assertEqual(allowed(str(d.pid)), str(cpus[-1]))
        for tid in tids:
            if tid != str(d.pid):
                self.assertNotIn(str(cpus[-1]), allowed(tid).replace("-", ",").split(","),
                                 "thread %s on the simulation's CPU" % tid)
        step = c("status")["step"]
        wait_until(lambda: c("status")["step"] > step, what="a step on the pinned CPU")
        d.stop()


class TestConnectionFile(DaemonTestCase):
    autostart = False

    def _start(self, cfg=None, args=(), env=None):
        d = Steerd(cfg or make_config(), args=args, env=env)
        self.addCleanup(d.cleanup)
        self._daemons = getattr(self, "_daemons", []) + [d]
        return d

    def _launch_without_C(self, d):
        """Start D without -C (the harness passes one by default)."""
        d._stderr = open(d.stderr_path, "wb")
        d.proc = subprocess.Popen([BIN, "-c", d.config_path] + d.args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=d._stderr, env=d.env, cwd=d.tmp)

    def test_default_path_in_xdg_runtime_dir(self):
        run_dir = tempfile.mkdtemp(prefix="steerd-xdg-")
        self.addCleanup(shutil.rmtree, run_dir, True)
        d = self._start(env={"XDG_RUNTIME_DIR": run_dir})
        self._launch_without_C(d)
        d.conn_path = os.path.join(run_dir, "steerd-%d.json" % d.pid)
        conn = d.wait_connection_file()
        self.assertEqual(conn["pid"], d.pid)
        c = d.client("x")
        self.assertEqual(c("status")["adapter"], "pic1d")
        d.stop()
        self.assertEqual(os.listdir(run_dir), [])

    def test_config_path_and_command_line_wins(self):
        cfg = make_config()
        other = os.path.join(tempfile.gettempdir(), "steerd-it-cfgconn-%d.json" % os.getpid())
        self.addCleanup(lambda: os.path.exists(other) and os.unlink(other))
        cfg["endpoints"]["connection_file"] = other
        d = self._start(cfg)
        self._launch_without_C(d)
        d.conn_path = other
        self.assertEqual(d.wait_connection_file()["pid"], d.pid)
        d.stop()
        self.assertFalse(os.path.exists(other))
        # -C wins over endpoints.connection_file
        d = self._start(cfg)
        d.start()
        self.assertFalse(os.path.exists(other))
        self.assertEqual(d.conn["pid"], d.pid)
        d.stop()

    def test_ipc_in_a_shared_directory_is_refused_without_security(self):
        cfg = make_config(start="running")
        cfg["endpoints"] = {"control": "ipc:///tmp/steerd-test-ctl-%d" % os.getpid(),
                            "diagnostics": "ipc:///tmp/steerd-test-diag-%d" % os.getpid()}
        d = Steerd(config=cfg)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78)
        self.assertIn("mode 0700", d.stderr())

    def test_ipc_endpoints(self):
        cfg = make_config(start="running")
        d = self._start(cfg)
        ctl, diag = os.path.join(d.tmp, "ctl.sock"), os.path.join(d.tmp, "diag.sock")
        cfg["endpoints"] = {"control": "ipc://" + ctl, "diagnostics": "ipc://" + diag}
        with open(d.config_path, "w") as f:
            f.write(to_yaml(cfg))
        d.start()
        self.assertEqual((d.conn["control"], d.conn["diagnostics"]), ("ipc://" + ctl, "ipc://" + diag))
        sub = d.subscriber("scalars")
        self.assertIsNotNone(sub.recv())
        self.assertEqual(d.client("x")("status")["state"], "running")
        d.stop()

    def test_log_level_debug(self):
        d = self._start(args=["--log-level", "debug"])
        d.start()
        c = d.client("dbg")
        c("set", {"values": {"injected_current": 1200}})
        c.send_raw([b"", b"{not json", b"{}"])   # bad requests are logged at debug level
        self.assertFalse(json.loads(c.recv_raw()[1])["ok"])
        d.stop()
        self.assertRegex(d.stderr(), r"DEBUG")
        # and not at the default level
        d = self._start()
        d.start()
        c = d.client("dbg")
        c.send_raw([b"", b"{not json", b"{}"])
        self.assertFalse(json.loads(c.recv_raw()[1])["ok"])
        d.stop()
        self.assertNotRegex(d.stderr(), r"DEBUG")


class TestAbstractIpc(CliCase):
    """#12 item 11: without security an abstract ipc socket (ipc://@name) is refused: no
    directory permission guards it."""

    def test_refused_without_security(self):
        for key in ("control", "diagnostics"):
            for extra in ("", "  allow_remote: true\n"):
                with self.subTest(key=key, allow_remote=bool(extra)):
                    text = SIM + "endpoints:\n  %s: ipc://@steerd-test-%d\n%s" % (key, os.getpid(), extra)
                    for check in (True, False):
                        err = self.assertConfigError(text, 4, len(key) + 5, "abstract socket",
                                                     check=check)
                        self.assertIn("endpoints." + key, err)


class TestSighupReload(DaemonTestCase):
    """#12 item 7: SIGHUP never ends a run; without security it reloads the settings the
    config table marks reloadable, and logs what it applied and what needs a restart."""
    autostart = False

    def start(self, **kw):
        cfg = make_config(knobs={"cells": 50, "particles_per_step": 4}, **kw)
        d = self.start_daemon(config=cfg)
        return d, d.client("x"), cfg

    def rewrite(self, d, cfg):
        with open(d.config_path, "w") as f:
            f.write(to_yaml(cfg) + "\n")

    def sighup(self, d, until):
        before = d.stderr().count("SIGHUP: reloading")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.stderr().count("SIGHUP: reloading") > before and
                   until in d.stderr().split("SIGHUP: reloading")[-1], what=until)
        return d.stderr().split("SIGHUP: reloading")[-1]

    def test_sighup_never_ends_a_run(self):
        ckpt = tempfile.mkdtemp(prefix="steerd-ckpt-")
        self.addCleanup(shutil.rmtree, ckpt, True)
        d, c, cfg = self.start(extra={"checkpoint": {"directory": ckpt, "on_exit": True}})
        c.step_and_wait(3)
        for _ in range(3):
            self.sighup(d, "0 settings applied")
            self.assertTrue(d.alive())
        self.assertEqual(c("status")["step"], 3)
        d.stop()  # a clean exit: status 0, connection file removed
        self.assertTrue(glob.glob(os.path.join(ckpt, "*.h5")), "no on_exit checkpoint")

    def test_reloadable_settings_apply_and_the_others_are_logged(self):
        ckpt = tempfile.mkdtemp(prefix="steerd-ckpt-")
        self.addCleanup(shutil.rmtree, ckpt, True)
        d, c, cfg = self.start(extra={"checkpoint": {"directory": ckpt, "on_exit": False}})
        sub = d.subscriber("scalars")
        cfg["checkpoint"]["every_steps"] = 5
        cfg["diagnostics"]["scalars_every"] = 5
        cfg["log_level"] = "debug"
        cfg["run"]["max_steps"] = 1000
        cfg["simulation"]["knobs"]["cells"] = 60
        self.rewrite(d, cfg)
        log = self.sighup(d, "settings applied")
        self.assertIn("reload: diagnostics.scalars_every: 1 -> 5", log)
        self.assertIn("reload: log_level: info -> debug", log)
        self.assertIn("run.max_steps changed in the file but is read only at start", log)
        self.assertIn("simulation.knobs", log)
        self.assertIn("reload: checkpoint.every_steps: 0 -> 5", log)
        self.assertIn("3 settings applied, 2 changed settings need a restart", log)
        steps = []
        c("step", {"n": 10})
        sub.expect(lambda m: steps.append(m["step"]) or m["step"] >= 10, what="scalars of step 10")
        self.assertEqual(steps, [5, 10])
        wait_until(lambda: len(glob.glob(os.path.join(ckpt, "*.h5"))) == 2,
                   what="checkpoints at steps 5 and 10")
        c.send_raw([b"", b"{not json", b"{}"])
        c.recv_raw()
        wait_until(lambda: "DEBUG" in d.stderr().split("SIGHUP: reloading")[-1],
                   what="a DEBUG line after the reload")
        # The stream may be ahead of status by a boundary: wait for status to reach step 10.
        st = wait_until(lambda: (lambda s: s if s["step"] == 10 else None)(c("status")),
                        what="status at step 10")
        self.assertEqual(st["state"], "paused")  # max_steps 1000 is not in effect: still paused

    def test_a_bad_file_changes_nothing(self):
        d, c, cfg = self.start()
        good = to_yaml(cfg) + "\n"
        for text, want in (
                (good.replace("scalars_every: 1", "scalars_every: lots"), "scalars_every"),
                (good.replace("tcp://127.0.0.1:*", "ipc://@steerd-reload-%d" % os.getpid(), 1),
                 "abstract socket")):
            with self.subTest(want=want):
                with open(d.config_path, "w") as f:
                    f.write(text)
                log = self.sighup(d, "no setting changed")
                self.assertIn(d.config_path + ":", log)
                self.assertIn(want, log)
                self.assertTrue(d.alive())
        os.chmod(d.config_path, 0o666)
        log = self.sighup(d, "no setting changed")
        self.assertIn("writable by", log)
        os.chmod(d.config_path, 0o644)
        sub = d.subscriber("scalars")
        c("step", {"n": 2})
        steps = []
        sub.expect(lambda m: steps.append(m["step"]) or m["step"] >= 2, what="scalars of step 2")
        self.assertEqual(steps, [1, 2])  # scalars_every is still 1


class TestConfigPermissions(CliCase):
    """#12 item 12: a config file another user could change is refused (exit 78, named),
    with or without security; a sticky directory of root's or ours (like /tmp) is fine."""

    def test_config_writable_by_others(self):
        path = self.write(SIM)
        self.assertEqual(run_steerd(["--check", "-c", path])[0], 0)
        for mode in (0o666, 0o646):
            os.chmod(path, mode)
            rc, out, err = run_steerd(["--check", "-c", path])
            self.assertEqual(rc, EX_CONFIG, err)
            self.assertIn(path + ": writable by", err)
        # Group write: refused unless the group is the owner's private group
        # (named as the owner, its primary group, no other member).
        os.chmod(path, 0o664)
        pw = pwd.getpwuid(os.geteuid())
        gr = grp.getgrgid(pw.pw_gid)
        private = gr.gr_name == pw.pw_name and all(m == pw.pw_name for m in gr.gr_mem)
        rc, out, err = run_steerd(["--check", "-c", path])
        self.assertEqual(rc, 0 if private else EX_CONFIG, err)
        others = [g for g in grp.getgrall() if g.gr_gid != pw.pw_gid]
        if os.geteuid() == 0 and others:  # a shared group: refused
            os.chown(path, -1, others[0].gr_gid)
            rc, out, err = run_steerd(["--check", "-c", path])
            self.assertEqual(rc, EX_CONFIG, err)
            self.assertIn(path + ": writable by its group", err)
            os.chown(path, -1, pw.pw_gid)
        os.chmod(path, 0o644)
        os.chmod(self.tmp, 0o777)
        rc, out, err = run_steerd(["--check", "-c", path])
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("not sticky", err)
        os.chmod(self.tmp, 0o1777)
        rc, out, err = run_steerd(["--check", "-c", path])
        self.assertEqual(rc, 0, err)
        os.chmod(self.tmp, 0o700)


INTERPOSER = r"""
/* The example adapter, plus a function named like one of steerd's own. */
#include <string.h>
#define steerd_adapter_entry oscillator_entry
#include "oscillator.c"
#undef steerd_adapter_entry
const char *zap_role_name(int role);
const char *zap_role_name(int role) { (void)role; return "the adapter's own"; }
const sa_adapter *steerd_adapter_entry(void);
const sa_adapter *steerd_adapter_entry(void)
{
	/* NULL (refused by steerd) when the daemon's zap_role_name answered instead. */
	return strcmp(zap_role_name(0), "the adapter's own") == 0 ? oscillator_entry() : NULL;
}
"""


class TestAdapterSymbols(CliCase):
    """#12 item 16: steerd exports none of its own functions, so an adapter's functions are
    never replaced by same-named ones of the daemon."""

    def test_no_daemon_symbol_is_exported(self):
        nm = shutil.which("nm")
        if not nm:
            self.skipTest("no nm")
        lib = os.path.join(os.path.dirname(os.path.dirname(BIN)), "libsteerd-core.a")
        ours = set()
        for line in subprocess.run([nm, "--defined-only", "-g", lib], capture_output=True,
                                   text=True, check=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3:
                ours.add(parts[2])
        self.assertIn("zap_role_name", ours)
        exported = {line.split()[-1].split("@")[0] for line in subprocess.run(
            [nm, "-D", "--defined-only", BIN], capture_output=True, text=True,
            check=True).stdout.splitlines() if line.strip()}
        self.assertEqual(sorted(ours & exported), [])

    def test_adapter_function_named_like_a_daemon_function_is_its_own(self):
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler")
        src = self.write(INTERPOSER, "interposer.c")
        so = os.path.join(self.tmp, "libinterposer.so")
        r = subprocess.run([cc, "-std=c11", "-shared", "-fPIC", "-I" + os.path.join(REPO, "sim-adapter"),
                            "-I" + os.path.join(REPO, "examples", "oscillator"), src, "-lm", "-o", so],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        cfg = self.write("simulation:\n  adapter: %s\n" % so)
        rc, out, err = run_steerd(["--check", "-c", cfg])
        self.assertEqual(rc, 0, err)
        self.assertIn("adapter oscillator", out)


OSCILLATOR_SO = os.path.join(os.path.dirname(os.path.dirname(BIN)), "examples", "liboscillator.so")
DAEMON_TIMEOUT = 120  # bound on a daemon's start or exit; a loaded ASan build is slow


@contextlib.contextmanager
def steerd_process(args, cwd, env=None):
    """steerd in the background (stdout/stderr to cwd/steerd.log), killed if
    the block leaves it running."""
    log = open(os.path.join(cwd, "steerd.log"), "wb")
    p = subprocess.Popen([BIN] + list(args), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         cwd=cwd, env=dict(os.environ, **(env or {})))
    log.close()
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def read_json_when_there(path, proc, log):
    def ready():
        if proc.poll() is not None:
            raise AssertionError("steerd exited with %s:\n%s" % (proc.returncode, open(log).read()))
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None
    return wait_until(ready, DAEMON_TIMEOUT, what=path)


def wait_ok_exit(test, proc, log):
    rc = proc.wait(DAEMON_TIMEOUT)
    text = open(log).read()
    test.assertEqual(rc, 0, text)
    test.assertIsNone(sanitizer_report(text), text)
    return text


def checkpoints_in(d):
    return sorted(glob.glob(os.path.join(d, "*.h5")))


class TestCheckRunsTheAdapter(CliCase):
    """#19 item 6: --check runs the adapter's own checks (it creates the
    simulation and destroys it, binding nothing): a config the adapter refuses
    at start fails --check too, with exit 78 and the adapter's message."""

    TOO_LONG_DT = SIM + "  knobs:\n    dt: 2.0e-10\n"  # 100x the default 2 ps

    def test_dt_too_long_fails_check_like_start(self):
        path = self.write(self.TOO_LONG_DT)
        rc, out, err = run_steerd(["--check", "-c", path])
        self.assertEqual(rc, EX_CONFIG, err)
        self.assertIn("%s: the adapter refuses this configuration: unstable" % path, err)
        self.assertIn("dt must be <=", err)
        self.assertNotIn("ok", out)
        conn = os.path.join(self.tmp, "conn.json")
        rc, out, start_err = run_steerd(["-c", path, "-C", conn])
        self.assertEqual(rc, EX_CONFIG, start_err)
        self.assertIn(err.split("configuration: ", 1)[1].strip(), start_err)

    def test_check_binds_nothing(self):
        sock = os.path.join(self.tmp, "sock")
        os.mkdir(sock, 0o700)
        path = self.write(SIM + "endpoints:\n  control: ipc://sock/ctl\n  diagnostics: ipc://sock/diag\n")
        rc, out, err = run_steerd(["--check", "-c", path, "-C", os.path.join(self.tmp, "c.json")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(sock), [])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "c.json")))


class TestPathsRelativeToTheConfig(CliCase):
    """#19 item 7: every path in a config (the adapter .so, checkpoint.directory,
    endpoints.connection_file, ipc:// endpoint paths) is relative to the config
    file's directory, whatever steerd's working directory; a config restored
    from a checkpoint is relative to the checkpoint's directory; ~/ and
    $XDG_STATE_HOME/ are expanded, nothing else."""

    def setUp(self):
        super().setUp()
        self.cfgdir = os.path.join(self.tmp, "cfg")
        self.elsewhere = os.path.join(self.tmp, "elsewhere")
        os.mkdir(self.cfgdir, 0o755)
        os.mkdir(self.elsewhere, 0o755)

    def write_cfg(self, text):
        return self.write(text, os.path.join("cfg", "run.yaml"))

    def test_adapter_checkpoints_connection_file_and_ipc_from_another_directory(self):
        if not os.path.exists(OSCILLATOR_SO):
            self.skipTest("no %s" % OSCILLATOR_SO)
        os.mkdir(os.path.join(self.cfgdir, "adapters"))
        shutil.copy(OSCILLATOR_SO, os.path.join(self.cfgdir, "adapters", "libosc.so"))
        os.mkdir(os.path.join(self.cfgdir, "sock"), 0o700)
        path = self.write_cfg(
            "simulation:\n  adapter: adapters/libosc.so\n"
            "run:\n  start: paused\n"
            "endpoints:\n  control: ipc://sock/ctl\n  diagnostics: ipc://sock/diag\n"
            "  connection_file: run.json\n"
            "checkpoint:\n  directory: ckpt\n  on_exit: false\n")
        rel = os.path.relpath(path, self.elsewhere)
        log = os.path.join(self.elsewhere, "steerd.log")
        with steerd_process(["-c", rel], self.elsewhere) as p:
            conn = read_json_when_there(os.path.join(self.cfgdir, "run.json"), p, log)
            self.assertEqual(conn["control"], "ipc://%s/sock/ctl" % os.path.realpath(self.cfgdir))
            self.assertEqual(conn["adapter"], "oscillator")
            with contextlib.closing(Client(conn["control"])) as c:
                written = c("checkpoint", {"name": "a.h5"})["path"]
            self.assertEqual(written, os.path.join(os.path.realpath(self.cfgdir), "ckpt", "a.h5"))
            self.assertTrue(os.path.exists(written))
            p.send_signal(signal.SIGTERM)
            wait_ok_exit(self, p, log)
        self.assertEqual(sorted(os.listdir(self.elsewhere)), ["steerd.log"])

    def test_bare_so_name_is_the_file_beside_the_config(self):
        if not os.path.exists(OSCILLATOR_SO):
            self.skipTest("no %s" % OSCILLATOR_SO)
        shutil.copy(OSCILLATOR_SO, os.path.join(self.cfgdir, "libosc.so"))
        path = self.write_cfg("simulation:\n  adapter: libosc.so\n")
        rc, out, err = run_steerd(["--check", "-c", path], cwd=self.elsewhere)
        self.assertEqual(rc, 0, err)
        self.assertIn("adapter oscillator", out)

    def run_to_the_end(self, args, cwd, env=None):
        with steerd_process(args, cwd, env) as p:
            return wait_ok_exit(self, p, os.path.join(cwd, "steerd.log"))

    def test_restored_config_is_relative_to_the_checkpoint(self):
        path = self.write_cfg(SIM + "run:\n  max_steps: 20\n"
                              "endpoints:\n  connection_file: run.json\n"
                              "checkpoint:\n  directory: ckpt\n")
        self.run_to_the_end(["-c", path], self.elsewhere)
        first = checkpoints_in(os.path.join(self.cfgdir, "ckpt"))
        self.assertEqual(len(first), 1, os.listdir(self.cfgdir))
        # Without -c the checkpoint's own config is used: ckpt/ is now relative to cfg/ckpt/.
        text = self.run_to_the_end(["--restart", os.path.join(self.cfgdir, "ckpt")], self.elsewhere)
        self.assertIn("connection file %s" % os.path.join(self.cfgdir, "ckpt", "run.json"), text)
        self.assertEqual(len(checkpoints_in(os.path.join(self.cfgdir, "ckpt", "ckpt"))), 1, text)
        self.assertEqual(checkpoints_in(os.path.join(self.cfgdir, "ckpt")), first)

    def test_home_and_state_directory(self):
        home = os.path.join(self.tmp, "home")
        state = os.path.join(self.tmp, "state")
        env = {"HOME": home}
        cases = [("~/runs/a", {}, os.path.join(home, "runs", "a")),
                 ("$XDG_STATE_HOME/steerd/b", {"XDG_STATE_HOME": ""},
                  os.path.join(home, ".local", "state", "steerd", "b")),
                 ("$XDG_STATE_HOME/steerd/c", {"XDG_STATE_HOME": state},
                  os.path.join(state, "steerd", "c"))]
        for directory, extra, want in cases:
            with self.subTest(directory=directory, env=extra):
                path = self.write_cfg(SIM + "run:\n  max_steps: 5\n"
                                      "checkpoint:\n  directory: %s\n" % directory)
                self.run_to_the_end(["-c", path, "-C", os.path.join(self.tmp, "c.json")],
                                    self.elsewhere, dict(env, **extra))
                self.assertEqual(len(checkpoints_in(want)), 1, want)
        for bad in ("$HOME/x", "~user/x", "${XDG_STATE_HOME}/x"):
            with self.subTest(refused=bad):
                self.assertConfigError(SIM + "checkpoint:\n  directory: '%s'\n" % bad, 4, 14,
                                       "only a leading ~/ or $XDG_STATE_HOME/ is expanded")


class TestDefaultRunIsProtected(CliCase):
    """#19 item 3: configs/diode.yaml checkpoints outside the source tree
    ($XDG_STATE_HOME/steerd/diode), periodically and on exit; Ctrl-C (SIGINT)
    leaves a checkpoint, steerd says how to resume, and --restart DIR resumes."""

    def test_ctrl_c_then_restart(self):
        diode = os.path.join(REPO, "configs", "diode.yaml")
        state = os.path.join(self.tmp, "state")
        run_dir = os.path.join(state, "steerd", "diode")
        conn_path = os.path.join(self.tmp, "diode.json")
        env = {"XDG_STATE_HOME": state}
        log = os.path.join(self.tmp, "steerd.log")
        with steerd_process(["-c", diode, "-C", conn_path], self.tmp, env) as p:
            conn = read_json_when_there(conn_path, p, log)
            with contextlib.closing(Client(conn["control"])) as c:
                c.wait_step(10)
            p.send_signal(signal.SIGINT)
            text = wait_ok_exit(self, p, log)
        saved = checkpoints_in(run_dir)
        self.assertEqual(len(saved), 1, text)
        self.assertIn("--restart %s -c %s" % (run_dir, diode), text)
        step = int(re.search(r"_step(\d+)\.h5$", saved[0]).group(1))
        self.assertGreaterEqual(step, 10)
        with steerd_process(["--restart", run_dir, "-c", diode, "-C", conn_path], self.tmp, env) as p:
            conn = read_json_when_there(conn_path, p, log)
            with contextlib.closing(Client(conn["control"])) as c:
                self.assertGreaterEqual(c.status()["step"], step)
            p.send_signal(signal.SIGTERM)
            wait_ok_exit(self, p, log)
        self.assertEqual(len(checkpoints_in(run_dir)), 2)
        self.assertEqual(checkpoints_in(REPO) + checkpoints_in(os.path.join(REPO, "configs")), [])


if __name__ == "__main__":
    run_tests(TestConfigErrors, TestCommandLine, TestSimulationCpu, TestConnectionFile,
              TestAdapterSymbols, TestAbstractIpc, TestSighupReload, TestConfigPermissions,
              TestCheckRunsTheAdapter, TestPathsRelativeToTheConfig, TestDefaultRunIsProtected)
