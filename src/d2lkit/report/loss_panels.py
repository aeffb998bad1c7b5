"""Train and test loss per epoch, one panel per run, on one log scale: the book's figure for
experiments whose losses span orders of magnitude (weight decay, polynomial fitting)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from d2lkit.report.figures import epoch_locator, save_figure, subplots


def plot_loss_panels(
    panels: Mapping[str, tuple[Sequence[float], Sequence[float]]], ylabel: str, out: str | Path
) -> Path:
    """`panels` maps a panel's title to its (train, test) losses per epoch; the y axis is shared
    so the panels compare."""
    fig, axes = subplots(
        1, len(panels), figsize=(4.5 * len(panels), 3.2), sharey=True, squeeze=False
    )
    for ax, (title, (train, test)) in zip(axes[0], panels.items(), strict=True):
        epochs = range(1, len(train) + 1)
        ax.semilogy(epochs, train, label="train")
        ax.semilogy(epochs, test, "--", label="test")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(epoch_locator())  # no epoch 2.5
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0][0].set_ylabel(ylabel)
    return save_figure(fig, out)
