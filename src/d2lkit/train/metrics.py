"""Running metrics over an epoch, accumulated on the device (no host sync until `compute`).

Each batch contributes its *mean* loss weighted by its size, so a short last batch counts for
what it holds and the epoch's loss is the true mean over its samples. A meter's tensors and its
`count` are sums over batches, so data-parallel ranks can add theirs up
(distributed.SummedAcrossRanks).
"""

from __future__ import annotations

from typing import Protocol

import torch

from d2lkit.train.distributed import summed_across_ranks
from d2lkit.train.segmentation import SegmentationMeter, confusion_matrix


class Meter(Protocol):
    """What the trainer needs of a task's meter: its tensors and `count` are sums over batches
    (what SummedAcrossRanks adds up across ranks)."""

    count: int

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None: ...
    def compute(self) -> dict[str, float | None]: ...


class ClassificationMeter:
    def __init__(self, device: torch.device) -> None:
        self.loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.count = 0

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """loss: batch mean; outputs (B, classes); targets (B,)."""
        n = targets.shape[0]
        self.loss_sum += loss.detach().double() * n
        self.correct += (outputs.argmax(dim=1) == targets).sum()
        self.count += n

    def compute(self) -> dict[str, float]:
        count = max(self.count, 1)
        return {"loss": self.loss_sum.item() / count, "acc": self.correct.item() / count}


class ClassConfusionMeter(ClassificationMeter):
    """Also counts (true, predicted) pairs, `confusion[t, p]`: eval's accuracy per class and its
    confusion matrix, from the same pass over the test set."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        super().__init__(device)
        self.confusion = torch.zeros((num_classes, num_classes), dtype=torch.long, device=device)

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        super().update(loss, outputs, targets)
        self.confusion += confusion_matrix(outputs.argmax(dim=1), targets, len(self.confusion))


class RegressionMeter:
    """Loss only: accuracy means nothing for regression, so it is reported as None."""

    def __init__(self, device: torch.device) -> None:
        self.loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        self.count = 0

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        n = targets.shape[0]
        self.loss_sum += loss.detach().double() * n
        self.count += n

    def compute(self) -> dict[str, float | None]:
        return {"loss": self.loss_sum.item() / max(self.count, 1), "acc": None}


def make_meter(task: str, num_classes: int, device: torch.device) -> Meter:
    """The task's meter; under data-parallel training its sums are added up across ranks."""
    return summed_across_ranks(task_meter(task, num_classes, device))


def task_meter(task: str, num_classes: int, device: torch.device) -> Meter:
    if task == "regression":
        return RegressionMeter(device)
    if task == "segmentation":
        return SegmentationMeter(num_classes, device)
    return ClassificationMeter(device)
