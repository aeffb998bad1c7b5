"""Drawing leaves the user's matplotlib alone: a notebook's backend, pyplot's figures and the
warnings filters are the same after d2lkit wrote a PNG as before."""

from __future__ import annotations

import subprocess
import sys

NOTEBOOK = """
import matplotlib
matplotlib.use("pdf")  # stands in for a notebook's inline backend
import warnings
filters = list(warnings.filters)
from d2lkit.report.curves import plot_curves
plot_curves([{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_acc": 0.4}], OUT)
import matplotlib.pyplot as plt
print(matplotlib.get_backend(), plt.get_fignums(), warnings.filters == filters)
"""


def test_drawing_keeps_the_backend_pyplot_and_the_warnings_filters(tmp_path):
    out = tmp_path / "curves.png"
    code = NOTEBOOK.replace("OUT", repr(str(out)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pdf", "[]", "True"]
    assert out.read_bytes()[:4] == b"\x89PNG"
