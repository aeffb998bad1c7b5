"""`fashion-scenes`: a segmentation dataset composed from Fashion-MNIST, made on the spot.

Each scene is a 64x64 gray canvas split into four 32x32 cells; 2 to 4 of the cells hold one
Fashion-MNIST item (28x28, shifted by 0-4 pixels inside its cell), so items never overlap. The
label map says, per pixel, background (0) or the item's class + 1 (1..10) wherever the item's
pixel is brighter than `FOREGROUND_THRESHOLD`. Training scenes draw items from the training
images with the run's seed; the test set draws from the test images with one fixed seed, so every
run is scored on the same scenes. Scenes are uint8 tensors, generated once per (seed, count) in a
process, and batched by the fast loader.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from d2lkit.data import fashion_mnist
from d2lkit.data.datasets import DataBundle, DataOptions, check_subset, register_dataset
from d2lkit.data.loader import TensorLoader
from d2lkit.data.sharding import evaluation_slice
from d2lkit.errors import D2lkitError

CANVAS = 64
CELL = 32  # the canvas is 2x2 cells
ITEM = 28
FOREGROUND_THRESHOLD = 16  # uint8 pixel value above which an item pixel is labelled as the item
TRAIN_SCENES = 20000
TEST_SCENES = 2000
TEST_SEED = 2024  # fixed: every run is evaluated on the same test scenes


def compose_scenes(
    images: torch.Tensor, labels: torch.Tensor, count: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` scenes from items `images` (N, 28, 28) uint8 with `labels` (N,).

    Returns canvases (count, 64, 64) uint8 and label maps (count, 64, 64) uint8 in 0..10.
    """
    generator = torch.Generator().manual_seed(seed)
    cells = (CANVAS // CELL) ** 2
    items_per_scene = torch.randint(2, cells + 1, (count,), generator=generator)
    # A random order of the cells per scene; the first `items_per_scene` of them are filled.
    cell_rank = torch.rand(count, cells, generator=generator).argsort(dim=1).argsort(dim=1)
    occupied = cell_rank < items_per_scene[:, None]  # (count, cells)
    chosen = torch.randint(0, images.shape[0], (count, cells), generator=generator)
    shifts = torch.randint(0, CELL - ITEM + 1, (count, cells, 2), generator=generator)

    canvas = torch.zeros(count, CANVAS, CANVAS, dtype=torch.uint8)
    label_map = torch.zeros(count, CANVAS, CANVAS, dtype=torch.uint8)
    steps = torch.arange(ITEM)
    for cell in range(cells):
        scenes = occupied[:, cell].nonzero().flatten()  # (S,) scenes with an item in this cell
        items = images[chosen[scenes, cell]]  # (S, 28, 28)
        classes = labels[chosen[scenes, cell]].to(torch.uint8) + 1  # (S,)
        top = (cell // 2) * CELL + shifts[scenes, cell, 0]  # (S,)
        left = (cell % 2) * CELL + shifts[scenes, cell, 1]
        rows = (top[:, None] + steps)[:, :, None]  # (S, 28, 1)
        cols = (left[:, None] + steps)[:, None, :]  # (S, 1, 28)
        where = (scenes[:, None, None], rows, cols)
        canvas[where] = items
        foreground = items > FOREGROUND_THRESHOLD
        label_map[where] = torch.where(foreground, classes[:, None, None], 0).to(torch.uint8)
    return canvas, label_map


@functools.lru_cache(maxsize=4)
def cached_scenes(
    data_dir: str | None, split: str, count: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, Path]:
    """Scenes are made once per (split, count, seed) in a process and shared by its runs; with
    the folder of the Fashion-MNIST copy they were made from."""
    data = fashion_mnist.load(data_dir)
    part = getattr(data, split)
    return (*compose_scenes(part.images, part.labels, count, seed), data.root)


class LabelMapLoader(TensorLoader):
    """The fast loader over scenes: label maps are kept as uint8 (8x smaller) and handed out as
    int64 (B, H, W), the type cross-entropy wants."""

    def __iter__(self):
        for images, targets in super().__iter__():
            yield images, targets.long()


def class_names() -> list[str]:
    return ["background", *fashion_mnist.FASHION_MNIST.classes]


# resize and augment: checked below, where the reason can be given.
@register_dataset(
    "fashion-scenes", applies=("data_dir", "resize", "augment", "train_subset", "world_size")
)
def fashion_scenes_dataset(argument: str | None, options: DataOptions) -> DataBundle:
    """`fashion-scenes` (20000 training scenes) or `fashion-scenes:N` (N training scenes)."""
    if options.augment:
        raise D2lkitError(
            "--augment crops and flips images only, which would break fashion-scenes' per-pixel"
            " labels; train without it"
        )
    if options.resize not in (None, CANVAS):
        raise D2lkitError(f"fashion-scenes are {CANVAS}x{CANVAS}; drop --resize {options.resize}")
    count = TRAIN_SCENES
    if argument is not None:
        if not argument.isdigit() or int(argument) < 1:
            raise D2lkitError(
                f"fashion-scenes:{argument}: give the number of training scenes, e.g."
                " fashion-scenes:5000"
            )
        count = int(argument)
    check_subset("--train-subset", options.train_subset, count, "training scenes")
    if options.train_subset is not None:
        count = options.train_subset
    train_x, train_y, source = cached_scenes(options.data_dir, "train", count, options.seed)
    test_x, test_y, _ = cached_scenes(options.data_dir, "test", TEST_SCENES, TEST_SEED)
    train = LabelMapLoader(
        train_x, train_y, options.batch_size, shuffle=True, seed=options.seed,
        device=options.device, rank=options.rank, world_size=options.world_size,
    )  # fmt: skip
    part = evaluation_slice(len(test_x), options.rank, options.world_size)  # each rank a share
    test = LabelMapLoader(test_x[part], test_y[part], 4 * options.batch_size, device=options.device)
    names = class_names()
    return DataBundle(
        train, test, num_classes=len(names), in_channels=1, class_names=names,
        task="segmentation", extra={"data_source": str(source.resolve())},
    )  # fmt: skip
