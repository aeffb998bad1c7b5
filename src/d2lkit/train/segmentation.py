"""Per-pixel metrics for semantic segmentation, from one confusion matrix per epoch.

The matrix `confusion[t, p]` counts pixels of true class t predicted as p. From it:
pixel accuracy = trace / total, and per class IoU = TP / (TP + FP + FN) = diagonal / (row sum +
column sum - diagonal); mIoU averages the IoU over the classes that occur (in the labels or the
predictions), like the usual VOC evaluation. Pixels labelled `IGNORE_INDEX` (VOC's object
borders) count nowhere. Everything stays on the device until `compute`.
"""

from __future__ import annotations

import torch

from d2lkit.data.datasets import IGNORE_INDEX


def confusion_matrix(
    predicted: torch.Tensor, targets: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """(K, K) int64 counts of (true, predicted) pairs; labels equal to IGNORE_INDEX are skipped."""
    targets = targets.flatten().long()
    predicted = predicted.flatten().long()
    # One bin per (true, predicted) pair, and one last bin, dropped, for the ignored pixels: a
    # boolean-mask selection would wait for the GPU to count them (and is 3.5x slower on a CPU).
    bins = num_classes * num_classes
    pairs = torch.where(targets != IGNORE_INDEX, targets * num_classes + predicted, bins)
    counts = torch.bincount(pairs, minlength=bins + 1)[:bins]
    return counts.reshape(num_classes, num_classes)


def scores_from_confusion(confusion: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy, mIoU and the per-class IoU (NaN for a class that never occurs)."""
    confusion = confusion.double()
    true_positive = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    iou = true_positive / union  # NaN where union is 0: the class is absent
    present = union > 0
    total = confusion.sum()
    return {
        "pixel_acc": (true_positive.sum() / total).item() if total > 0 else 0.0,
        "miou": iou[present].mean().item() if present.any() else 0.0,
        "iou": iou.tolist(),
    }


class SegmentationMeter:
    """Mean loss per labelled pixel, pixel accuracy and mIoU over an epoch."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.num_classes = num_classes
        self.loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        self.confusion = torch.zeros(num_classes, num_classes, device=device, dtype=torch.long)
        self.count = 0  # images

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """loss: the batch's mean over its labelled pixels; outputs (B, K, H, W) scores; targets
        (B, H, W) class indices. Each batch's mean counts by its labelled pixels: by its images,
        batches with many ignored borders weighed more than their pixels."""
        batch = confusion_matrix(outputs.argmax(dim=1), targets, self.num_classes)
        # The labelled pixels: an ignored one falls in no bin of the confusion matrix.
        self.loss_sum += loss.detach().double() * batch.sum()
        self.confusion += batch
        self.count += targets.shape[0]

    def compute(self) -> dict[str, float]:
        scores = scores_from_confusion(self.confusion)
        return {
            "loss": self.loss_sum.item() / max(self.confusion.sum().item(), 1),
            "acc": scores["pixel_acc"],  # "acc" is what tables and curves show for every task
            "miou": scores["miou"],
            "pixel_acc": scores["pixel_acc"],
        }
