"""The book's polynomial-fitting figure: train and test loss per epoch, one panel per fit."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.loss_panels import plot_loss_panels


def plot_polynomial_fits(results: dict, out: str | Path) -> Path:
    """`results` maps a fit's name (e.g. "overfitting") to a PolyFitResult. The losses span
    three orders of magnitude: a log scale, as in the book."""
    panels = {
        f"{name}: {result.fit.num_features} features": (result.train_curve, result.test_curve)
        for name, result in results.items()
    }
    return plot_loss_panels(panels, "mean squared error", out)
