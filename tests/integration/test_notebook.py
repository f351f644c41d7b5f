# SPDX-License-Identifier: MIT
"""examples/notebook.ipynb, executed against a real steerd by nbclient with
a real ipykernel (Debian's python3-nbclient and python3-ipykernel): every
cell runs without error and the notebook produces its figures (history,
phase space).

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_notebook.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import REPO, DaemonTestCase, FAST_KNOBS, run_tests  # noqa: E402

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

NOTEBOOK = os.path.join(REPO, "examples", "notebook.ipynb")
CELL_TIMEOUT = 300  # s, per cell: an ASan build on a loaded 2-core machine


class TestNotebook(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_runs_and_draws_its_figures(self):
        with open(NOTEBOOK) as f:
            nb = nbformat.read(f, as_version=4)
        # The kernel imports the tree's package and attaches to this daemon.
        env = {"STEERD_CONNECTION": self.d.conn_path, "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               "PYTHONPATH": os.pathsep.join([os.path.join(REPO, "console", "python")] +
                                             [p for p in [os.environ.get("PYTHONPATH")] if p])}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": os.path.join(REPO, "examples")}})
            client.execute()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        self.assertGreaterEqual(len(images), 2, "the history and phase-space figures")
        out = os.environ.get("STEERD_NOTEBOOK_FIGURES")  # a directory: keep them to look at
        if out:
            import base64
            for i, o in enumerate(images):
                with open(os.path.join(out, "figure%d.png" % i), "wb") as f:
                    f.write(base64.b64decode(o["data"]["image/png"]))
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        self.assertEqual(errors, [])
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []))
        self.assertIn("attached to pic1d", text)
        self.assertIn("'value': 4000.0", text)  # the ramp up finished there


if __name__ == "__main__":
    run_tests(TestNotebook)
