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
    images, labels = examples_to_show(data, 6)
    assert images.shape == (6, 3, 16, 16) and set(labels.tolist()) == {0, 1}  # not one batch
    shown = to_display(images, data)
    for image, label in zip(shown, labels.tolist(), strict=True):
        expected = torch.tensor(COLOURS[data.class_names[label]]) / 255
        assert torch.allclose(image.mean(dim=(1, 2)), expected, atol=1 / 255)
    assert examples_to_show(data, 6)[1].tolist() == labels.tolist()  # the same draw every time


def test_in_memory_examples_are_taken_across_batches(tiny_fashion):
    data = build_dataset("fashion-mnist", DataOptions(batch_size=2))  # test batches of 8
    images, labels = examples_to_show(data, 11)
    assert images.shape[0] == labels.shape[0] == 11
    assert torch.equal(to_display(images, data), images.clamp(0, 1))  # already in [0, 1]
