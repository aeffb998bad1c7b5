"""fashion-scenes: composed canvases, their label maps, seeds, and the dataset builder."""

from __future__ import annotations

import pytest
import torch

from d2lkit.data import fashion_mnist
from d2lkit.data.datasets import DataOptions, build_dataset
from d2lkit.data.scenes import (
    CANVAS,
    CELL,
    FOREGROUND_THRESHOLD,
    ITEM,
    cached_scenes,
    compose_scenes,
)
from d2lkit.errors import D2lkitError


def fake_items(n: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Items whose pixels tell which item they are: item i is filled with value 40 + i, except a
    dark one-pixel frame (below the threshold, so background in the labels)."""
    images = (40 + torch.arange(n, dtype=torch.uint8))[:, None, None].expand(n, ITEM, ITEM).clone()
    images[:, 0, :] = images[:, -1, :] = images[:, :, 0] = images[:, :, -1] = 3
    return images, torch.arange(n) % 10


def test_each_cell_holds_at_most_one_item_and_labels_follow_its_pixels():
    images, labels = fake_items()
    canvas, label_map = compose_scenes(images, labels, count=50, seed=0)
    assert canvas.shape == label_map.shape == (50, CANVAS, CANVAS)
    assert canvas.dtype == label_map.dtype == torch.uint8
    for scene in range(50):
        items = 0
        for top in (0, CELL):
            for left in (0, CELL):
                cell = canvas[scene, top : top + CELL, left : left + CELL]
                cell_labels = label_map[scene, top : top + CELL, left : left + CELL]
                values = cell[cell > FOREGROUND_THRESHOLD].unique()
                if values.numel() == 0:
                    assert (cell_labels == 0).all()
                    continue
                items += 1
                assert values.numel() == 1  # one item, never a mix
                item = int(values) - 40
                # Its (28 - 2)^2 bright pixels carry its class + 1, everything else is background.
                assert (cell_labels[cell > FOREGROUND_THRESHOLD] == labels[item] + 1).all()
                assert (cell_labels[cell <= FOREGROUND_THRESHOLD] == 0).all()
                assert int((cell > FOREGROUND_THRESHOLD).sum()) == (ITEM - 2) ** 2
        assert 2 <= items <= 4


def test_same_seed_same_scenes():
    images, labels = fake_items()
    first = compose_scenes(images, labels, 20, seed=1)
    again = compose_scenes(images, labels, 20, seed=1)
    other = compose_scenes(images, labels, 20, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_item_counts_cover_two_to_four():
    images, labels = fake_items()
    _, label_map = compose_scenes(images, labels, 300, seed=0)
    cells = label_map.reshape(300, 2, CELL, 2, CELL).permute(0, 1, 3, 2, 4).flatten(3)
    counts = (cells > 0).any(dim=-1).flatten(1).sum(1)
    assert set(counts.tolist()) == {2, 3, 4}


def test_builder_gives_float_images_long_label_maps_and_a_fixed_test_set():
    options = DataOptions(batch_size=8, seed=0)
    bundle = build_dataset("fashion-scenes:40", options)
    assert bundle.task == "segmentation" and bundle.num_classes == 11 and bundle.in_channels == 1
    assert bundle.class_names[0] == "background" and len(bundle.train) == 5
    x, y = next(iter(bundle.train))
    assert x.shape == (8, 1, CANVAS, CANVAS) and x.dtype == torch.float32
    assert y.shape == (8, CANVAS, CANVAS) and y.dtype == torch.int64
    assert int(y.min()) >= 0 and int(y.max()) <= 10
    # The Fashion-MNIST copy they were made from, which a run's summary.json names.
    assert bundle.extra["data_source"] == str(fashion_mnist.locate().resolve())
    cached_scenes.cache_clear()  # the test scenes are made again, from the same fixed seed
    other = build_dataset("fashion-scenes:40", DataOptions(batch_size=8, seed=1))
    assert not torch.equal(bundle.train.images, other.train.images)  # seed: training scenes
    assert torch.equal(bundle.test.images, other.test.images)  # one test set for every run
    assert torch.equal(bundle.test.targets, other.test.targets)


def test_ranks_test_on_their_own_share_of_the_scenes():
    """Under torchrun every rank evaluated all the test scenes: N times the work for the same
    figures."""
    whole = build_dataset("fashion-scenes:40", DataOptions(batch_size=8)).test
    shares = [
        build_dataset("fashion-scenes:40", DataOptions(batch_size=8, rank=r, world_size=2)).test
        for r in (0, 1)
    ]
    assert [len(share.images) for share in shares] == [len(whole.images) // 2] * 2
    assert torch.equal(torch.cat([share.images for share in shares]), whole.images)
    assert torch.equal(torch.cat([share.targets for share in shares]), whole.targets)


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("fashion-scenes", DataOptions(augment=True), "--augment"),
        ("fashion-scenes", DataOptions(resize=96), "--resize"),
        ("fashion-scenes:many", DataOptions(), "number of training scenes"),
    ],
)
def test_bad_options_are_clear_errors(spec, options, message):
    with pytest.raises(D2lkitError, match=message):
        build_dataset(spec, options)
