"""The book's weight-decay figure: train and test loss per epoch, one panel per penalty."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.figures import save_figure, subplots


def plot_weight_decay(results: dict, out: str | Path) -> Path:
    """`results` maps a panel title (e.g. "lambda 3") to a WeightDecayResult."""
    fig, axes = subplots(
        1, len(results), figsize=(4.5 * len(results), 3.2), sharey=True, squeeze=False
    )
    for ax, (label, result) in zip(axes[0], results.items(), strict=True):
        epochs = range(1, len(result.train_curve) + 1)
        ax.semilogy(epochs, result.train_curve, label="train")
        ax.semilogy(epochs, result.test_curve, "--", label="test")
        ax.set_title(f"{label}: ||w|| = {result.w_norm:.3g}", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0][0].set_ylabel("squared loss")
    return save_figure(fig, out)
