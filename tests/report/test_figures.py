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


def test_characters_are_undrawable_only_when_no_font_of_the_family_list_has_them():
    """matplotlib falls back along font.family: a glyph the first font lacks may be drawn."""
    import matplotlib

    from d2lkit.report.figures import subplots, undrawable_characters

    fonts = {"font.family": ["cmr10", "DejaVu Sans"], "axes.formatter.use_mathtext": True}
    with matplotlib.rc_context(fonts):
        fig, ax = subplots()
        ax.set_title("café → ü 热狗")
        assert undrawable_characters(fig) == ["热", "狗"]  # DejaVu Sans draws the rest
