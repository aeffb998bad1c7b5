"""`d2lkit predict` on a regression run: predicted against true targets, drawn headless."""

from __future__ import annotations

from pathlib import Path

import torch

from d2lkit.report.figures import save_figure, subplots


def save_regression_scatter(
    true: torch.Tensor, predicted: torch.Tensor, title: str, out: str | Path
) -> Path:
    """One point per example (true (N,), predicted (N,)); the dashed diagonal is a perfect fit."""
    true, predicted = (
        true.detach().float().cpu().flatten(),
        predicted.detach().float().cpu().flatten(),
    )
    low = float(torch.minimum(true.min(), predicted.min()))
    high = float(torch.maximum(true.max(), predicted.max()))
    fig, ax = subplots(figsize=(4.5, 4.5))
    ax.plot([low, high], [low, high], "k--", linewidth=1, label="perfect fit")
    ax.scatter(true.numpy(), predicted.numpy(), s=8, alpha=0.6, label="test examples")
    ax.set_xlabel("true target")
    ax.set_ylabel("predicted")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, out)
