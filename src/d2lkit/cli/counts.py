"""The rules for every `--count` of images in a figure, every `--seed` and every folder `--out`."""

from __future__ import annotations

import argparse

from d2lkit.errors import D2lkitError
from d2lkit.train.config import SEED_LIMIT

MOST_IMAGES = 144  # 16 rows of 9: past that the titles are unreadable and the figure takes GBs


def check_image_count(count: int, most: int = MOST_IMAGES, what: str = "images") -> None:
    if not 1 <= count <= most:
        raise D2lkitError(f"--count must be 1..{most} ({what} in one figure), got {count}")


def seed_number(text: str) -> int:
    """argparse type of --seed: an integer in 0..2**32-1 (a bad one is argparse's one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be in 0..{SEED_LIMIT - 1}, got {value}")
    return value


def folder_name(text: str) -> str:
    """argparse type of a folder --out: not empty. `--out "$DIR"` with DIR unset would be the
    current folder, and the command would fill it with its files."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name; name a folder")
    return text
