"""Decoding one image file, with one clear line naming the file when it cannot be read.

Image folders, the VOC reader and `d2lkit augment` all read images through here, so that every
undecodable file (truncated, not an image, or a decompression bomb) is refused the same way."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms.v2.functional import pil_to_tensor

from d2lkit.errors import D2lkitError

WIDE_GRAY_MODES = ("I", "I;16", "I;16B", "I;16L")  # 16- and 32-bit one-channel integers
GRAY_MODES = ("L", "LA", *WIDE_GRAY_MODES)  # LA: gray with alpha, as image editors export it

# DecompressionBombError: a header claiming far more pixels than any photo holds; ValueError:
# a header PIL parses but cannot convert; SyntaxError: PIL's word for a PNG chunk that is garbage.
UNREADABLE = (
    UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError
)  # fmt: skip


@contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """`Image.open`, without PIL's warnings on stderr, in the middle of the epoch table, while
    the image is read (in the caller's `with` too): DecompressionBombWarning for images over 89
    megapixels, read all the same (a photo that large is shrunk by the reader; twice that is
    PIL's error, which `unreadable` words), and UserWarnings on damaged metadata such as a phone
    photo's corrupt EXIF block, whose pixels are fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        with Image.open(path) as image:
            yield image


def open_rgb(path: str | Path) -> Image.Image:
    """The photo at `path` upright, in RGB (ImageFolder's loader)."""
    try:
        with open_image(path) as image:
            return as_rgb(upright(image))
    except UNREADABLE as err:
        raise unreadable(path, err) from None


def as_rgb(image: Image.Image) -> Image.Image:
    """`image` in RGB. 16-bit gray is scaled to 8 bits first: PIL's own conversion clips every
    value above 255, which turns a 16-bit photo white. Float gray (a scientific TIFF) is read as
    0 to 1, the range such images are saved in; PIL's conversion made it black and white. Floats
    outside it have no agreed meaning as pixels, so they are refused (ValueError)."""
    if image.mode in WIDE_GRAY_MODES:
        pixels = np.asarray(image, dtype=np.float64) / 257  # 65535 -> 255
        image = Image.fromarray(pixels.clip(0, 255).round().astype(np.uint8))
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        undefined = int(np.isnan(pixels).sum())
        if undefined:
            raise ValueError(f"{undefined} float pixel(s) are NaN, not within 0 to 1")
        low, high = float(pixels.min(initial=np.inf)), float(pixels.max(initial=-np.inf))
        if pixels.size and not (low >= 0.0 and high <= 1.0):
            raise ValueError(f"float pixels from {low:g} to {high:g}, not within 0 to 1")
        image = Image.fromarray((pixels * 255).round().astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        # PIL warns (into the training table) when such a palette goes straight to RGB; through
        # RGBA gives the same pixels, the alpha then dropped.
        image = image.convert("RGBA")
    return image.convert("RGB")


def upright(image: Image.Image) -> Image.Image:
    """`image` turned as its EXIF Orientation tag says: phones store a portrait photo sideways
    and tag it, and every viewer (but not PIL) shows it upright."""
    return ImageOps.exif_transpose(image)


def read_image(
    path: str | Path, keep_gray: bool = False, follow_exif: bool = False
) -> torch.Tensor:
    """The image at `path` as uint8 RGB (3, H, W), palette PNGs converted through their palette;
    with `keep_gray`, a gray image (8-bit with or without alpha, or 16/32-bit as numpy and
    OpenCV save label maps) stays (1, H, W) of int64, its values untouched. `follow_exif` turns a
    photo upright; pixels as stored otherwise (VOC's label maps carry no EXIF tag, and are
    drawn on the stored pixels of their images)."""
    try:
        with open_image(path) as image:
            if keep_gray and image.mode in GRAY_MODES:
                gray = image.getchannel("L") if image.mode == "LA" else image  # alpha: no class
                return torch.from_numpy(np.asarray(gray).astype(np.int64))[None]
            return pil_to_tensor(as_rgb(upright(image) if follow_exif else image))
    except UNREADABLE as err:
        raise unreadable(path, err) from None


class UnreadableImage(D2lkitError):
    """An image file PIL cannot decode (a DataLoader worker's is raised again as this class)."""


def unreadable(path: str | Path, err: Exception) -> UnreadableImage:
    if isinstance(err, PermissionError):  # the image may be fine: re-saving it is no answer
        return UnreadableImage(f"{path}: no permission to read it; check its permissions (chmod)")
    if isinstance(err, Image.DecompressionBombError):  # re-saving it would not help
        return UnreadableImage(
            f"{path}: too large to open ({err}); make it smaller with an image editor or remove it"
        )
    # Most such files are photos cut short by a copy; naming a format would be no help for them.
    return UnreadableImage(
        f"{path}: not a readable image ({err}); re-save it with an image editor or remove it"
    )
