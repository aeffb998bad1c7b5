"""Image augmentation, two ways.

1. The book's torchvision pipelines, by name (`pipeline("flip-lr")`): one PIL image or tensor at a
   time, for ImageFolder data and for `d2lkit augment`.
2. Batched tensor augmentations for the fast loader (`crop_flip`): a whole (B, C, H, W) batch in a
   few tensor ops, with every random number drawn from the loader's CPU generator, so the same
   seed gives the same images on any device.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from d2lkit.errors import D2lkitError

# The book's settings (d2l "Image Augmentation"): crops of 10-100 % of the area, aspect 1:2-2:1,
# resized to 200x200; colour changes of up to 50 % (hue: up to half of the colour wheel).
CROP_SIZE = (200, 200)


_resized_crop = partial(v2.RandomResizedCrop, CROP_SIZE, scale=(0.1, 1), ratio=(0.5, 2))
_color = partial(v2.ColorJitter, brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)

# name -> a function making a fresh transform (each holds no state, but a fresh one is cheap).
PIPELINES: dict[str, Callable[[], v2.Transform]] = {
    "flip-lr": v2.RandomHorizontalFlip,
    "flip-ud": v2.RandomVerticalFlip,
    "resized-crop": _resized_crop,
    "brightness": partial(v2.ColorJitter, brightness=0.5),
    "contrast": partial(v2.ColorJitter, contrast=0.5),
    "saturation": partial(v2.ColorJitter, saturation=0.5),
    "hue": partial(v2.ColorJitter, hue=0.5),
    "color": _color,
    # The book's composition: flip, then colour, then crop.
    "combined": lambda: v2.Compose([v2.RandomHorizontalFlip(), _color(), _resized_crop()]),
}


# Methods that change only the colour: a gray image (R = G = B) has no saturation and no hue, so
# they return it unchanged, and a grid of them would look as if they did nothing at all.
COLOUR_ONLY = ("saturation", "hue")


def is_gray(image: torch.Tensor) -> bool:
    """Whether uint8 (C, H, W) has one channel or three equal ones."""
    return bool((image == image[:1]).all())


def pipeline(name: str) -> v2.Transform:
    """A fresh instance of one of the book's augmentations (see `PIPELINES`)."""
    if name not in PIPELINES:
        raise D2lkitError(f"unknown augmentation {name!r}; known: {', '.join(PIPELINES)}")
    return PIPELINES[name]()


def apply_seeded(transform: v2.Transform, image: torch.Tensor, count: int, seed: int) -> list:
    """`count` augmented copies of `image` (uint8 (C, H, W)); the same seed gives the same copies.

    torchvision's transforms draw from torch's global generator, so it is forked and seeded here
    and the caller's random state is left untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return [transform(image) for _ in range(count)]


# -- batched, for the fast loader --------------------------------------------------------------


def crop_flip(
    x: torch.Tensor, generator: torch.Generator, padding: int | None = None
) -> torch.Tensor:
    """Random crop after zero padding, then a random horizontal flip, for a whole batch.

    x: float (B, C, H, W), on any device. `padding` defaults to 2 pixels for images under 32
    pixels (Fashion-MNIST's 28) and 4 above (the CIFAR convention). Offsets and flips are drawn
    on the CPU from `generator`, so a seed fixes the result whatever device x lives on.
    """
    batch, _, height, width = x.shape
    if padding is None:
        padding = 2 if min(height, width) < 32 else 4
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator)
    flips = torch.rand(batch, generator=generator) < 0.5
    offsets, flips = offsets.to(x.device), flips.to(x.device)
    padded = F.pad(x, (padding, padding, padding, padding))  # (B, C, H + 2p, W + 2p)
    rows = offsets[0, :, None] + torch.arange(height, device=x.device)  # (B, H)
    cols = offsets[1, :, None] + torch.arange(width, device=x.device)  # (B, W)
    # A flipped crop reads its columns right to left.
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    channels, padded_width = x.shape[1], padded.shape[-1]
    # Two gathers, rows then columns (faster than one advanced-indexing gather on the CPU).
    picked_rows = padded.gather(2, rows[:, None, :, None].expand(-1, channels, -1, padded_width))
    return picked_rows.gather(3, cols[:, None, None, :].expand(-1, channels, height, -1))
