"""The book's weight-decay figure: train and test loss per epoch, one panel per penalty."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.loss_panels import plot_loss_panels


def plot_weight_decay(results: dict, out: str | Path) -> Path:
    """`results` maps a panel title (e.g. "lambda 3") to a WeightDecayResult."""
    panels = {
        f"{label}: ||w|| = {result.w_norm:.3g}": (result.train_curve, result.test_curve)
        for label, result in results.items()
    }
    return plot_loss_panels(panels, "squared loss", out)
