"""summary.png: our result next to the book's, one pair of bars per recipe with an accuracy-like
figure (a value in (0, 1]); error bars show the std over seeds, a dashed line the band's bound."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.figures import save_figure, subplots


def chartable(row: dict) -> bool:
    book = row["book"]["value"]
    return book is not None and 0 < book <= 1 and row["mean"] is not None


def plot_summary(results: dict, out: str | Path) -> Path | None:
    """Write the chart and return its path, or None when no row has an accuracy-like figure."""
    rows = [row for row in results["rows"] if chartable(row)]
    if not rows:
        return None
    positions = range(len(rows))
    width = 0.4
    fig, ax = subplots(figsize=(max(6.0, 0.55 * len(rows) + 2), 4))
    ax.bar(
        [p - width / 2 for p in positions],
        [row["book"]["value"] for row in rows],
        width,
        label="book",
        color="#bbbbbb",
    )
    ours = ax.bar(
        [p + width / 2 for p in positions],
        [row["mean"] for row in rows],
        width,
        yerr=[row["std"] or 0.0 for row in rows],
        label=f"ours ({results['profile']} profile)",
        color="#3b75af",
    )
    for bar, row in zip(ours, rows, strict=True):
        if not row["comparable"]:
            bar.set_hatch("//")
            bar.set_alpha(0.6)
    banded = [
        (position, row["band"]["minimum"]) for position, row in zip(positions, rows, strict=True)
        if row["band"]["minimum"] is not None and row["comparable"]
    ]  # fmt: skip
    for position, minimum in banded:
        ax.hlines(minimum, position - width, position + width, colors="black",
                  linestyles="dashed", linewidth=1)  # fmt: skip
    # From 0: bar heights are read as ratios, and an axis from 0.38 drew nin's 0.48 at a
    # quarter of the book's 0.831.
    ax.set_ylim(0.0, 1.0)
    ax.set_xticks(list(positions), [row["recipe"] for row in rows], rotation=45, ha="right")
    ax.set_ylabel("test accuracy")
    keys = []
    if banded:
        keys.append("dashed: the band's lower bound")
    if any(not row["comparable"] for row in rows):
        keys.append("hatched: not comparable to the book")
    ax.set_xlabel("; ".join(keys))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False)
    return save_figure(fig, out)
