"""Every PNG d2lkit draws is written the same way: headless, its folder made, the figure closed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from d2lkit.errors import D2lkitError  # noqa: E402


def save_figure(fig: Figure, out: str | Path) -> Path:
    """Write `fig` to `out` at 100 dpi and close it (figures left open pile up memory); returns
    the file written: `out` given without a suffix gets .png, as savefig would add it."""
    out = Path(out)
    try:
        if out.is_dir():
            raise D2lkitError(f"{out}: a folder; pass a file name such as {out / 'figure.png'}")
        if not out.suffix:
            out = out.with_name(out.name + ".png")
        if out.suffix[1:].lower() not in fig.canvas.get_supported_filetypes():
            raise D2lkitError(
                f"{out}: cannot draw a {out.suffix} file; name it .png (or .pdf, .svg)"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return out
