"""Every PNG d2lkit draws is made and written the same way: laid out, its folder made.

Figures are made without pyplot: they never join (or switch) the backend of a notebook that
imports d2lkit, and need no display."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from d2lkit.atomic import write_atomic
from d2lkit.errors import D2lkitError
from d2lkit.output_file import output_file

# Class names in scripts the default font lacks (Chinese, emoji) make matplotlib warn once per
# character and per layout pass, showing d2lkit's source lines; save_figure says it once instead.
GLYPH_MISSING = r"Glyph \d+ .*missing from font"


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """pyplot.subplots without pyplot: (figure, axes). `figsize` goes to the figure, the rest
    (squeeze, sharex, ...) to Figure.subplots."""
    fig = Figure(figsize=kwargs.pop("figsize", None))
    return fig, fig.subplots(nrows, ncols, **kwargs)


def epoch_locator() -> MaxNLocator:
    """Whole-number ticks for an axis of epochs. MaxNLocator(integer=True) alone wants two ticks
    in view and, on the axis of a 1-epoch run (0.8 to 1.2), fell back to 0.80, 0.84, ... 1.20:
    one tick at epoch 1 is enough."""
    return MaxNLocator(integer=True, min_n_ticks=1)


def save_figure(
    fig: Figure, out: str | Path, layout_rect: tuple[float, float, float, float] | None = None
) -> Path:
    """Lay `fig` out (tightly, within `layout_rect` when given) and write it to `out` at 100 dpi;
    returns the file written (see figure_path)."""
    out = figure_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=GLYPH_MISSING)
        fig.tight_layout(rect=layout_rect)
        # Atomically: curves.png is drawn anew after every epoch, and a run killed mid-write
        # would keep a truncated one. The format is named, as the temporary file's name ends .tmp
        write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=100, format=out.suffix[1:].lower()))
    missing = undrawable_characters(fig)
    if missing:
        print(
            f"d2lkit: note: {out}: the font has no glyph for {' '.join(missing[:8])}; those"
            " characters show as boxes (install a font that has them, e.g. Noto Sans CJK)",
            file=sys.stderr,
        )
    return out


def drawable_formats() -> set[str]:
    """The file formats matplotlib writes on its own; pgf needs a LaTeX installation, and would
    fail after the work the figure shows."""
    return set(FigureCanvasBase.get_supported_filetypes()) - {"pgf"}


# How each format's files begin. A file in the way that begins otherwise is somebody's data (a
# text named .png, a link to notes.txt), not an older figure to draw over.
SIGNATURES = {
    "png": (b"\x89PNG",),
    "pdf": (b"%PDF",),
    "svg": (b"<?xml", b"<svg", b"<!"),  # <!DOCTYPE or a comment first
    "svgz": (b"\x1f\x8b",),
    "eps": (b"%!PS",),
    "ps": (b"%!PS",),
    "jpg": (b"\xff\xd8",),
    "jpeg": (b"\xff\xd8",),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "webp": (b"RIFF",),
}


def not_a_figure(out: Path) -> str | None:
    """Why the file at `out` (where a link leads) must not be drawn over, or None: it is empty,
    or begins as its suffix's format does (after a byte-order mark or spaces, as a hand-saved
    SVG may); raw and rgba files have no signature to tell."""
    signatures = SIGNATURES.get(out.suffix[1:].lower())
    if signatures is None or not out.is_file():
        return None
    try:
        with out.open("rb") as file:
            head = file.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as err:  # the rename over it needs no read permission: ask
        return f"cannot be read ({err.strerror}), so whether it is an older figure is unknown"
    return None if not head or head.startswith(signatures) else f"is no {out.suffix} figure"


def figure_path(out: str | Path) -> Path:
    """The file save_figure writes for `out`: given without a suffix it gets .png, as savefig
    would add it. A folder, a format matplotlib cannot write, or a file of other data is refused,
    so a command can check its --out before the work that the figure shows."""
    out = output_file(out, "figure.png")
    if not out.suffix:
        out = out.with_name(out.name + ".png")
    if out.suffix[1:].lower() not in drawable_formats():
        raise D2lkitError(f"{out}: cannot draw a {out.suffix} file; name it .png (or .pdf, .svg)")
    if why := not_a_figure(out):
        raise D2lkitError(
            f"{out}: already exists and {why}; drawing would replace it: pick another file name"
            " or move it away"
        )
    return out


def undrawable_characters(fig: Figure) -> list[str]:
    """The characters of the figure's texts that no font of their family list has a glyph for
    (matplotlib falls back along that list), in order."""
    from matplotlib.text import Text

    missing: list[str] = []
    for text in fig.findobj(Text):
        glyphs = family_glyphs(text.get_fontproperties())
        for char in text.get_text():
            if not char.isspace() and ord(char) not in glyphs and char not in missing:
                missing.append(char)
    return missing


def family_glyphs(properties: FontProperties) -> set[int]:
    """Code points some font of `properties`' family list can draw."""
    from matplotlib.font_manager import findfont, get_font

    glyphs: set[int] = set()
    for family in properties.get_family():
        one = properties.copy()
        one.set_family(family)
        try:
            glyphs |= set(get_font(findfont(one, fallback_to_default=False)).get_charmap())
        except ValueError:  # a family this machine does not have
            continue
    return glyphs
