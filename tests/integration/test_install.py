# SPDX-License-Identifier: MIT
"""`make install` and pkg-config, as a code that embeds steerd uses them
(#15): install with DESTDIR into a temp dir, build a small embedding program
(tests/integration/embed_check.c) with nothing but `pkg-config --cflags
--libs steerd` pointed at it, run it against the installed library, and
check the library exports only the public API. A code that uses HDF5 itself
(its own file, its own error handler, Debian's libhdf5-serial like
libsteerd) while steerd checkpoints works."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import BIN, REPO, is_asan_build, run_tests, sanitizer_report  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.dirname(BIN))
ASAN = is_asan_build()
SAN_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if ASAN else []
PREFIX = "/usr/local"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embed_check.c")
TIMEOUT = 600  # make install may rebuild the man pages; a loaded 2-core machine is slow
RUN_TIMEOUT = 120

CONFIG = """run:
  start: running
endpoints:
  control: tcp://127.0.0.1:*
  diagnostics: tcp://127.0.0.1:*
log_level: warn
"""


def public_api():
    """The functions steerd.h exports (STEERD_EXPORT)."""
    with open(os.path.join(REPO, "sim-adapter", "steerd.h")) as f:
        text = f.read()
    return set(re.findall(r"STEERD_EXPORT\s+[^;(]*?\**\b(steerd_\w+)\s*\(", text))


class TestInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("pkg-config", "nm", "make"):
            if not shutil.which(tool):
                raise unittest.SkipTest("no " + tool)
        cls.cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if not cls.cc:
            raise unittest.SkipTest("no C compiler")
        cls.tmp = tempfile.mkdtemp(prefix="steerd-install-")
        cls.root = os.path.join(cls.tmp, "root")
        cmd = ["make", "--no-print-directory", "-C", REPO, "BUILD=" + BUILD_DIR, "PREFIX=" + PREFIX,
               "LIBDIR=" + PREFIX + "/lib", "PCDIR=" + PREFIX + "/lib/pkgconfig",
               "INCDIR=" + PREFIX + "/include", "DESTDIR=" + cls.root, "NO_DEPS=1",
               "install"] + (["SAN=1"] if ASAN else [])
        # Not the settings of a make we run under (e.g. debian/rules' LIBDIR via MAKEFLAGS).
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
        if r.returncode != 0:
            raise AssertionError("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        cls.libdir = cls.root + PREFIX + "/lib"
        cls.env = dict(os.environ, PKG_CONFIG_PATH=cls.libdir + "/pkgconfig",
                       PKG_CONFIG_SYSROOT_DIR=cls.root, LD_LIBRARY_PATH=cls.libdir)
        cls.env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pkg_config(self, *args, env=None):
        r = subprocess.run(["pkg-config"] + list(args), capture_output=True, text=True,
                           env=env or self.env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def build(self, name, extra_flags=(), defines=()):
        exe = os.path.join(self.tmp, name)
        cmd = ([self.cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"] + SAN_FLAGS
               + ["-D" + d for d in defines] + [SRC, "-o", exe]
               + self.pkg_config("--cflags", "--libs", "steerd") + list(extra_flags))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, "%s\n%s" % (" ".join(cmd), r.stderr))
        return exe

    def run_code(self, exe, *args):
        d = tempfile.mkdtemp(dir=self.tmp)
        cfg = os.path.join(d, "c.yaml")
        conn = os.path.join(d, "conn.json")
        with open(cfg, "w") as f:
            f.write(CONFIG + "".join(a for a in args if a.startswith("checkpoint:")))
        argv = [exe, "-c", cfg, "--connection-file", conn] + [a for a in args
                                                             if not a.startswith("checkpoint:")]
        r = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=d,
                           timeout=RUN_TIMEOUT)
        rep = sanitizer_report(r.stderr)
        self.assertIsNone(rep, rep)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(conn), "connection file left behind")
        return d, r.stdout

    def test_pkg_config_gives_the_installed_paths(self):
        self.assertEqual(self.pkg_config("--cflags", "steerd"), ["-I" + self.root + PREFIX + "/include"])
        self.assertEqual(self.pkg_config("--libs", "steerd"), ["-L" + self.libdir, "-lsteerd"])
        version = self.pkg_config("--modversion", "steerd")[0]
        out = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=60).stdout
        self.assertIn(version, out)
        for h in ("steerd.h", "steerd_adapter.h"):
            self.assertTrue(os.path.isfile(os.path.join(self.root + PREFIX, "include", h)), h)
        major = version.split(".")[0]
        self.assertEqual(os.readlink(os.path.join(self.libdir, "libsteerd.so")), "libsteerd.so." + major)
        self.assertEqual(os.readlink(os.path.join(self.libdir, "libsteerd.so." + major)),
                         "libsteerd.so." + version)

    def test_embedding_program_runs_against_the_installed_library(self):
        exe = self.build("embed_check")
        d, out = self.run_code(exe, "--steps", "5")
        lib = re.search(r"^library (.*)$", out, re.M)
        self.assertIsNotNone(lib, out)
        self.assertEqual(os.path.realpath(lib.group(1)),
                         os.path.realpath(glob.glob(self.libdir + "/libsteerd.so.*.*.*")[0]))
        self.assertIn("steps 5", out)
        version = self.pkg_config("--modversion", "steerd")[0]
        self.assertIn("version %s (header %s)" % (version, version), out)

    def test_library_exports_only_the_public_api(self):
        lib = glob.glob(self.libdir + "/libsteerd.so.*.*.*")
        self.assertEqual(len(lib), 1, lib)
        r = subprocess.run(["nm", "-D", "--defined-only", lib[0]], capture_output=True, text=True,
                           timeout=60, check=True)
        exported = set()
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] != "A":  # "A": the version node STEERD_0
                exported.add(parts[2].split("@")[0])
        self.assertEqual(exported, public_api())
        soname = subprocess.run(["objdump", "-p", lib[0]], capture_output=True, text=True,
                                timeout=60).stdout if shutil.which("objdump") else ""
        if soname:
            self.assertRegex(soname, r"SONAME\s+libsteerd\.so\.\d+\n")

    def test_code_using_hdf5_itself_while_steerd_checkpoints(self):
        hdf5 = self.pkg_config("--cflags", "--libs", "hdf5-serial", env=dict(os.environ))
        exe = self.build("embed_check_hdf5", hdf5, ["WITH_HDF5"])
        ckpt_dir = os.path.join(self.tmp, "ckpt")
        own = os.path.join(self.tmp, "own.h5")
        d, out = self.run_code(exe, "--steps", "20", "--h5", own,
                               "checkpoint:\n  directory: %s\n  every_steps: 4\n  keep: 100\n"
                               "  on_exit: true\n" % ckpt_dir)
        self.assertIn("hdf5 ok", out)
        # The code's own file: one dataset per step, as it wrote them.
        with h5py.File(own, "r") as f:
            self.assertEqual(sorted(f.keys(), key=lambda k: int(k.split("_")[1])),
                             ["step_%d" % i for i in range(1, 21)])
            self.assertEqual([float(f["step_%d" % i][0]) for i in range(1, 21)],
                             [float(i) for i in range(1, 21)])
        # steerd's checkpoints, meanwhile: every 4 steps and on exit, each readable.
        files = sorted(glob.glob(os.path.join(ckpt_dir, "*.h5")))
        self.assertGreaterEqual(len(files), 5, files)
        for path in files:
            with h5py.File(path, "r") as f:
                self.assertIn("openPMD", f.attrs)


if __name__ == "__main__":
    run_tests(TestInstall)
