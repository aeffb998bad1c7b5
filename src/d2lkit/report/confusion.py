"""`d2lkit eval`'s per-class view of a classifier: each class's accuracy in words, and the
confusion matrix as a figure (which classes are taken for which)."""

from __future__ import annotations

from pathlib import Path

import torch

from d2lkit.report.figures import save_figure, subplots

NAMED_CLASSES = 30  # beyond this many, the matrix's axes carry no names (they would overlap)
LISTED_CLASSES = 20  # beyond this many, the words list the worst classes only


def class_accuracies(confusion: torch.Tensor) -> list[float | None]:
    """Per true class (row), the share predicted right; None for a class with no test images."""
    confusion = confusion.double().cpu()
    totals = confusion.sum(dim=1)
    return [
        (confusion[k, k] / totals[k]).item() if totals[k] > 0 else None
        for k in range(len(confusion))
    ]


def per_class_line(confusion: torch.Tensor, class_names: list[str]) -> str:
    """ "per class, worst first: shirt 0.512, pullover 0.733, ..."; with many classes, the
    LISTED_CLASSES worst."""
    accuracies = class_accuracies(confusion)
    scored = sorted(
        ((acc, name) for acc, name in zip(accuracies, class_names, strict=True) if acc is not None)
    )
    shown = scored[:LISTED_CLASSES]
    what = "per class, worst first"
    if len(shown) < len(scored):
        what = f"the {len(shown)} worst of {len(scored)} classes"
    return f"{what}: " + ", ".join(f"{name} {acc:.3f}" for acc, name in shown)


def save_confusion_figure(
    confusion: torch.Tensor, class_names: list[str], title: str, out: str | Path
) -> Path:
    """Rows: true classes, columns: predicted; each row's share of its class's test images, so
    a rare class reads as well as a common one. The diagonal is what was predicted right."""
    counts = confusion.double().cpu()
    shares = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
    k = len(class_names)
    side = min(max(4.0, 0.45 * k + 2.0), 16.0)
    fig, ax = subplots(figsize=(side + 1.0, side))
    image = ax.imshow(shares.numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if k <= NAMED_CLASSES:
        ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), class_names, fontsize=8)
        if k <= 15:  # room for the shares in the cells
            for t in range(k):
                for p in range(k):
                    share = shares[t, p].item()
                    if share >= 0.005:
                        colour = "white" if share > 0.5 else "black"
                        ax.text(p, t, f"{share:.2f}", ha="center", va="center", fontsize=7,
                                color=colour)  # fmt: skip
    numbered = "" if k <= NAMED_CLASSES else " (number: see `d2lkit eval`'s output)"
    ax.set_xlabel("predicted class" + numbered)
    ax.set_ylabel("true class" + numbered)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, out)
