"""What `d2lkit predict` shows: examples from the whole test set, in their own colours."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from d2lkit.data.datasets import DataOptions, build_dataset
from d2lkit.report.examples import examples_to_show, to_display

COLOURS = {"a-red": (200, 30, 30), "b-gray": (90, 90, 90)}


def colour_tree(root: Path) -> Path:
    """8 test images per class, listed one class after the other as ImageFolder does."""
    for split in ("train", "test"):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(8):
                Image.new("RGB", (20, 20), colour).save(folder / f"{i}.png")
    return root


def test_examples_come_from_every_class_and_show_their_true_colours(tmp_path):
    data = build_dataset(
        f"imagefolder:{colour_tree(tmp_path)}", DataOptions(batch_size=4, resize=16)
    )
    images, labels, _ = examples_to_show(data, 6)
    assert images.shape == (6, 3, 16, 16) and set(labels.tolist()) == {0, 1}  # not one batch
    shown = to_display(images, data)
    for image, label in zip(shown, labels.tolist(), strict=True):
        expected = torch.tensor(COLOURS[data.class_names[label]]) / 255
        assert torch.allclose(image.mean(dim=(1, 2)), expected, atol=1 / 255)
    assert examples_to_show(data, 6)[1].tolist() == labels.tolist()  # the same draw every time


def test_in_memory_examples_are_drawn_at_random_as_the_test_loader_gives_them(tiny_fashion):
    # Resized, as a model built for 32x32 gets them; test batches of 8, so 11 span batches.
    data = build_dataset("fashion-mnist", DataOptions(batch_size=2, resize=32))
    images, labels, indices = examples_to_show(data, 11)
    assert images.shape == (11, 1, 32, 32) and labels.shape == (11,)
    assert indices != list(range(11)) and len(set(indices)) == 11
    every_image, every_label = (torch.cat(parts) for parts in zip(*data.test, strict=True))
    assert torch.equal(images, every_image[indices]) and torch.equal(labels, every_label[indices])
    assert examples_to_show(data, 11)[2] == indices  # the same draw for the same seed
    assert examples_to_show(data, 11, seed=1)[2] != indices
    assert torch.equal(to_display(images, data), images.clamp(0, 1))  # already in [0, 1]
