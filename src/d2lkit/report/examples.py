"""The test examples a `d2lkit predict` figure shows, and their images as the eye saw them."""

from __future__ import annotations

import torch

from d2lkit.data.datasets import DataBundle, random_indices


def examples_to_show(
    data: DataBundle, count: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` test inputs (N, C, H, W) and their targets, drawn at random from the whole test
    set when it allows random access: an image folder lists one class after another, so its
    first batch would show one class only."""
    dataset = getattr(data.test, "dataset", None)  # a DataLoader's (image folders, VOC)
    if dataset is not None:
        pairs = [dataset[i] for i in random_indices(len(dataset), count, seed)]  # decodes these
        return (
            torch.stack([x for x, _ in pairs]),
            torch.stack([torch.as_tensor(y) for _, y in pairs]),
        )
    # In-memory test sets (Fashion-MNIST, its scenes) are stored in mixed order already.
    inputs, targets, taken = [], [], 0
    for x, y in data.test:
        inputs.append(x)
        targets.append(y)
        taken += len(y)
        if taken >= count:
            break
    return torch.cat(inputs)[:count], torch.cat(targets)[:count]


def to_display(images: torch.Tensor, data: DataBundle) -> torch.Tensor:
    """Model inputs (B, C, H, W) -> [0, 1], the dataset's normalisation undone. (Stretching each
    image to its own range instead shows a gray photo in false colour.)"""
    images = images.float().cpu()
    if data.normalization is not None:
        mean, std = (torch.tensor(v).reshape(-1, 1, 1) for v in data.normalization)
        images = images * std + mean
    return images.clamp(0, 1)
