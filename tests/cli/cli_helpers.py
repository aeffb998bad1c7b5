"""Calling the CLI in-process, the shape every bad-input error must have, and a small image
folder to point it at."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from d2lkit.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `d2lkit ARGS`."""
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit code 2 and one `d2lkit[ COMMAND]: error: ...` line (ours or argparse's) holding each
    fragment, no traceback."""
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("d2lkit") and "error: " in lines[0] and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write_tree(root: Path, classes: tuple[str, ...]) -> Path:
    """Each class a flat colour of its own, so a small LeNet tells them apart."""
    colours = [(220, 30, 30), (30, 30, 220), (30, 200, 30)]
    for split, count in (("train", 6), ("test", 4)):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (24, 24), colours[label]).save(folder / f"{i}.png")
    return root
