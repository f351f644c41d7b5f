# SPDX-License-Identifier: MIT
"""bash completion for steerd and steer-console (configs/bash-completion/),
run in a real bash with Debian's bash-completion, against the built programs."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import BIN, REPO, run_tests  # noqa: E402

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
SCRIPTS = os.path.join(REPO, "configs", "bash-completion")


@unittest.skipUnless(os.path.exists(BASH_COMPLETION), "bash-completion is not installed")
class TestCompletion(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="steerd-complete-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for f in ("diode.yaml", "other.yml", "notes.txt", "ckpt.h5", "run.json"):
            open(os.path.join(self.dir, f), "w").close()
        os.mkdir(os.path.join(self.dir, "ckpt"))

    def complete(self, prog, *words):
        """The candidates bash offers after PROG WORDS... (the last word is the
        one being completed; '' for a new word)."""
        line = " ".join((prog,) + words)
        script = (
            'source %s; source %s/%s\n'
            'COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; COMP_POINT=${#COMP_LINE}\n'
            '%s %s %s %s\n'
            'printf "%%s\\n" "${COMPREPLY[@]}"\n'
        ) % (BASH_COMPLETION, SCRIPTS, prog,
             " ".join(_q(w) for w in (prog,) + words), len(words), _q(line),
             "_steerd" if prog == "steerd" else "_steer_console", prog, _q(words[-1]),
             _q(words[-2] if len(words) > 1 else prog))
        env = dict(os.environ, PATH=os.path.dirname(BIN) + os.pathsep + os.environ["PATH"])
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=self.dir, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return sorted(x for x in p.stdout.splitlines() if x)

    def test_steerd_options_come_from_its_help(self):
        got = self.complete("steerd", "--")
        for opt in ("--config", "--connection-file", "--restart", "--log-level", "--check",
                    "--help", "--version"):
            self.assertIn(opt, got)
        self.assertEqual(self.complete("steerd", "--lo"), ["--log-level"])

    def test_steerd_arguments(self):
        self.assertEqual(self.complete("steerd", "-c", ""), ["ckpt", "diode.yaml", "other.yml"])
        self.assertEqual(self.complete("steerd", "--restart", ""), ["ckpt", "ckpt.h5"])
        self.assertEqual(self.complete("steerd", "--log-level", "d"), ["debug"])
        self.assertEqual(self.complete("steerd", "k"), ["keygen"])
        self.assertEqual(self.complete("steerd", "keygen", "alice", "--"), ["--dir"])

    def test_console_options_and_arguments(self):
        got = self.complete("steer-console", "--")
        for opt in ("--connection-file", "--json", "--execute", "--file", "--key", "--version"):
            self.assertIn(opt, got)
        self.assertEqual(self.complete("steer-console", "-C", ""), ["ckpt", "run.json"])
        self.assertEqual(self.complete("steer-console", "tc"), ["tcp://"])


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    run_tests(TestCompletion)
