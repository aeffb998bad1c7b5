"""A strict reader for the IDX format of (Fashion-)MNIST.

Layout: 2 zero bytes, 1 byte element type (0x08 = uint8), 1 byte dimension count, then each
dimension as a big-endian uint32, then the elements. Every check raises `D2lkitError` naming the
file, never `assert` (which `python -O` drops).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from d2lkit.errors import D2lkitError

UINT8_TYPE = 0x08


def read_bytes(path: Path, compressed: bool | None = None) -> bytes:
    """The decompressed bytes of `path`: gzip when `compressed` (default: the name ends in .gz)."""
    if compressed is None:
        compressed = path.suffix == ".gz"
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if compressed else raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise D2lkitError(f"{path}: corrupt or truncated gzip file ({err})") from None
    except OSError as err:
        raise D2lkitError(f"{path}: cannot read ({err.strerror})") from None


def parse_idx(data: bytes, path: Path, expected_ndim: int) -> torch.Tensor:
    """Parse IDX bytes into a uint8 tensor of `expected_ndim` dimensions (1 labels, 3 images)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != UINT8_TYPE:
        raise D2lkitError(
            f"{path}: bad magic number {data[:4].hex() or 'empty'}"
            f" (expected 0000 08 0{expected_ndim}); not an IDX uint8 file"
        )
    ndim = data[3]
    if ndim != expected_ndim:
        raise D2lkitError(f"{path}: has {ndim} dimensions, expected {expected_ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise D2lkitError(f"{path}: header cut short ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise D2lkitError(
            f"{path}: shape {shape} needs {expected} bytes but the file holds {len(data)};"
            " the file is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    return torch.from_numpy(array.copy())
