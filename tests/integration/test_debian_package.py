# SPDX-License-Identifier: MIT
"""The Debian packages (debian/): dpkg-buildpackage builds them from a copy of
the tree (the repository stays clean) without running apt-get, lintian finds
no error, and the programs unpacked from the .debs (dpkg-deb -x) run: their
--version and the tour's first command, `steerd --check -c configs/diode.yaml`.

The package is built from the sources, whatever STEERD_BUILD says, so it is
built once, in the normal build's pass (with nocheck and -j2: `make test` runs
the tests already); the sanitizer pass skips it."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import BIN, REPO, run_tests  # noqa: E402

BUILD_DIR = os.path.dirname(os.path.dirname(BIN))
TOOLS = ("dpkg-buildpackage", "dh", "lintian", "dpkg-deb")
MISSING = [t for t in TOOLS if not shutil.which(t)]
SANITIZER_BUILD = os.path.basename(os.path.normpath(BUILD_DIR)) == "asan"
# Set by dpkg-buildpackage: the suite runs inside a package build (debian/rules
# runs `make test`), which must not build the package again.
IN_PACKAGE_BUILD = "DEB_RULES_REQUIRES_ROOT" in os.environ
BUILD_TIMEOUT = 1800
MULTIARCH = (subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True,
                            text=True).stdout.strip() if shutil.which("dpkg-architecture") else "")
PACKAGES = {
    "steerd": ["usr/bin/steerd", "lib/systemd/system/steerd@.service",
               "usr/share/bash-completion/completions/steerd",
               "usr/share/man/man1/steerd.1.gz", "usr/share/man/man5/steerd.yaml.5.gz",
               "usr/share/man/man7/steerd-protocol.7.gz",
               "usr/share/doc/steerd/protocol.schema.json", "usr/share/doc/steerd/copyright"],
    "steer-console": ["usr/bin/steer-console",
                      "usr/share/bash-completion/completions/steer-console",
                      "usr/share/man/man1/steer-console.1.gz"],
    "libsteerd0": ["usr/lib/%s/libsteerd.so.0" % MULTIARCH],
    "steerd-dev": ["usr/include/steerd.h", "usr/include/steerd_adapter.h",
                   "usr/lib/%s/libsteerd.so" % MULTIARCH, "usr/lib/%s/pkgconfig/steerd.pc" % MULTIARCH],
    "python3-steerd": ["usr/lib/python3/dist-packages/steerd/__init__.py",
                       "usr/lib/python3/dist-packages/steerd/client.py",
                       "usr/share/doc/python3-steerd/examples/notebook.ipynb"],
    "steer-web": ["usr/bin/steer-web", "usr/share/man/man1/steer-web.1.gz"],
}
EMBED_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embed_check.c")


def clean_env(**extra):
    """The environment of a build started by hand: no make of ours around it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "STEERD_BUILD",
                        "NO_DEPS")}
    env.update(LC_ALL="C.UTF-8", **extra)
    return env


def copy_tree(dst):
    """The working tree's files as git sees them (tracked and new, not ignored),
    or everything but build/ and .git/ outside a git checkout."""
    p = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True, timeout=60)
    if p.returncode != 0:
        shutil.copytree(REPO, dst, symlinks=True,
                        ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
        return
    for rel in filter(None, p.stdout.decode().split("\0")):
        src = os.path.join(REPO, rel)
        if not os.path.lexists(src):  # deleted, not yet committed
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel), follow_symlinks=False)


def git_status():
    p = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--ignored", "debian"],
                       capture_output=True, text=True, timeout=60)
    return p.stdout


@unittest.skipIf(MISSING, "not installed: %s (make deps)" % " ".join(MISSING))
@unittest.skipIf(SANITIZER_BUILD, "the package is built once, in the normal build's pass")
@unittest.skipIf(IN_PACKAGE_BUILD, "running inside a package build")
class TestDebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="steerd-deb-")
        cls.src = os.path.join(cls.tmp, "steerd")
        cls.status_before = git_status()
        copy_tree(cls.src)
        env = clean_env(DEB_BUILD_OPTIONS="nocheck parallel=2")
        with open(os.path.join(cls.tmp, "build.log"), "w") as log:
            cls.build = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b", "-j2"],
                                       cwd=cls.src, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
        with open(os.path.join(cls.tmp, "build.log")) as log:
            cls.log = log.read()
        cls.debs = {os.path.basename(d).split("_")[0]: d
                    for d in glob.glob(os.path.join(cls.tmp, "*.deb"))}
        cls.root = os.path.join(cls.tmp, "root")
        os.mkdir(cls.root)
        for name in PACKAGES:
            if name in cls.debs:
                subprocess.run(["dpkg-deb", "-x", cls.debs[name], cls.root], check=True,
                               timeout=120)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        self.assertEqual(self.build.returncode, 0, self.log[-4000:])

    def test_packages_hold_the_programs_unit_completions_pages_and_headers(self):
        for name, files in PACKAGES.items():
            self.assertIn(name, self.debs)
            listing = subprocess.run(["dpkg-deb", "-c", self.debs[name]], capture_output=True,
                                     text=True, check=True, timeout=120).stdout
            for f in files:  # a file, or a symlink ("./f -> target")
                self.assertRegex(listing, r"\./%s( -> \S+)?\n" % re.escape(f), "%s lacks %s" % (name, f))
        with open(os.path.join(self.root, "lib/systemd/system/steerd@.service")) as f:
            self.assertIn("ExecStart=/usr/bin/steerd ", f.read())

    def test_the_build_installs_nothing(self):
        self.assertNotIn("make deps: installing", self.log)
        self.assertNotIn("apt-get", self.log)
        self.assertEqual(git_status(), self.status_before, "the build dirtied the repository")

    def test_lintian_finds_no_error(self):
        changes = glob.glob(os.path.join(self.tmp, "*.changes"))
        self.assertEqual(len(changes), 1)
        p = subprocess.run(["lintian", "--fail-on", "error", changes[0]], capture_output=True,
                           text=True, env=clean_env(), timeout=900)
        for line in p.stdout.splitlines():
            print("# lintian: " + line)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_unpacked_programs_run_the_tour(self):
        steerd = os.path.join(self.root, "usr/bin/steerd")
        console = os.path.join(self.root, "usr/bin/steer-console")
        env = clean_env(XDG_STATE_HOME=os.path.join(self.tmp, "state"),
                        XDG_RUNTIME_DIR=self.tmp)
        v = subprocess.run([steerd, "--version"], capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertRegex(v.stdout, r"^steerd \d+\.\d+\.\d+ ")
        v = subprocess.run([console, "--version"], capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertRegex(v.stdout, r"^steer-console \d+\.\d+\.\d+")
        for config in (os.path.join(REPO, "configs", "diode.yaml"),
                       os.path.join(self.root, "usr/share/doc/steerd/examples/diode.yaml")):
            c = subprocess.run([steerd, "--check", "-c", config], capture_output=True, text=True,
                               cwd=self.tmp, env=env, timeout=120)
            self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
            self.assertIn("ok", c.stdout + c.stderr)

    def test_unpacked_python_package_imports(self):
        site = os.path.join(self.root, "usr/lib/python3/dist-packages")
        p = subprocess.run(["/usr/bin/python3", "-c", "import steerd; print(steerd.__file__)"],
                           capture_output=True, text=True, cwd=self.tmp, timeout=60,
                           env=clean_env(PYTHONPATH=site))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(site), p.stdout)

    def test_unpacked_library_and_dev_files_build_an_embedding_code(self):
        """pkg-config steerd of the unpacked steerd-dev, the unpacked libsteerd0 at run time."""
        libdir = os.path.join(self.root, "usr/lib", MULTIARCH)
        self.assertEqual(os.readlink(os.path.join(libdir, "libsteerd.so")), "libsteerd.so.0")
        env = clean_env(PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"),
                        PKG_CONFIG_SYSROOT_DIR=self.root, LD_LIBRARY_PATH=libdir)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "steerd"], capture_output=True,
                               text=True, env=env, timeout=60)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        exe = os.path.join(self.tmp, "embed_check")
        cc = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", EMBED_SRC, "-o", exe]
                            + flags.stdout.split(), capture_output=True, text=True, timeout=120)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        with open(os.path.join(self.tmp, "embed.yaml"), "w") as f:
            f.write("endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n")
        r = subprocess.run([exe, "-c", os.path.join(self.tmp, "embed.yaml"), "--connection-file",
                            os.path.join(self.tmp, "embed.json"), "--steps", "3"],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("library " + libdir, r.stdout)
        self.assertIn("steps 3", r.stdout)

    def test_unpacked_man_pages_render(self):
        pages = glob.glob(os.path.join(self.root, "usr/share/man/man*/*.gz"))
        self.assertEqual(len(pages), 5)  # steerd.1, .yaml.5, -protocol.7, steer-console.1, steer-web.1
        for page in pages:
            m = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", page],
                               capture_output=True, text=True, env=clean_env(MANWIDTH="80"),
                               timeout=60)
            self.assertEqual((m.returncode, m.stderr), (0, ""), page)


class TestNoDeps(unittest.TestCase):
    """`make deps NO_DEPS=1` (what debian/rules uses) never calls apt-get."""

    def deps(self, *args):
        tmp = tempfile.mkdtemp(prefix="steerd-nodeps-")
        self.addCleanup(shutil.rmtree, tmp, True)
        marker = os.path.join(tmp, "called")
        for tool in ("apt-get", "sudo"):
            with open(os.path.join(tmp, tool), "w") as f:
                f.write("#!/bin/sh\necho \"$0 $*\" >> %s\nexit 1\n" % marker)
            os.chmod(os.path.join(tmp, tool), 0o755)
        env = clean_env(PATH=tmp + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["make", "--no-print-directory", "-C", REPO, "deps",
                            "DEB_PKGS=steerd-no-such-package"] + list(args),
                           capture_output=True, text=True, env=env, timeout=120)
        return p, os.path.exists(marker)

    def test_no_deps_is_a_no_op(self):
        p, called = self.deps("NO_DEPS=1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(called)

    def test_without_it_a_missing_package_is_installed(self):
        p, called = self.deps()
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(called)


if __name__ == "__main__":
    run_tests(TestNoDeps, TestDebianPackage)
