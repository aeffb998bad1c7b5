"""Every PNG d2lkit draws is written the same way: headless, its folder made, the figure closed."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from d2lkit.errors import D2lkitError  # noqa: E402

# Class names in scripts the default font lacks (Chinese, emoji) make matplotlib warn once per
# character and per layout pass, showing d2lkit's source lines; save_figure says it once instead.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")


def save_figure(fig: Figure, out: str | Path) -> Path:
    """Write `fig` to `out` at 100 dpi and close it (figures left open pile up memory); returns
    the file written: `out` given without a suffix gets .png, as savefig would add it."""
    named_folder = str(out).endswith(("/", os.sep))  # `--out plots/`, a folder yet to be made
    out = Path(out)
    try:
        if out.is_dir() or named_folder:
            raise D2lkitError(f"{out}: a folder; pass a file name such as {out / 'figure.png'}")
        if not out.suffix:
            out = out.with_name(out.name + ".png")
        if out.suffix[1:].lower() not in fig.canvas.get_supported_filetypes():
            raise D2lkitError(
                f"{out}: cannot draw a {out.suffix} file; name it .png (or .pdf, .svg)"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
        missing = undrawable_characters(fig)
    finally:
        plt.close(fig)
    if missing:
        print(
            f"d2lkit: note: {out}: the font has no glyph for {' '.join(missing[:8])}; those"
            " characters show as boxes (install a font that has them, e.g. Noto Sans CJK)",
            file=sys.stderr,
        )
    return out


def undrawable_characters(fig: Figure) -> list[str]:
    """The characters of the figure's texts that their font has no glyph for, in order."""
    from matplotlib.font_manager import findfont, get_font
    from matplotlib.text import Text

    missing: list[str] = []
    for text in fig.findobj(Text):
        glyphs = get_font(findfont(text.get_fontproperties())).get_charmap()
        for char in text.get_text():
            if not char.isspace() and ord(char) not in glyphs and char not in missing:
                missing.append(char)
    return missing
