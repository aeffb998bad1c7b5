"""Drawing leaves the user's matplotlib alone: a notebook's backend, pyplot's figures and the
warnings filters are the same after d2lkit wrote a PNG as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_figure_cut_off_mid_write_leaves_the_previous_one(tmp_path, monkeypatch):
    """curves.png is drawn anew after every epoch: a run killed while writing it must not leave
    a truncated PNG behind."""
    from matplotlib.figure import Figure

    from d2lkit.report.curves import plot_curves

    out = tmp_path / "curves.png"
    rows = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_acc": 0.4}]
    plot_curves(rows, out)
    before = out.read_bytes()

    def killed(self, fname, **kwargs):
        Path(fname).write_bytes(before[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", killed)
    with pytest.raises(KeyboardInterrupt):
        plot_curves([*rows, {**rows[0], "epoch": 2}], out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_characters_are_undrawable_only_when_no_font_of_the_family_list_has_them():
    """matplotlib falls back along font.family: a glyph the first font lacks may be drawn."""
    import matplotlib

    from d2lkit.report.figures import subplots, undrawable_characters

    fonts = {"font.family": ["cmr10", "DejaVu Sans"], "axes.formatter.use_mathtext": True}
    with matplotlib.rc_context(fonts):
        fig, ax = subplots()
        ax.set_title("café → ü 热狗")
        assert undrawable_characters(fig) == ["热", "狗"]  # DejaVu Sans draws the rest


def test_a_grids_heading_is_wrapped_to_the_grids_width(tmp_path, saved_figures):
    """One line ran past both edges of a four-column grid (6.4 inches)."""
    import torch

    from d2lkit.report.grids import save_image_grid

    heading = "Fashion-MNIST test image 0 (ankle boot): the original, then augmented copies, " * 2
    save_image_grid(torch.rand(4, 8, 8), ["a"] * 4, tmp_path / "g.png", ncols=4, heading=heading)
    figure = saved_figures[0]
    drawn = figure._suptitle.get_text()
    assert " ".join(drawn.split()) == " ".join(heading.split())  # every word kept
    width_chars = figure.get_figwidth() * 14  # 9-point characters per inch, about
    assert len(drawn.splitlines()) > 1 and max(map(len, drawn.splitlines())) <= width_chars


def test_each_format_is_drawn_again_over_its_own_older_figure(tmp_path):
    """A command run twice draws over its figure: the check for other data in the way must know
    every format's first bytes (an EPS or a TIFF refused as "no figure" would break reruns)."""
    from d2lkit.report.figures import SIGNATURES, drawable_formats, save_figure, subplots

    formats = sorted(set(SIGNATURES) & drawable_formats())
    assert {"png", "pdf", "svg", "jpg", "tiff", "eps"} <= set(formats)
    for fmt in formats:
        for _ in range(2):
            fig, axes = subplots()
            axes.plot([0, 1], [1, 0])
            assert save_figure(fig, tmp_path / f"figure.{fmt}") == tmp_path / f"figure.{fmt}"


@pytest.mark.parametrize("through_a_link", [False, True], ids=["file", "link"])
def test_a_file_of_other_data_where_the_figure_goes_is_refused_and_kept(tmp_path, through_a_link):
    """`fit polynomial --out keep.png` replaced a text named keep.png with the figure, and a
    link lnk.png to notes.txt replaced notes.txt."""
    from d2lkit.errors import D2lkitError
    from d2lkit.report.figures import figure_path, save_figure, subplots

    notes = tmp_path / ("notes.txt" if through_a_link else "keep.png")
    notes.write_text("my thesis\n")
    out = tmp_path / "lnk.png" if through_a_link else notes
    if through_a_link:
        out.symlink_to(notes)
    with pytest.raises(D2lkitError, match="already exists and is no .png figure"):
        figure_path(out)
    fig, _ = subplots()
    with pytest.raises(D2lkitError):
        save_figure(fig, out)
    assert notes.read_text() == "my thesis\n"
    (tmp_path / "empty.png").touch()  # nothing to lose
    assert figure_path(tmp_path / "empty.png") == tmp_path / "empty.png"


@pytest.mark.parametrize(
    "start",
    [b"\xef\xbb\xbf<?xml version='1.0'?>", b"\n  <svg xmlns=", b"<!DOCTYPE svg PUBLIC", b""],
    ids=["bom", "spaces", "doctype", "empty"],
)
def test_an_svg_saved_by_hand_or_an_empty_file_is_drawn_over(start, tmp_path):
    from d2lkit.report.figures import figure_path

    (tmp_path / "figure.svg").write_bytes(start + b"...")
    if not start:
        (tmp_path / "figure.svg").write_bytes(b"")
    assert figure_path(tmp_path / "figure.svg") == tmp_path / "figure.svg"


def test_a_file_that_cannot_be_read_is_not_drawn_over(tmp_path, monkeypatch):
    """The rename over it needs no read permission: an unreadable keep.png was replaced (tests
    may run as root, so the refusal to read is simulated)."""
    from d2lkit.errors import D2lkitError
    from d2lkit.report.figures import figure_path

    keep = tmp_path / "keep.png"
    keep.write_text("my thesis\n")
    real_open = Path.open

    def unreadable(self, *args, **kwargs):
        if self == keep:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", unreadable)
    with pytest.raises(D2lkitError, match="keep.png: already exists and cannot be read"
        r" \(Permission denied\), so whether it is an older figure is unknown"):  # fmt: skip
        figure_path(keep)
