"""The optimiser comparison's figure: train loss and test accuracy per epoch, one line per
optimiser."""

from __future__ import annotations

from pathlib import Path

from d2lkit.report.figures import epoch_locator, save_figure, subplots


def plot_optimizers(histories: dict[str, list[dict]], out: Path) -> None:
    """`histories` maps an optimiser's name to its metrics rows."""
    fig, (loss_ax, acc_ax) = subplots(1, 2, figsize=(9, 3.4))
    for name, history in histories.items():
        epochs = [row["epoch"] for row in history]
        loss_ax.plot(epochs, [row["train_loss"] for row in history], "-o", ms=3, label=name)
        acc_ax.plot(epochs, [row["test_acc"] for row in history], "-o", ms=3, label=name)
    loss_ax.set_ylabel("train loss")
    acc_ax.set_ylabel("test accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(epoch_locator())
        ax.grid(alpha=0.3)
    acc_ax.legend(fontsize=8)
    save_figure(fig, out)
