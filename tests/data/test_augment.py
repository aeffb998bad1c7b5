"""Augmentations: the batched crop-and-flip against an exhaustive search, seeds, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from image_fixtures import decompression_bomb_png

from d2lkit.cli import main
from d2lkit.cli.augment import augmentation_grid
from d2lkit.data.augment import CROP_SIZE, PIPELINES, apply_seeded, crop_flip, pipeline


def batch(n: int = 6, channels: int = 1, size: int = 28) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(7))


def all_crops(image: torch.Tensor, padding: int) -> list[torch.Tensor]:
    """Every crop of the zero-padded image, flipped and not: what crop_flip may return."""
    _, height, width = image.shape
    padded = F.pad(image, (padding,) * 4)
    crops = []
    for top in range(2 * padding + 1):
        for left in range(2 * padding + 1):
            crop = padded[:, top : top + height, left : left + width]
            crops += [crop, crop.flip(-1)]
    return crops


@pytest.mark.parametrize(("channels", "size", "padding"), [(1, 28, 2), (3, 32, 4)])
def test_each_output_is_a_padded_crop_of_its_own_input(channels, size, padding):
    x = batch(5, channels, size)
    out = crop_flip(x, torch.Generator().manual_seed(0))  # default padding for this size
    assert out.shape == x.shape and out.dtype == x.dtype
    for image, result in zip(x, out, strict=True):
        assert any(torch.equal(result, crop) for crop in all_crops(image, padding))


def test_crops_and_flips_vary_across_the_batch():
    x = batch(64)
    out = crop_flip(x, torch.Generator().manual_seed(0), padding=0)
    flipped = [
        torch.equal(o, i.flip(-1)) and not torch.equal(o, i) for o, i in zip(out, x, strict=True)
    ]
    assert 10 < sum(flipped) < 54  # about half flipped, never all or none
    shifted = crop_flip(x, torch.Generator().manual_seed(0), padding=2)
    assert sum(not torch.equal(s, o) for s, o in zip(shifted, out, strict=True)) > 32


def test_same_seed_same_images_and_different_seed_differs():
    x = batch(16)
    first = crop_flip(x, torch.Generator().manual_seed(3))
    again = crop_flip(x, torch.Generator().manual_seed(3))
    other = crop_flip(x, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.gpu
def test_on_cuda_matches_cpu_for_the_same_seed():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = batch(8)
    on_cpu = crop_flip(x, torch.Generator().manual_seed(1))
    on_gpu = crop_flip(x.cuda(), torch.Generator().manual_seed(1))
    assert torch.equal(on_gpu.cpu(), on_cpu)


def test_book_pipelines_are_reproducible_per_seed_and_leave_global_rng_alone():
    image = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    for name in PIPELINES:
        first = apply_seeded(pipeline(name), image, 3, seed=5)
        again = apply_seeded(pipeline(name), image, 3, seed=5)
        assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)), name
    assert torch.equal(torch.get_rng_state(), before)
    crops = apply_seeded(pipeline("resized-crop"), image, 4, seed=5)
    assert {tuple(c.shape) for c in crops} == {(3, 200, 200)}
    other = apply_seeded(pipeline("combined"), image, 3, seed=6)
    first = apply_seeded(pipeline("combined"), image, 3, seed=5)
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_flip_pipeline_only_ever_returns_the_image_or_its_mirror():
    image = torch.randint(0, 256, (3, 9, 11), dtype=torch.uint8)
    copies = apply_seeded(pipeline("flip-lr"), image, 20, seed=0)
    assert all(torch.equal(c, image) or torch.equal(c, image.flip(-1)) for c in copies)
    assert any(not torch.equal(c, image) for c in copies)


def test_grid_cells_are_identical_for_the_same_seed():
    image = torch.randint(0, 256, (3, 30, 30), dtype=torch.uint8)
    cells, titles = augmentation_grid(image, ["color", "resized-crop"], 2, seed=9)
    again, _ = augmentation_grid(image, ["color", "resized-crop"], 2, seed=9)
    assert len(cells) == len(titles) == 6  # (original + 2) per method
    assert all(torch.equal(a, b) for a, b in zip(cells, again, strict=True))


def test_colour_only_rows_of_a_gray_image_say_they_change_nothing():
    """Gray has no saturation or hue: those rows repeat the original, and without a word a learner
    concludes that the augmentations do nothing. A colour image's rows are titled as usual."""
    gray = torch.randint(0, 256, (1, 30, 30), dtype=torch.uint8).expand(3, -1, -1)
    methods = ["brightness", "saturation", "hue"]
    cells, titles = augmentation_grid(gray, methods, 2, seed=0)
    same = [(cells[row * 3] - cells[row * 3 + k]).abs().max() for row in (1, 2) for k in (1, 2)]
    assert max(same) <= 1 / 255 + 1e-6  # saturation's blend with gray rounds by one level
    assert [titles[row * 3] for row in range(3)] == [
        "brightness\noriginal",
        "saturation\noriginal\n(no effect on gray)",
        "hue\noriginal\n(no effect on gray)",
    ]
    colour = torch.randint(0, 256, (3, 30, 30), dtype=torch.uint8)
    _, titles = augmentation_grid(colour, methods, 2, seed=0)
    assert [titles[row * 3] for row in range(3)] == [f"{m}\noriginal" for m in methods]


def test_cli_notes_that_hue_does_nothing_on_the_gray_default_image(tmp_path, capsys, fashion):
    argv = ["augment", "--out", str(tmp_path / "g.png"), "--count", "1"]
    assert main([*argv, "--methods", "hue,brightness,saturation"]) == 0
    assert "note: hue and saturation change nothing on a gray image" in capsys.readouterr().out
    assert main([*argv, "--methods", "hue"]) == 0
    assert "note: hue changes nothing on a gray image" in capsys.readouterr().out
    assert main([*argv, "--methods", "brightness"]) == 0
    assert "\nnote:" not in capsys.readouterr().out


def test_cli_writes_a_grid_from_an_image_file(tmp_path, capsys, drawn_grids):
    from PIL import Image
    from torchvision.transforms.v2.functional import resize

    pixels = torch.randint(0, 256, (24, 32, 3), dtype=torch.uint8)
    source = tmp_path / "cat.png"
    Image.fromarray(pixels.numpy()).save(source)
    out = tmp_path / "grid.png"
    code = main(["augment", str(source), "--out", str(out), "--count", "2", "--methods", "hue"])
    assert code == 0 and out.stat().st_size > 0
    assert "1 method x 2 copies" in capsys.readouterr().out
    (grid,) = drawn_grids
    assert grid["titles"] == ["hue\noriginal", "hue 1", "hue 2"]
    assert grid["heading"].startswith(f"{source}: the original, then augmented copies")
    assert grid["heading"].endswith("; seed 0")
    # The row starts with the file's own pixels, fitted to the 200x200 cell with its 4:3 aspect
    # kept (200x150, centred on white), then two hue shifts.
    original = resize(pixels.permute(2, 0, 1), [150, 200], antialias=True).float() / 255
    first = grid["images"][0]
    assert first.shape == (3, *CROP_SIZE)
    assert torch.equal(first[:, 25:175], original)
    assert torch.all(first[:, :25] == 1) and torch.all(first[:, 175:] == 1)
    assert not torch.equal(grid["images"][1], first)


def test_cli_given_a_folder_says_to_name_an_image_in_it(tmp_path, capsys):
    assert main(["augment", str(tmp_path), "--out", str(tmp_path / "g.png")]) == 2
    assert (
        capsys.readouterr().err
        == f"d2lkit: error: {tmp_path}: a folder; name one image file in it\n"
    )


def test_cli_refuses_to_write_the_grid_over_its_own_image(tmp_path, capsys, monkeypatch):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(photo)
    before = photo.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["augment", str(photo), "--out", "./photo.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the IMAGE itself" in err
    assert photo.read_bytes() == before


def test_cli_names_a_looping_link_or_a_device_for_what_it_is(tmp_path, capsys):
    """A link loop as IMAGE or as --out gave a RuntimeError traceback; /dev/null, which exists,
    was called "no such image file"."""
    from PIL import Image

    photo, loop, grid = str(tmp_path / "photo.png"), tmp_path / "a.png", str(tmp_path / "g.png")
    Image.new("RGB", (8, 8), (200, 30, 30)).save(photo)
    loop.symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(loop)
    cases = [
        ([str(loop), "--out", grid], f"{loop}: a link that leads round in a loop; name an image"),
        ([photo, "--out", str(loop)], f"{loop}: a link that leads round in a loop; pass a file"),
        (["/dev/null", "--out", grid], "/dev/null: not a regular file (a pipe, socket or device)"),
    ]
    for argv, said in cases:
        assert main(["augment", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err
    assert not Path(grid).exists()


def test_cli_draws_a_method_named_twice_once(tmp_path, capsys, drawn_grids):
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(photo)
    out = str(tmp_path / "grid.png")
    args = ["augment", str(photo), "--out", out, "--count", "1", "--methods", "hue,flip-ud,hue"]
    assert main(args) == 0
    assert "2 methods x 1 copy" in capsys.readouterr().out
    (grid,) = drawn_grids
    assert [title.split("\n")[0] for title in grid["titles"][::2]] == ["hue", "flip-ud"]


@pytest.mark.parametrize(
    "content",
    [None, b"not an image at all", decompression_bomb_png()],
    ids=["missing", "garbage", "bomb"],
)
def test_cli_bad_image_is_one_line_and_exit_2(tmp_path, capsys, content):
    path = tmp_path / "missing.png"
    if content is not None:
        path.write_bytes(content)
    assert main(["augment", str(path), "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert not (tmp_path / "g.png").exists()


def test_a_very_large_image_is_one_line_without_pils_warning(tmp_path, capsys):
    """12000 x 9000 (108 megapixels): PIL warned over two lines before d2lkit's one; 30000 x
    30000 is told to be made smaller, not re-saved."""
    import warnings

    large = tmp_path / "large.png"
    large.write_bytes(decompression_bomb_png(12000, 9000))  # a header, and no pixels
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["augment", str(large), "--out", str(tmp_path / "g.png")]) == 2
    assert not [w for w in caught if "DecompressionBomb" in w.category.__name__]
    huge = tmp_path / "huge.png"
    huge.write_bytes(decompression_bomb_png())
    assert main(["augment", str(huge), "--out", str(tmp_path / "g.png")]) == 2
    assert "too large to open" in capsys.readouterr().err


def test_cli_default_image_is_a_fashion_mnist_sample(tmp_path, capsys, fashion, drawn_grids):
    from torchvision.transforms.v2.functional import resize

    out = tmp_path / "grid.png"
    assert main(["augment", "--out", str(out), "--count", "1", "--methods", "flip-ud"]) == 0
    assert "Fashion-MNIST" in capsys.readouterr().out and out.is_file()
    gray = fashion.test.images[0].expand(3, -1, -1)  # test image 0, as RGB
    (grid,) = drawn_grids
    assert torch.equal(grid["images"][0], resize(gray, list(CROP_SIZE), antialias=True) / 255)


@pytest.mark.parametrize("count", ["0", "17"])
def test_copies_per_method_are_bounded(count, tmp_path, capsys):
    assert main(["augment", "--out", str(tmp_path / "g.png"), "--count", count]) == 2
    assert f"--count must be 1..16 (images in one figure), got {count}" in capsys.readouterr().err


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_a_seed_torch_cannot_take_is_one_line(seed, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's own refusal
        main(["augment", "--out", str(tmp_path / "g.png"), "--seed", seed])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--seed: must be in 0..4294967295, got {seed}" in err


def test_a_one_pixel_high_strip_is_shrunk_without_losing_its_row(tmp_path, capsys):
    from PIL import Image

    source = tmp_path / "strip.png"
    Image.new("RGB", (1000, 1), (10, 200, 10)).save(source)
    argv = ["augment", str(source), "--out", str(tmp_path / "g.png"), "--count", "1"]
    assert main([*argv, "--methods", "flip-lr"]) == 0
    assert "strip.png (shrunk to 400x1)" in capsys.readouterr().out


def test_a_large_photo_is_shrunk_before_it_is_augmented(tmp_path, capsys, drawn_grids):
    """Augmenting 12 megapixels to show 200-pixel cells took half a minute and gigabytes."""
    from PIL import Image

    source = tmp_path / "photo.png"
    Image.new("RGB", (1600, 1200), (200, 30, 30)).save(source)
    argv = ["augment", str(source), "--out", str(tmp_path / "g.png"), "--count", "1"]
    assert main([*argv, "--methods", "flip-lr"]) == 0
    assert "photo.png (shrunk to 400x300)" in capsys.readouterr().out
    (grid,) = drawn_grids
    assert torch.allclose(grid["images"][0][:, 100, 100], torch.tensor([200, 30, 30]) / 255)


@pytest.mark.parametrize(
    ("methods", "message"),
    [("", "--methods names no method"), ("flip-lr,,blur", "unknown augmentation blur;")],
)
def test_empty_or_unknown_methods_are_one_line(methods, message, tmp_path, capsys):
    assert main(["augment", "--out", str(tmp_path / "g.png"), "--methods", methods]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
