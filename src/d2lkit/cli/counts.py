"""The one rule for every `--count` of images in a figure."""

from __future__ import annotations

from d2lkit.errors import D2lkitError

MOST_IMAGES = 144  # 16 rows of 9: past that the titles are unreadable and the figure takes GBs


def check_image_count(count: int, most: int = MOST_IMAGES, what: str = "images") -> None:
    if not 1 <= count <= most:
        raise D2lkitError(f"--count must be 1..{most} ({what} in one figure), got {count}")
