"""`d2lkit data check imagefolder:PATH`: every image decoded, every bad file named at once."""

from __future__ import annotations

import shutil

from cli_helpers import assert_one_line_error, run_cli, write_tree
from PIL import Image


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


def test_every_unreadable_image_and_every_file_left_out_is_listed(tmp_path, capsys):
    """Training meets the first bad file when a batch needs it, an epoch in, one per run; the
    check decodes them all, in both splits, and names files of other kinds it leaves out."""
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    (tree / "train" / "cat" / "page.png").write_text("<html>not found</html>")
    good = (tree / "test" / "dog" / "0.png").read_bytes()
    (tree / "test" / "dog" / "cut.png").write_bytes(good[: len(good) // 2])
    shutil.copy(tree / "train" / "cat" / "0.png", tree / "train" / "cat" / "0.jfif")
    (tree / "train" / "cat" / "notes.txt").write_text("labels by hand")
    (tree / "train" / "cat" / ".DS_Store").write_bytes(b"\0")  # another tool's: not counted
    code, out, err = run_cli(["data", "check", f"imagefolder:{tree}", "--no-progress"], capsys)
    assert_one_line_error(code, err, f"{tree}: 2 of 22 images are unreadable (listed above)")
    lines = out.splitlines()
    assert lines[2].startswith(
        "    left out: 2 files of other kinds (.jfif x1, .txt x1); imagefolder reads .jpg"
    )
    bad = [line.strip() for line in lines if "not a readable image" in line]
    assert [line.split(":")[0] for line in bad] == [
        str(tree / "train" / "cat" / "page.png"),
        str(tree / "test" / "dog" / "cut.png"),
    ]


def test_only_an_image_folder_is_checked(tmp_path, capsys):
    code, _, err = run_cli(["data", "check", "fashion-mnist"], capsys)
    assert_one_line_error(code, err, "reads imagefolder:PATH, not 'fashion-mnist'; `data info`")
    code, _, err = run_cli(["data", "check", f"imagefolder:{tmp_path / 'none'}"], capsys)
    assert_one_line_error(code, err, "none: no such folder")
