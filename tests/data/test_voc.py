"""voc:PATH on a generated VOC2012 tree: colours to classes, crops, filtering, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from d2lkit.data.datasets import DataOptions, build_dataset
from d2lkit.data.voc import (
    BORDER_COLOR,
    IMAGENET_MEAN,
    IMAGENET_STD,
    VOC_COLORMAP,
    VOCSegmentation,
    colormap_to_label,
    colors_to_labels,
    labels_to_colors,
)
from d2lkit.errors import D2lkitError

CROP = 16


def class_grid(height: int, width: int, seed: int) -> torch.Tensor:
    """A label map of 4x4 blocks of random classes, with one border pixel (255)."""
    generator = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, 21, (height // 4, width // 4), generator=generator)
    labels = blocks.repeat_interleave(4, 0).repeat_interleave(4, 1)
    labels[0, 0] = 255
    return labels


def write_sample(root: Path, name: str, height: int, width: int, seed: int) -> torch.Tensor:
    """An RGB JPEG and a palette PNG label (how VOC stores them); returns the label map."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (height, width, 3), dtype=torch.uint8, generator=generator)
    Image.fromarray(pixels.numpy()).save(root / "JPEGImages" / f"{name}.jpg", quality=95)
    labels = class_grid(height, width, seed)
    mask = Image.fromarray(labels.numpy().astype(np.uint8), mode="P")
    palette = [0] * 768
    for index, color in enumerate(VOC_COLORMAP):
        palette[3 * index : 3 * index + 3] = color
    palette[3 * 255 : 3 * 256] = BORDER_COLOR
    mask.putpalette(palette)
    mask.save(root / "SegmentationClass" / f"{name}.png")
    return labels


@pytest.fixture
def voc_tree(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    root = tmp_path / "VOC2012"
    for folder in ("ImageSets/Segmentation", "JPEGImages", "SegmentationClass"):
        (root / folder).mkdir(parents=True)
    sizes = {"big1": (24, 32), "big2": (20, 20), "tiny": (12, 12), "val1": (24, 28)}
    labels = {n: write_sample(root, n, h, w, seed=i) for i, (n, (h, w)) in enumerate(sizes.items())}
    (root / "ImageSets/Segmentation/train.txt").write_text("big1\ntiny\nbig2\n")
    (root / "ImageSets/Segmentation/val.txt").write_text("val1\n")
    return root, labels


def test_colour_class_colour_round_trips():
    table = colormap_to_label()
    colors = torch.tensor([*VOC_COLORMAP, BORDER_COLOR], dtype=torch.uint8).T[
        :, :, None
    ]  # (3,22,1)
    labels = colors_to_labels(colors, table)
    assert labels[:, 0].tolist() == [*range(21), 255]
    assert torch.equal(labels_to_colors(labels), colors)


def test_colours_outside_the_palette_are_ignored():
    odd = torch.tensor([[[1]], [[2]], [[3]]], dtype=torch.uint8)  # (3, 1, 1): colour (1, 2, 3)
    assert colors_to_labels(odd, colormap_to_label()).item() == 255


def test_small_images_are_filtered_and_crops_keep_image_and_label_together(voc_tree):
    root, labels = voc_tree
    torch.manual_seed(0)
    dataset = VOCSegmentation(root, "train", (CROP, CROP), train=True)
    assert dataset.names == ["big1", "big2"]  # "tiny" (12x12) is smaller than the crop
    full_image = dataset.images[0].float() / 255  # big1, (3, 24, 32)
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    offsets = set()
    for _ in range(20):
        image, label = dataset[0]
        assert image.shape == (3, CROP, CROP) and label.shape == (CROP, CROP)
        # Find where the crop came from in the normalised image, and check the label there.
        unnormalised = image * std + mean
        matches = [
            (top, left)
            for top in range(24 - CROP + 1)
            for left in range(32 - CROP + 1)
            if torch.allclose(full_image[:, top : top + CROP, left : left + CROP], unnormalised)
        ]
        assert len(matches) == 1
        top, left = matches[0]
        assert torch.equal(label, labels["big1"][top : top + CROP, left : left + CROP])
        offsets.add((top, left))
    assert len(offsets) > 3  # crops move around


def test_test_split_is_centre_cropped(voc_tree):
    root, labels = voc_tree
    dataset = VOCSegmentation(root, "val", (CROP, CROP), train=False)
    _, label = dataset[0]
    top, left = (24 - CROP) // 2, (28 - CROP) // 2
    assert torch.equal(label, labels["val1"][top : top + CROP, left : left + CROP])


def test_builder_batches(voc_tree):
    root, _ = voc_tree
    bundle = build_dataset(f"voc:{root}", DataOptions(batch_size=2, resize=CROP))
    assert bundle.task == "segmentation" and bundle.num_classes == 21 and bundle.in_channels == 3
    x, y = next(iter(bundle.train))
    assert x.shape == (2, 3, CROP, CROP) and y.shape == (2, CROP, CROP) and y.dtype == torch.int64
    assert bundle.extra == {"train_images": 2, "test_images": 1, "images_left_out": 1}  # tiny


def test_listed_image_without_its_mask_names_the_file(voc_tree):
    root, _ = voc_tree
    (root / "SegmentationClass" / "big2.png").unlink()
    with pytest.raises(D2lkitError, match=r"SegmentationClass/big2\.png: missing"):
        build_dataset(f"voc:{root}", DataOptions(resize=CROP))


def test_undecodable_photo_names_the_file(voc_tree):
    root, _ = voc_tree
    (root / "JPEGImages" / "big2.jpg").write_bytes(b"half a JPEG")
    with pytest.raises(D2lkitError, match=r"JPEGImages/big2\.jpg: not a readable image"):
        build_dataset(f"voc:{root}", DataOptions(resize=CROP))


def test_missing_list_and_too_large_crop_are_clear_errors(voc_tree):
    root, _ = voc_tree
    with pytest.raises(D2lkitError, match="no train image is at least 64x64"):
        build_dataset(f"voc:{root}", DataOptions(resize=64))
    (root / "ImageSets/Segmentation/val.txt").unlink()
    with pytest.raises(D2lkitError, match=r"val\.txt: missing"):
        build_dataset(f"voc:{root}", DataOptions(resize=CROP))


def test_an_image_list_that_is_not_text_names_the_file(voc_tree):
    root, _ = voc_tree
    (root / "ImageSets/Segmentation/train.txt").write_bytes(b"\xff\xfe\x00a\n")  # UTF-16
    with pytest.raises(D2lkitError, match=r"train\.txt: is damaged \(not UTF-8 text\)"):
        build_dataset(f"voc:{root}", DataOptions(resize=CROP))


def gray_forms(labels: np.ndarray) -> dict[str, Image.Image]:
    """Class numbers saved as images: 8-bit gray, 16-bit (numpy's and OpenCV's habit), gray with
    alpha (image editors' export) and gray drawn in an RGB file."""
    gray = Image.fromarray(labels.astype(np.uint8))
    return {
        "L": gray,
        "I;16": Image.fromarray(labels.astype(np.uint16)),
        "LA": gray.convert("LA"),
        "RGB": gray.convert("RGB"),
    }


@pytest.mark.parametrize("form", ["L", "I;16", "LA", "RGB"])
def test_gray_label_maps_are_read_as_class_numbers(voc_tree, form):
    """The common home-made form: class numbers saved as a gray PNG, not VOC's colours."""
    root, labels = voc_tree
    gray_forms(labels["val1"].numpy())[form].save(root / "SegmentationClass" / "val1.png")
    test_set = VOCSegmentation(root, "val", (24, 28), train=False)
    assert torch.equal(test_set[0][1], labels["val1"])


NOTHING_LABELLED = "no pixel is labelled"


def border_only_palette_map() -> Image.Image:
    """VOC's own form, every pixel palette index 255: the border colour."""
    mask = Image.new("P", (28, 24), 255)
    mask.putpalette([*[0] * 765, *BORDER_COLOR])
    return mask


@pytest.mark.parametrize(
    "label_map, message",
    [
        # Every pixel would be ignored, in each form a label map comes in: the loss would be a
        # 0/0 and training would stop at a "non-finite loss" with advice to lower --lr.
        (Image.new("RGB", (28, 24), (250, 250, 250)), NOTHING_LABELLED),  # outside the palette
        (border_only_palette_map(), NOTHING_LABELLED),
        (Image.new("L", (28, 24), 255), NOTHING_LABELLED),
        (Image.new("I;16", (28, 24), 255), NOTHING_LABELLED),
        (Image.new("RGB", (28, 24), (255, 255, 255)), NOTHING_LABELLED),  # gray in RGB
        (Image.new("1", (28, 24), 1), NOTHING_LABELLED),  # bilevel: white, read as 255
        (Image.new("CMYK", (28, 24), (0, 0, 0, 0)), NOTHING_LABELLED),  # white
        (Image.new("L", (28, 24), 37), "a gray label map holding 37; its pixels must be"),
    ],
    ids=["colours", "palette", "gray", "gray16", "gray-in-rgb", "bilevel", "cmyk", "gray-37"],
)
def test_label_maps_that_would_train_on_nothing_are_refused(voc_tree, label_map, message):
    root, _ = voc_tree
    suffix = ".tif" if label_map.mode == "CMYK" else ".png"  # PNG cannot hold CMYK
    saved = root / "SegmentationClass" / f"val1{suffix}"
    label_map.save(saved)
    saved.rename(root / "SegmentationClass" / "val1.png")
    with pytest.raises(D2lkitError, match=rf"SegmentationClass/val1\.png: {message}"):
        build_dataset(f"voc:{root}", DataOptions(resize=CROP))


def test_fcn_resnet18_trains_on_a_voc_tree_and_reports_segmentation_metrics(tmp_path):
    """The reader, the loss (255 ignored) and the segmentation meter, end to end."""
    import json

    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training

    root = tmp_path / "VOC2012"
    for folder in ("ImageSets/Segmentation", "JPEGImages", "SegmentationClass"):
        (root / folder).mkdir(parents=True)
    for i, name in enumerate(("a", "b", "c")):
        write_sample(root, name, 36, 40, seed=i)
    (root / "ImageSets/Segmentation/train.txt").write_text("a\nb\n")
    (root / "ImageSets/Segmentation/val.txt").write_text("c\n")
    config = TrainConfig(
        "fcn_resnet18", dataset=f"voc:{root}", resize=32, epochs=1, batch_size=2,
        optimizer="sgd", lr=1e-3, out=str(tmp_path / "run"), progress=False,
    )  # fmt: skip
    summary = run_training(config)
    row = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    assert 0 <= row["test_miou"] <= 1 and row["test_pixel_acc"] == row["test_acc"]
    assert summary["test_miou"] == row["test_miou"]
    # How many images the run read is kept with it: VOC leaves out those smaller than the crop.
    assert (summary["train_images"], summary["test_images"], summary["images_left_out"]) == (
        2,
        1,
        0,
    )


def test_a_crop_the_fcn_cannot_take_is_one_line_before_training(voc_tree, tmp_path, capsys):
    """fcn_resnet18 needs sides divisible by 32; its own check raises ValueError, which must
    become the same one-line refusal as a shape mismatch."""
    from d2lkit.cli import main

    root, _ = voc_tree
    out = tmp_path / "run"
    argv = ["train", "fcn_resnet18", "--dataset", f"voc:{root}", "--resize", str(CROP)]
    assert main([*argv, "--epochs", "1", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'fcn_resnet18' cannot take" in err
    assert "divisible by 32" in err and not out.exists()


def test_a_restored_training_loader_draws_the_next_epochs_order_and_crops(voc_tree):
    """A resumed VOC run started its order again from epoch 1: the loader's shuffling generator
    was not in the checkpoint (its state_dict was missing)."""
    root, _ = voc_tree
    options = DataOptions(batch_size=1, resize=8, seed=2)

    def one_epoch(loader) -> list[torch.Tensor]:
        return [torch.cat([x.flatten(), y.flatten().float()]) for x, y in loader]

    straight = build_dataset(f"voc:{root}", options).train
    first = one_epoch(straight)
    state = straight.state_dict()
    torch.manual_seed(0)  # the crops must not hang on the caller's RNG
    second = one_epoch(straight)
    assert len(second) == 3 and not all(map(torch.equal, first, second))
    resumed = build_dataset(f"voc:{root}", options).train
    resumed.load_state_dict(state)
    torch.manual_seed(1)
    assert all(map(torch.equal, one_epoch(resumed), second))
