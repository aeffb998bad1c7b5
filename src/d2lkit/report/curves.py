"""Training curves per epoch (the book's Animator: train loss, train acc, test acc)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.ticker import MaxNLocator

from d2lkit.report.figures import save_figure, subplots


def plot_curves(history: list[dict], out: str | Path, title: str = "") -> Path:
    epochs = [row["epoch"] for row in history]
    fig, ax = subplots(figsize=(5, 3.5))
    ax.plot(epochs, [row["train_loss"] for row in history], "-o", ms=3, label="train loss")
    if history and history[0].get("train_acc") is not None:
        ax.plot(epochs, [row["train_acc"] for row in history], "--s", ms=3, label="train acc")
        ax.plot(epochs, [row["test_acc"] for row in history], "-.^", ms=3, label="test acc")
    else:
        ax.plot(epochs, [row["test_loss"] for row in history], "-.^", ms=3, label="test loss")
        ax.set_yscale("log")
    if history and history[0].get("test_miou") is not None:  # segmentation
        ax.plot(epochs, [row["test_miou"] for row in history], ":d", ms=3, label="test miou")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.8, max(epochs[-1], 2) + 0.2)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=10)
    return save_figure(fig, out)
