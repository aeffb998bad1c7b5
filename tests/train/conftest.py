"""Trainer-test fixtures: a tiny learnable stand-in for Fashion-MNIST, so most tests take
milliseconds; the tests that need the real data use the session's `fashion` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from d2lkit.data import fashion_mnist
from d2lkit.data.fashion_mnist import FASHION_MNIST, ImageSplit, LoadedIdxDataset

TINY_TRAIN, TINY_TEST = 256, 128


def tiny_split(count: int, seed: int) -> ImageSplit:
    """Noise images with a bright horizontal band whose height encodes the class."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 80, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 4 : 2 * k + 8, :] += 170
    return ImageSplit(images, labels)


@pytest.fixture
def tiny_fashion(monkeypatch: pytest.MonkeyPatch) -> LoadedIdxDataset:
    """`fashion_mnist.load` returns 256 train / 128 test 28x28 images of 10 classes."""
    data = LoadedIdxDataset(
        tiny_split(TINY_TRAIN, 0), tiny_split(TINY_TEST, 1), FASHION_MNIST.classes, Path("tiny")
    )
    monkeypatch.setattr(fashion_mnist, "load", lambda *args, **kwargs: data)
    return data
