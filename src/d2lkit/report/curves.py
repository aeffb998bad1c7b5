"""Training curves per epoch (the book's Animator: train loss, train acc, test acc)."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.figures import epoch_locator, save_figure, subplots


def plot_curves(history: list[dict], out: str | Path, title: str = "") -> Path:
    epochs = [row["epoch"] for row in history]
    fig, ax = subplots(figsize=(5, 3.5))
    ax.plot(epochs, [row["train_loss"] for row in history], "-o", ms=4, label="train loss")
    segmentation = bool(history) and history[0].get("test_miou") is not None
    if history and history[0].get("train_acc") is not None:
        # Segmentation's accuracy is per pixel: said so, as it is not the images'.
        acc = "pixel acc" if segmentation else "acc"
        ax.plot(epochs, [row["train_acc"] for row in history], "--s", ms=4, label=f"train {acc}")
        ax.plot(epochs, [row["test_acc"] for row in history], "-.^", ms=4, label=f"test {acc}")
        ax.set_ylabel("loss; accuracy")
    else:  # regression: a squared error falls over decades
        if history and history[0].get("test_loss") is not None:  # no test set: linreg scratch
            ax.plot(epochs, [row["test_loss"] for row in history], "-.^", ms=4, label="test loss")
        ax.set_yscale("log")
        ax.set_ylabel("loss (log scale)")
    if segmentation:
        ax.plot(epochs, [row["test_miou"] for row in history], ":d", ms=4, label="test mIoU")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(epoch_locator())
    # One epoch is one point: an axis around it alone, not one reaching to an empty epoch 2.
    if epochs:
        ax.set_xlim(0.8, epochs[-1] + 0.2)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=10)
    return save_figure(fig, out)
