"""imagefolder:PATH on generated trees: batches, transforms, and a clear error for each defect."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from image_fixtures import decompression_bomb_png
from PIL import Image

from d2lkit.data.datasets import DataOptions, build_dataset
from d2lkit.data.imagefolder import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ClassFolders,
    class_images,
    default_workers,
    eval_transform,
    is_image,
)
from d2lkit.errors import D2lkitError
from d2lkit.train.config import TrainConfig
from d2lkit.train.run import resolve

CLASSES = ("hotdog", "not-hotdog")


def write_image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two classes; class 0 is red, class 1 blue, so labels can be read back from the pixels."""
    root = tmp_path / "hotdog"
    for split, count in (("train", 5), ("test", 3)):
        for label, name in enumerate(CLASSES):
            color = (255, 0, 0) if label == 0 else (0, 0, 255)
            for i in range(count):
                write_image(root / split / name / f"{i}.png", color)
    return root


def test_batches_are_normalised_rgb_crops_with_matching_labels(tree):
    bundle = build_dataset(f"imagefolder:{tree}", DataOptions(batch_size=4, resize=16))
    assert bundle.class_names == list(CLASSES) and bundle.num_classes == 2
    assert bundle.in_channels == 3 and len(bundle.train) == 3
    seen = 0
    for x, y in bundle.test:
        assert x.shape[1:] == (3, 16, 16)
        pixels = (
            x * torch.tensor(IMAGENET_STD)[:, None, None]
            + torch.tensor(IMAGENET_MEAN)[:, None, None]
        )
        red = pixels[:, 0].mean(dim=(1, 2)) > 0.9
        assert torch.equal(red, y == 0)  # the label belongs to the image
        seen += len(y)
    assert seen == 6


def test_same_seed_same_training_batches(tree):
    def first_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        bundle = build_dataset(
            f"imagefolder:{tree}", DataOptions(batch_size=10, resize=8, seed=seed)
        )
        return next(iter(bundle.train))

    (x1, y1), (x2, y2) = first_batch(3), first_batch(3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_test_transform_is_the_books_resize_then_centre_crop():
    image = Image.new("RGB", (300, 200))
    assert eval_transform(224)(image).shape == (3, 224, 224)
    assert eval_transform(32)(image).shape == (3, 32, 32)


def test_missing_split_names_the_folder(tree):
    for path in sorted((tree / "test").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (tree / "test").rmdir()
    with pytest.raises(D2lkitError, match=rf"{tree / 'test'}: missing"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_a_split_given_as_the_folder_points_to_the_folder_above(tree):
    with pytest.raises(D2lkitError) as err:
        build_dataset(f"imagefolder:{tree / 'train'}", DataOptions())
    assert str(err.value).endswith(f"({tree / 'train'} is a split itself: pass imagefolder:{tree})")


def test_a_val_folder_in_place_of_test_is_pointed_out(tree):
    (tree / "test").rename(tree / "val")
    with pytest.raises(D2lkitError, match=rf"{tree / 'test'}: missing") as err:
        build_dataset(f"imagefolder:{tree}", DataOptions())
    assert f"{tree / 'val'} is there: rename it test, or link it: ln -s val" in str(err.value)
    spaced = tree.rename(tree.parent / "my photos")
    with pytest.raises(D2lkitError) as err:
        build_dataset(f"imagefolder:{spaced}", DataOptions())
    assert f"ln -s val '{spaced / 'test'}')" in str(err.value)  # a command that runs as shown


def test_test_only_needs_no_train_folder_but_training_does(tree):
    """eval and predict read test/ only; a folder of new test images has no train/."""
    import shutil

    shutil.rmtree(tree / "train")
    bundle = build_dataset(f"imagefolder:{tree}", DataOptions(batch_size=4, test_only=True))
    assert bundle.class_names == list(CLASSES) and len(bundle.train) == 0
    assert bundle.extra == {"test_images": 6} and sum(len(y) for _, y in bundle.test) == 6
    with pytest.raises(D2lkitError, match=rf"{tree / 'train'}: missing"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_empty_class_folder_names_it(tree):
    (tree / "train" / "empty").mkdir()
    (tree / "test" / "empty").mkdir()
    with pytest.raises(D2lkitError, match=rf"{tree / 'train' / 'empty'}: empty class folder"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_the_empty_class_message_lists_every_image_suffix_read(tree):
    (tree / "train" / "notes").mkdir()
    (tree / "train" / "notes" / "notes.txt").write_text("no image")
    (tree / "test" / "notes").mkdir()
    with pytest.raises(D2lkitError, match=r"empty class folder \(no \.jpg .*\.webp \.gif files\)"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_gif_images_are_read_their_first_frame(tmp_path):
    """torchvision's ImageFolder skips .gif, so a class of GIFs was an "empty class folder"."""
    root = tmp_path / "gifs"
    for split in ("train", "test"):
        for label, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            first = Image.new("RGB", (16, 16), (255, 0, 0) if label == 0 else (0, 0, 255))
            later = Image.new("RGB", (16, 16), (0, 255, 0))
            first.save(folder / "0.gif", save_all=True, append_images=[later])
    bundle = build_dataset(f"imagefolder:{root}", DataOptions(batch_size=2, resize=8))
    assert bundle.extra == {"train_images": 2, "test_images": 2}
    x, y = next(iter(bundle.test))
    red = x[:, 0].mean(dim=(1, 2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0] > 0.9  # no green frame
    assert torch.equal(red, y == 0)


def test_zero_byte_image_names_the_file(tree):
    broken = tree / "test" / "hotdog" / "broken.jpg"
    broken.write_bytes(b"")
    with pytest.raises(D2lkitError, match=rf"{broken}: empty file"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_class_sets_must_agree(tree):
    write_image(tree / "train" / "pizza" / "0.png", (0, 255, 0))
    with pytest.raises(D2lkitError, match=r"only in train: \['pizza'\]"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_class_names_in_two_unicode_forms_are_told_apart(tree):
    """macOS wrote train/'s 'dög' decomposed (NFD), another tool test/'s composed (NFC)."""
    import unicodedata

    for split, form in (("train", "NFD"), ("test", "NFC")):
        write_image(tree / split / unicodedata.normalize(form, "dög") / "0.png", (0, 255, 0))
    with pytest.raises(D2lkitError) as err:
        build_dataset(f"imagefolder:{tree}", DataOptions())
    message = str(err.value)
    assert r"only in train: ['do\u0308g'], only in test: ['d\xf6g']" in message
    assert "dög in two Unicode forms" in message


def test_unreadable_image_fails_in_the_loader_with_one_line_naming_it(tree):
    corrupt = tree / "test" / "hotdog" / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG not really")
    bundle = build_dataset(f"imagefolder:{tree}", DataOptions(batch_size=8, resize=8))
    with pytest.raises(D2lkitError) as caught:
        list(bundle.test)  # decoded in a worker process
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(f"{corrupt}: not a readable image")
    assert message.endswith(f"(`d2lkit data check imagefolder:{tree}` lists every such file)")


def test_one_class_is_refused_a_classifier_needs_two(tree):
    import shutil

    for split in ("train", "test"):
        shutil.rmtree(tree / split / "not-hotdog")
    with pytest.raises(D2lkitError, match=r"1 class folder\(s\); a classifier needs at least two"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_hidden_folders_and_files_are_left_out(tree):
    """Jupyter's checkpoints folder is no class, and macOS's ._x.png twins are no images."""
    for split in ("train", "test"):
        write_image(tree / split / ".ipynb_checkpoints" / "0.png", (0, 255, 0))
        (tree / split / "hotdog" / "._0.png").write_bytes(b"AppleDouble, not a PNG")
    bundle = build_dataset(f"imagefolder:{tree}", DataOptions(batch_size=16, resize=8))
    assert bundle.class_names == list(CLASSES)
    assert bundle.extra == {"train_images": 10, "test_images": 6}
    assert sum(len(y) for _, y in bundle.test) == 6  # the twin is never decoded


def test_a_hidden_link_to_a_visible_folder_does_not_hide_its_images(tree):
    """Sorted first, `.alias` marked the real `batch2/` as read and its images were never
    listed: a hidden folder's files are left out, so it is not read at all."""
    hotdogs = tree / "train" / "hotdog"
    write_image(hotdogs / "batch2" / "extra.png", (255, 0, 0))
    (hotdogs / ".alias").symlink_to(hotdogs / "batch2")
    assert hotdogs / "batch2" / "extra.png" in class_images(hotdogs)


def test_a_broken_link_is_named_before_training(tree):
    link = tree / "train" / "hotdog" / "gone.png"
    link.symlink_to(tree / "nowhere.png")
    with pytest.raises(D2lkitError, match=rf"{link}: a broken link"):
        build_dataset(f"imagefolder:{tree}", DataOptions())


def test_linked_folders_read_each_image_once_under_its_own_class(tree, tmp_path):
    """A link to `..` inside a class folder made ImageFolder's walk go round the tree: 246
    images instead of 10, every class read again as the looping one."""
    hotdog = tree / "train" / "hotdog"
    (hotdog / "loop").symlink_to("..")  # train/: both classes, and the loop again
    (hotdog / "sub").mkdir()
    write_image(hotdog / "sub" / "5.png", (255, 0, 0))
    (hotdog / "alias").symlink_to("sub")  # the same folder under a second name
    write_image(tmp_path / "elsewhere" / "6.png", (255, 0, 0))
    (hotdog / "kept-elsewhere").symlink_to(tmp_path / "elsewhere")  # photos outside the tree
    write_image(tree / "pool" / "7.png", (255, 0, 0))
    (hotdog / "pooled").symlink_to("../../pool")  # photos in the tree, but in no split
    train = ClassFolders(tree / "train", eval_transform(8))
    real_paths = [Path(path).resolve() for path, _ in train.samples]
    assert len(real_paths) == len(set(real_paths)) == 13  # 5 + 5, and 5, 6 and 7.png once
    for path, label in train.samples:
        red = train.loader(path).getpixel((0, 0))[0] == 255
        assert label == (0 if red else 1), path
    bundle = build_dataset(f"imagefolder:{tree}", DataOptions(resize=8))
    assert bundle.extra["train_images"] == 13


def test_the_images_come_in_torchvisions_own_order(tree):
    """Seeded runs (and their exact resume) rely on the order torchvision's ImageFolder lists."""
    from torchvision.datasets import ImageFolder

    nested = tree / "train" / "hotdog" / "B-sub" / "a"
    write_image(nested / "x.JPG", (255, 0, 0))
    write_image(tree / "train" / "hotdog" / "A.png", (255, 0, 0))
    write_image(tree / "train" / "hotdog" / "b.gif", (255, 0, 0))
    ours = ClassFolders(tree / "train", eval_transform(8)).samples
    # torchvision's file test without .gif, which d2lkit reads too
    theirs = ImageFolder(str(tree / "train"), is_valid_file=lambda path: is_image(Path(path)))
    assert ours == theirs.samples


def test_sixteen_bit_gray_images_are_scaled_to_8_bits_not_clipped(tmp_path):
    """PIL's own RGB conversion clips 16-bit values at 255, which turns such a photo white."""
    import numpy as np

    from d2lkit.data.image_file import open_rgb, read_image

    path = tmp_path / "gray16.png"
    Image.fromarray(np.array([[0, 25700, 65535]], dtype=np.uint16)).save(path)
    assert np.asarray(open_rgb(path)).tolist() == [[[0] * 3, [100] * 3, [255] * 3]]
    assert read_image(path)[:, 0].T.tolist() == [[0] * 3, [100] * 3, [255] * 3]


def test_float_gray_images_are_read_as_0_to_1_and_other_floats_refused(tmp_path):
    """PIL turned a float TIFF in [0, 1] into pixels of 0 and 1 (black); NaN or values beyond the
    range mean nothing as pixels."""
    import numpy as np

    from d2lkit.data.image_file import open_rgb

    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).save(path)
    assert np.asarray(open_rgb(path)).tolist() == [[[0] * 3, [128] * 3, [255] * 3]]
    for bad, shown in (([[0.0, 4095.0]], "from 0 to 4095"), ([[-1.0, 0.5]], "from -1 to 0.5")):
        Image.fromarray(np.array(bad, dtype=np.float32)).save(path)
        with pytest.raises(
            D2lkitError, match=rf"float.tif: not a readable image \(float pixels {shown}"
        ):
            open_rgb(path)
    Image.fromarray(np.array([[0.0, np.nan, 0.5]], dtype=np.float32)).save(path)
    with pytest.raises(D2lkitError, match=r"\(1 float pixel\(s\) are NaN, not within 0 to 1\)"):
        open_rgb(path)


def test_a_phone_photo_is_read_upright_as_its_exif_orientation_says(tmp_path):
    """Orientation 6: stored sideways, shown turned 90 degrees clockwise, so the stored left
    half (red) is the top of the photo."""
    import numpy as np

    from d2lkit.data.image_file import open_rgb, read_image

    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    path = tmp_path / "portrait.jpg"
    stored.save(path, exif=exif)
    pixels = np.asarray(open_rgb(path)).astype(int)  # (H, W, 3)
    assert pixels.shape == (40, 20, 3)
    assert pixels[5, 10, 0] > 200 and pixels[35, 10, 2] > 200  # red on top, blue below
    assert read_image(path, follow_exif=True).shape == (3, 40, 20)  # d2lkit augment's photo
    # VOC: a label map has no tag and is drawn on the stored pixels, so its image stays stored.
    assert read_image(path).shape == (3, 20, 40)


def test_a_palette_png_with_transparency_converts_without_a_warning(tmp_path):
    """PIL's "Palette images with Transparency ..." warning landed in the training table."""
    import warnings

    from d2lkit.data.image_file import open_rgb

    path = tmp_path / "icon.png"
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.save(path, transparency=bytes([0, 128]))  # two alphas: kept as bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_rgb(path).getpixel((0, 0)) == (255, 0, 0)


def test_a_truncated_jpeg_is_to_be_saved_again_or_removed(tmp_path):
    """Not "replace it with a PNG or JPEG file": it is a JPEG already."""
    import numpy as np

    from d2lkit.data.image_file import open_rgb

    path = tmp_path / "cut.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=95)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(D2lkitError, match=rf"{path}: not a readable image .*; re-save it") as err:
        open_rgb(path)
    assert str(err.value).endswith("or remove it")


def test_a_decompression_bomb_is_one_line_naming_the_file(tmp_path):
    from d2lkit.data.image_file import open_rgb

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(decompression_bomb_png())
    with pytest.raises(D2lkitError, match=rf"{bomb}: too large to open .*; make it smaller"):
        open_rgb(str(bomb))


def test_augment_crops_and_flips_the_training_images_only_when_asked(tmp_path):
    """Horizontal ramps, so that a crop or a flip changes the pixels."""
    root = tmp_path / "ramps"
    ramp = torch.linspace(0, 255, 32).to(torch.uint8).expand(32, 32)
    for split in ("train", "test"):
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            Image.fromarray(torch.stack([ramp] * 3, dim=-1).numpy()).save(folder / "0.png")

    def train_batch(augment: bool) -> torch.Tensor:
        options = DataOptions(batch_size=2, resize=16, augment=augment)
        bundle = build_dataset(f"imagefolder:{root}", options)
        (test_x, _), (train_x, _) = next(iter(bundle.test)), next(iter(bundle.train))
        return train_x, test_x[0]

    plain, test_image = train_batch(augment=False)
    assert all(torch.equal(image, test_image) for image in plain)  # the test transform
    augmented, _ = train_batch(augment=True)
    assert not any(torch.allclose(image, test_image, atol=1e-3) for image in augmented)


# -- options: a training subset and data-parallel shares ------------------------------------------


@pytest.fixture
def numbered_tree(tmp_path: Path) -> Path:
    """12 training and 6 test images, each a solid colour whose red value is its number, so that
    an image can be told apart after any crop and flip."""
    root = tmp_path / "numbered"
    for split, count in (("train", 6), ("test", 3)):
        for label, name in enumerate(CLASSES):
            for i in range(count):
                number = 10 * (1 + label * count + i)  # 10 ... 120 in train
                write_image(root / split / name / f"{i}.png", (number, 0, 0))
    return root


def numbers_seen(loader) -> list[int]:
    """The image numbers of one pass over `loader`, read back from the red channel."""
    seen = []
    for x, _ in loader:
        red = x[:, 0].mean(dim=(1, 2)) * IMAGENET_STD[0] + IMAGENET_MEAN[0]  # (B,) in [0, 1]
        seen += (red * 255).round().int().tolist()
    return seen


def test_train_subset_draws_from_every_class_and_is_fixed_by_the_seed(numbered_tree):
    def subset(seed: int) -> list[int]:
        options = DataOptions(batch_size=5, resize=8, train_subset=5, seed=seed)
        bundle = build_dataset(f"imagefolder:{numbered_tree}", options)
        assert bundle.extra["train_images"] == 5
        return sorted(numbers_seen(bundle.train))

    first = subset(0)
    assert len(set(first)) == 5 and first == subset(0)
    assert first != sorted(range(10, 60, 10))  # not ImageFolder's first five (one class)
    assert subset(0) != subset(1)
    every = build_dataset(f"imagefolder:{numbered_tree}", DataOptions(batch_size=5, resize=8))
    count = every.extra["train_images"]
    options = DataOptions(batch_size=5, resize=8, train_subset=count)  # all of them: fine
    assert build_dataset(f"imagefolder:{numbered_tree}", options).extra["train_images"] == count
    options = DataOptions(batch_size=5, resize=8, train_subset=count + 1)  # was taken as all
    with pytest.raises(D2lkitError, match=f"--train-subset {count + 1} is more than the {count}"):
        build_dataset(f"imagefolder:{numbered_tree}", options)


def test_ranks_share_each_epoch_and_the_test_set_without_overlap(numbered_tree):
    """With torchrun, rank r of 2 trains on its half of every global batch and tests on its half
    of the test set; before, every rank read every image, the same batches twice."""
    parts = []
    for rank in (0, 1):
        options = DataOptions(batch_size=3, resize=8, rank=rank, world_size=2)
        bundle = build_dataset(f"imagefolder:{numbered_tree}", options)
        parts.append((numbers_seen(bundle.train), numbers_seen(bundle.test)))
    (train0, test0), (train1, test1) = parts
    assert len(train0) == len(train1) == 6 and sorted(train0 + train1) == list(range(10, 130, 10))
    assert len(test0) == len(test1) == 3 and len(set(test0 + test1)) == 6


def test_sample_images_mix_the_classes_and_keep_each_label_with_its_image(numbered_tree, capsys):
    """`d2lkit data show imagefolder:PATH`: random images, not the folder's first (one class)."""
    from d2lkit.cli import main
    from d2lkit.data.imagefolder import sample_images

    images, names, total = sample_images(numbered_tree, "train", 8, size=16)
    assert images.shape == (8, 3, 16, 16) and total == 12 and set(names) == set(CLASSES)
    numbers = (images[:, 0].mean(dim=(1, 2)) * 255).round().int()  # 10..60 hotdog, 70..120 not
    assert [CLASSES[int(n > 60)] for n in numbers] == names
    out = numbered_tree / "grid.png"
    assert main(["data", "show", f"imagefolder:{numbered_tree}", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and str(out) in capsys.readouterr().out


def ramps_tree(root: Path) -> Path:
    """Horizontal ramps, a different one per image, so that a crop or a flip changes pixels."""
    for split, count in (("train", 5), ("test", 2)):
        for label, name in enumerate(CLASSES):
            for i in range(count):
                ramp = torch.linspace(10 * i, 255 - 10 * label, 32).to(torch.uint8)
                pixels = torch.stack([ramp.expand(24, 32)] * 3, dim=-1)  # (24, 32, 3)
                folder = root / split / name
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")
    return root


def one_epoch(loader) -> list[torch.Tensor]:
    return [x for x, _ in loader]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_restored_training_loader_augments_the_next_epoch_as_the_first_one_would(
    tmp_path, workers, monkeypatch
):
    """A resumed run went on with epoch 1's random crops: the persistent workers' RNG streams,
    which drew them, were not in the checkpoint. Seeds per image are, and they do not depend on
    which worker, or how many, loads the image."""
    root = ramps_tree(tmp_path / "ramps")
    options = DataOptions(batch_size=4, resize=8, augment=True, seed=1)

    def loader(workers: int):
        monkeypatch.setattr("d2lkit.data.imagefolder.default_workers", lambda: workers)
        return build_dataset(f"imagefolder:{root}", options).train

    straight = loader(workers)
    first = one_epoch(straight)
    state = straight.state_dict()
    second = one_epoch(straight)
    assert len(second) > 1 and not any(map(torch.equal, first, second))
    resumed = loader(workers)
    resumed.load_state_dict(state)
    assert all(map(torch.equal, one_epoch(resumed), second))
    assert all(map(torch.equal, one_epoch(loader(2 - workers)), first))


def test_a_path_from_the_home_folder_is_expanded(tree, monkeypatch):
    """The shell leaves `~` after `imagefolder:` as it is; the builder reads the home folder's
    tree and the run records its absolute path, not a folder named `~` in the working one."""
    monkeypatch.setenv("HOME", str(tree.parent))
    bundle = build_dataset("imagefolder:~/hotdog", DataOptions(batch_size=4, resize=8))
    assert bundle.class_names == list(CLASSES)
    config = resolve(TrainConfig(model="mlp", dataset="imagefolder:~/hotdog"))
    assert config.dataset == f"imagefolder:{tree.resolve()}"


def test_loader_processes_stop_at_eight_however_many_cpus(monkeypatch):
    """One per CPU of a 64-core machine, in a training and a test pool, held some 15 GB."""
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert default_workers() == 8
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_workers() == 2


def test_a_png_with_a_garbage_chunk_is_unreadable_not_a_traceback(tmp_path):
    """A PNG whose IDAT length is short makes PIL read compressed bytes as the next chunk's
    header: SyntaxError('broken PNG file'), which escaped as a traceback from train and check."""
    import io
    import struct

    import numpy as np

    from d2lkit.data.image_file import open_rgb

    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    at = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[at - 4 : at])
    data[at - 4 : at] = struct.pack(">I", length - 8)
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    with pytest.raises(D2lkitError, match=r"broken.png: not a readable image \(broken PNG file"):
        open_rgb(path)


def test_a_photo_with_corrupt_exif_is_read_without_warnings(tmp_path):
    """PIL warned 'Corrupt EXIF data' on stderr, into the epoch table, for a photo whose pixels
    are fine: common in phone photos."""
    import warnings

    from d2lkit.data.image_file import open_rgb

    path = tmp_path / "phone.jpg"
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01"
    Image.new("RGB", (8, 6), (200, 10, 10)).save(path, exif=exif)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = open_rgb(path)
    assert image.size == (8, 6) and caught == []
