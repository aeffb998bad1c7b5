"""`d2lkit data check imagefolder:PATH`: every image decoded, every bad file named at once."""

from __future__ import annotations

import os
from pathlib import Path

from cli_helpers import assert_one_line_error, run_cli, write_tree
from PIL import Image

import d2lkit.data.folder_check as folder_check
import d2lkit.data.image_file as image_file
import d2lkit.data.imagefolder as imagefolder


def test_a_good_folder_is_described_and_passes(tmp_path, capsys):
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    Image.new("RGB", (40, 30)).save(tree / "train" / "dog" / "big.png")
    code, out, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert code == 0, err
    assert out.splitlines() == [
        f"imagefolder:{tree}",
        "  train: 13 images in 2 classes, 6 to 7 per class (fewest: cat);"
        " smallest 24x24, largest 40x30 pixels",
        "  test: 8 images in 2 classes, 4 per class; smallest 24x24, largest 24x24 pixels",
        "every image decoded: ready to train on",
    ]


def test_every_problem_and_every_file_left_out_is_listed(tmp_path, capsys):
    """Training meets the first bad file when a batch needs it, an epoch in, one per run; the
    check decodes them all, in both splits, and names files of other kinds it leaves out."""
    tree = write_tree(tmp_path / "pets", ("cat", "dog", "fox"))
    cats, dogs = tree / "train" / "cat", tree / "test" / "dog"
    (cats / "page.png").write_text("<html>not found</html>")
    (cats / "empty.png").write_bytes(b"")  # a failed download: training stopped at the first
    (cats / "also-empty.png").write_bytes(b"")
    good = (dogs / "0.png").read_bytes()
    (dogs / "cut.png").write_bytes(good[: len(good) // 2])
    for name in ("0.jfif", "1.jfif", "notes.txt", "README", "LICENSE"):
        (cats / name).write_text("not an image ImageFolder reads")
    (cats / ".DS_Store").write_bytes(b"\0")  # another tool's: not counted
    for old in (tree / "test" / "fox").iterdir():  # only a kind ImageFolder leaves out
        old.rename(old.with_suffix(".heic"))
    code, out, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"{tree}: 5 problems listed above, each of which would stop")
    lines = out.splitlines()
    assert lines[2].startswith(
        "    left out: 5 files of other kinds (.jfif x2, no suffix x2, .txt x1); imagefolder reads"
    )
    problems = [line.strip() for line in lines if line.startswith("    /")]
    assert problems == [
        f"{cats / 'also-empty.png'}: empty file (0 bytes); replace or delete it",
        f"{cats / 'empty.png'}: empty file (0 bytes); replace or delete it",
        f"{cats / 'page.png'}: not a readable image (cannot identify image file"
        f" '{cats / 'page.png'}'); re-save it with an image editor or remove it",
        f"{tree / 'test' / 'fox'}: empty class folder (no .jpg .jpeg .png .ppm .bmp .pgm .tif"
        " .tiff .webp .gif files); add images or remove the folder",
        next(line for line in problems if line.startswith(f"{dogs / 'cut.png'}: not a readable")),
    ]
    assert "left out: 4 files of other kinds (.heic x4)" in out


def test_only_an_image_folder_is_checked(tmp_path, capsys):
    code, _, err = run_cli(["data", "check", "fashion-mnist"], capsys)
    assert_one_line_error(code, err, "reads imagefolder:PATH, not 'fashion-mnist'; `data info`")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tmp_path / 'none'}"], capsys)
    assert_one_line_error(code, err, "none: no such folder")


def test_no_progress_makes_no_bar_even_on_a_terminal(tmp_path, capsys, monkeypatch):
    made = []
    real = folder_check.tqdm

    def recording(*args, **kwargs):
        made.append(kwargs["disable"])
        return real(*args, **kwargs)

    monkeypatch.setattr(folder_check, "tqdm", recording)
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    assert run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)[0] == 0
    assert run_cli(["data", "check", f"imagefolder:{tree}"], capsys)[0] == 0
    # True: never; None: tqdm's own choice, a bar on a terminal only.
    assert made == [True, True, None, None]


def test_a_folder_of_test_images_alone_is_checked_for_eval(tmp_path, capsys):
    """eval and predict read test/ only, so a folder of new test images has no train/."""
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    for image in (tree / "train").rglob("*.png"):
        image.unlink()
    for folder in sorted((tree / "train").rglob("*"), reverse=True) + [tree / "train"]:
        folder.rmdir()
    code, out, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert code == 0, err
    assert out.splitlines()[1:] == [
        "  test: 8 images in 2 classes, 4 per class; smallest 24x24, largest 24x24 pixels",
        "every image decoded: ready for eval and predict (training needs train/ too)",
    ]
    (tree / "test" / "cat" / "0.png").write_bytes(b"")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, "1 problem listed above, each of which would stop a test pass")


def test_a_train_folder_alone_still_needs_its_test_split(tmp_path, capsys):
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    (tree / "test").rename(tree / "val")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"{tree / 'test'}: missing", "rename it test")


def test_a_pipe_and_folders_or_files_without_permission_are_said_to_be_so(
    tmp_path, capsys, monkeypatch
):
    """Tests may run as root, who reads everything: the refusals are the operating system's."""
    tree = write_tree(tmp_path / "pets", ("cat", "dog", "fox"))
    fox = tree / "train" / "fox"
    for image in fox.iterdir():
        image.unlink()  # as os.walk sees a folder it may not read: empty
    os.mkfifo(tree / "train" / "cat" / "stream.png")
    locked = tree / "test" / "dog" / "0.png"
    real_access, real_open = os.access, image_file.Image.open

    def access(path, mode):
        return Path(path) != fox and real_access(path, mode)

    def image_open(path, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(imagefolder.os, "access", access)
    monkeypatch.setattr(image_file.Image, "open", image_open)
    code, out, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, "3 problems listed above")
    problems = [line.strip() for line in out.splitlines() if line.startswith("    /")]
    assert problems == [
        f"{tree / 'train' / 'cat' / 'stream.png'}: not a regular file (a pipe, socket or device);"
        " replace or delete it",
        f"{fox}: no permission to read this folder; check its permissions (chmod)",
        f"{locked}: no permission to read it; check its permissions (chmod)",
    ]


def test_a_split_named_as_dot_from_inside_it_points_to_the_folder_above(
    tmp_path, capsys, monkeypatch
):
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    monkeypatch.chdir(tree / "train")
    code, _, err = run_cli(["data", "check", "imagefolder:.", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"(. is a split itself: pass imagefolder:{tree})")


def test_a_train_split_that_is_a_file_or_a_broken_link_is_named_so(tmp_path, capsys):
    """Neither is a folder of test images alone: the user meant a train/ that is not there."""
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    (tree / "train").rename(tmp_path / "elsewhere")
    (tree / "train").write_text("not a folder")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"{tree / 'train'}: a file, not a folder;")
    (tree / "train").unlink()
    (tree / "train").symlink_to(tmp_path / "moved")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"{tree / 'train'}: a broken link;")
