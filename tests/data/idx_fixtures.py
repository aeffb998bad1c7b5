"""Tiny IDX datasets written by the tests themselves (DESIGN.md §3: tests never download)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from d2lkit.data.fashion_mnist import IdxFile, IdxSource

TRAIN_COUNT, TEST_COUNT, SIDE = 12, 6, 4


def idx_bytes(array: np.ndarray) -> bytes:
    """An uint8 array as an IDX file: 00 00 08 ndim, big-endian uint32 sizes, the elements."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (TRAIN_COUNT, SIDE, SIDE), np.uint8),
        "train-labels-idx1-ubyte": np.arange(TRAIN_COUNT, dtype=np.uint8) % 3,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (TEST_COUNT, SIDE, SIDE), np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(TEST_COUNT, dtype=np.uint8) % 3,
    }


def tiny_source(arrays: dict[str, np.ndarray], name: str = "tiny") -> IdxSource:
    """An IdxSource whose checksums are those of `arrays` (and whose mirrors are fake)."""

    def entry(stem: str) -> IdxFile:
        array = arrays[stem]
        return IdxFile(stem, hashlib.sha256(idx_bytes(array)).hexdigest(), array.ndim)

    return IdxSource(
        name=name,
        train_images=entry("train-images-idx3-ubyte"),
        train_labels=entry("train-labels-idx1-ubyte"),
        test_images=entry("t10k-images-idx3-ubyte"),
        test_labels=entry("t10k-labels-idx1-ubyte"),
        mirrors=("http://mirror-a.invalid/", "http://mirror-b.invalid/"),
        classes=("zero", "one", "two"),
    )


def write_idx(path: Path, data: bytes, gz: bool) -> Path:
    path = path.with_name(path.name + ".gz") if gz else path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_dataset(directory: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    for stem, array in arrays.items():
        write_idx(directory / stem, idx_bytes(array), gz)
    return directory
