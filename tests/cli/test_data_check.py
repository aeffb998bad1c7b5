"""`d2lkit data check imagefolder:PATH`: every image decoded, every bad file named at once."""

from __future__ import annotations

from cli_helpers import assert_one_line_error, run_cli, write_tree
from PIL import Image

import d2lkit.data.folder_check as folder_check


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
