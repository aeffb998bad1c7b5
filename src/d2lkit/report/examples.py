"""The test examples a `d2lkit predict` figure shows, and their images as the eye saw them."""

from __future__ import annotations

import copy

import torch

from d2lkit.data.datasets import DataBundle, random_indices


def examples_to_show(
    data: DataBundle, count: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """`count` test inputs (N, C, H, W), their targets and their places in the test set, drawn
    at random from the whole test set and fixed by `seed`: an image folder lists one class after
    another, so its first batch would show one class only, and a fixed first batch would show
    the same few images however often one asks."""
    dataset = getattr(data.test, "dataset", None)  # a DataLoader's (image folders, VOC)
    if dataset is not None:
        indices = random_indices(len(dataset), count, seed)
        pairs = [dataset[i] for i in indices]  # decodes these only
        return (
            torch.stack([x for x, _ in pairs]),
            torch.stack([torch.as_tensor(y) for _, y in pairs]),
            indices,
        )
    # An in-memory loader (Fashion-MNIST, its scenes, synthetic data): a copy of it over the
    # drawn examples only, so that they come out exactly as in testing (resized, normalised).
    loader = data.test
    indices = random_indices(len(loader.images), count, seed)
    index = torch.tensor(indices, device=loader.images.device)
    drawn = copy.copy(loader)
    drawn.images = loader.images.index_select(0, index)
    drawn.targets = loader.targets.index_select(0, index)
    batches = list(drawn)
    return torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches]), indices


def to_display(images: torch.Tensor, data: DataBundle) -> torch.Tensor:
    """Model inputs (B, C, H, W) -> [0, 1], the dataset's normalisation undone. (Stretching each
    image to its own range instead shows a gray photo in false colour.)"""
    images = images.float().cpu()
    if data.normalization is not None:
        mean, std = (torch.tensor(v).reshape(-1, 1, 1) for v in data.normalization)
        images = images * std + mean
    return images.clamp(0, 1)
