# SPDX-License-Identifier: MIT
"""The man pages (doc/*.in, completed by doc/gen-man.py into BUILD/man/):
they render without a groff warning, they are what the generator makes from
the programs' own tables (--dump-commands, --dump-config), so every command,
option and configuration key is in them, and `make install` installs them."""
import json
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
CONSOLE = os.path.join(BUILD_DIR, "bin", "steer-console")
MAN_DIR = os.path.join(BUILD_DIR, "man")
GEN = os.path.join(REPO, "doc", "gen-man.py")
KEYS = os.path.join(REPO, "doc", "steerd.yaml.keys")
PAGES = ["steerd.1", "steer-console.1", "steerd.yaml.5", "steerd-protocol.7", "steer-web.1"]
UNDOCUMENTED_MARK = "(not documented yet)"
ENV = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")


def dump(binary, option):
    p = subprocess.run([binary, option], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def page(name):
    with open(os.path.join(MAN_DIR, name), encoding="utf-8") as f:
        return f.read()


def roff(text):
    return text.replace("\\", "\\e").replace("-", "\\-")


def version():
    """The one version source, sim-adapter/steerd.h (the Makefile reads it from there)."""
    with open(os.path.join(REPO, "sim-adapter", "steerd.h")) as f:
        return re.search(r'^#define STEERD_VERSION_STRING "([^"]+)"', f.read(), re.M).group(1)


def generate(src, out, keys=KEYS):
    return subprocess.run([sys.executable, GEN, "--steerd", BIN, "--console", CONSOLE,
                           "--keys", keys, "--version", version(), src, out],
                          capture_output=True, text=True, timeout=120)


class TestManPages(unittest.TestCase):
    def test_every_page_renders_without_warnings(self):
        for name in PAGES:
            path = os.path.join(MAN_DIR, name)
            with self.subTest(page=name):
                g = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True,
                                   text=True, env=ENV, timeout=60)
                self.assertEqual((g.returncode, g.stderr), (0, ""))
                m = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path],
                                   capture_output=True, text=True, env=ENV, timeout=60)
                self.assertEqual((m.returncode, m.stderr), (0, ""))
                self.assertIn("NAME", m.stdout)

    def test_pages_are_what_the_tables_make(self):
        tmp = tempfile.mkdtemp(prefix="steerd-man-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for name in PAGES:
            with self.subTest(page=name):
                p = generate(os.path.join(REPO, "doc", name + ".in"), os.path.join(tmp, name))
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                with open(os.path.join(tmp, name), encoding="utf-8") as f:
                    self.assertEqual(f.read(), page(name), "BUILD/man is stale: make man")

    def test_every_daemon_command_is_in_steerd_1_and_the_protocol_page(self):
        for name in ("steerd.1", "steerd-protocol.7"):
            text = page(name)
            for c in dump(BIN, "--dump-commands"):
                self.assertIn(".TP\n\\fB%s\\fR" % roff(c["name"]), text, (name, c["name"]))
                self.assertIn(roff(c["summary"]), text)

    def test_every_console_command_is_in_steer_console_1(self):
        text = page("steer-console.1")
        for c in dump(CONSOLE, "--dump-commands"):
            self.assertIn(".TP\n\\fB%s\\fR" % roff(c["name"]), text, c["name"])
            self.assertIn(roff(c["summary"]), text)

    def test_every_option_in_help_is_in_the_page(self):
        for binary, name in ((BIN, "steerd.1"), (CONSOLE, "steer-console.1"),
                             (os.path.join(BUILD_DIR, "bin", "steer-web"), "steer-web.1")):
            helptext = subprocess.run([binary, "--help"], capture_output=True, text=True,
                                      timeout=60).stdout
            options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", helptext))
            self.assertGreater(len(options), 3)
            text = page(name)
            for opt in sorted(options):
                self.assertIn(roff(opt), text, "%s lacks %s" % (name, opt))

    def test_every_config_key_is_documented_with_its_bounds_and_default(self):
        text = page("steerd.yaml.5")
        self.assertNotIn(UNDOCUMENTED_MARK, text, "a key lacks its text in doc/steerd.yaml.keys")
        for s in dump(BIN, "--dump-config"):
            m = re.search(r"^(\.SS %s|\\fB%s\\fR)\n(.*)\n" % ((re.escape(roff(s["name"])),) * 2),
                          text, re.M)
            self.assertTrue(m, s["name"])
            if s["type"] == "section":
                continue
            attributes = m.group(2)
            if s["type"] == "integer":
                self.assertIn("integer in [%d, %d]" % (s["min"], s["max"]), attributes)
            if s["default"] is not None:
                self.assertIn("default " + roff(json.dumps(s["default"]).strip('"')), attributes)
            self.assertIn("reloaded on SIGHUP" if s["reload"] else "read at start only",
                          attributes, s["name"])

    def test_a_key_without_text_is_flagged(self):
        """A key added to the table but not to doc/steerd.yaml.keys is caught."""
        tmp = tempfile.mkdtemp(prefix="steerd-man-")
        self.addCleanup(shutil.rmtree, tmp, True)
        keys = os.path.join(tmp, "keys")
        with open(KEYS, encoding="utf-8") as f, open(keys, "w", encoding="utf-8") as out:
            out.write(re.sub(r"^checkpoint\.keep\n(\t[^\n]*\n)+", "", f.read(), flags=re.M))
        out = os.path.join(tmp, "steerd.yaml.5")
        p = generate(os.path.join(REPO, "doc", "steerd.yaml.5.in"), out, keys)
        self.assertEqual(p.returncode, 0)
        self.assertIn("checkpoint.keep has no text", p.stderr)
        with open(out, encoding="utf-8") as f:
            self.assertIn(UNDOCUMENTED_MARK, f.read())

    def test_make_install_installs_and_uninstall_removes_the_pages(self):
        tmp = tempfile.mkdtemp(prefix="steerd-install-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # -o: use what is built, never rebuild (BUILD may be the sanitizer build)
        args = ["make", "--no-print-directory", "-C", REPO, "BUILD=" + BUILD_DIR, "PREFIX=/usr",
                "DESTDIR=" + tmp, "-o", "build", "-o", "man"]
        p = subprocess.run(args + ["install"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        for name in PAGES:
            installed = os.path.join(tmp, "usr/share/man/man" + name[-1], name)
            self.assertTrue(os.path.isfile(installed), installed)
        for doc in ("PROTOCOL.md", "protocol.schema.json"):
            self.assertTrue(os.path.isfile(os.path.join(tmp, "usr/share/doc/steerd", doc)))
        p = subprocess.run(args + ["uninstall"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        left = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs]
        self.assertEqual(left, [])


if __name__ == "__main__":
    run_tests(TestManPages)
