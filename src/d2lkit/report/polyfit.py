"""The book's polynomial-fitting figure: train and test loss per epoch, one panel per fit."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.figures import save_figure, subplots


def plot_polynomial_fits(results: dict, out: str | Path) -> Path:
    """`results` maps a fit's name (e.g. "overfitting") to a PolyFitResult. The losses span
    three orders of magnitude: a log scale, as in the book, shared so the panels compare."""
    fig, axes = subplots(
        1, len(results), figsize=(4.5 * len(results), 3.2), sharey=True, squeeze=False
    )
    for ax, (name, result) in zip(axes[0], results.items(), strict=True):
        epochs = range(1, len(result.train_curve) + 1)
        ax.semilogy(epochs, result.train_curve, label="train")
        ax.semilogy(epochs, result.test_curve, "--", label="test")
        ax.set_title(f"{name}: {result.fit.num_features} features", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0][0].set_ylabel("mean squared error")
    return save_figure(fig, out)
