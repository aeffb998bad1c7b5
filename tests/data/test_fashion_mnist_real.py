"""Integration: the real Fashion-MNIST as found on this machine (the Debian package in CI)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import torch

from d2lkit.data import download, fashion_mnist


def test_shapes_dtypes_and_labels(fashion):
    assert fashion.train.images.shape == (60000, 28, 28)
    assert fashion.test.images.shape == (10000, 28, 28)
    assert fashion.train.images.dtype == torch.uint8 and fashion.test.images.dtype == torch.uint8
    assert fashion.train.labels.shape == (60000,) and fashion.test.labels.shape == (10000,)
    assert fashion.train.labels.dtype == torch.int64
    assert fashion.train.labels.min() == 0 and fashion.train.labels.max() == 9


def test_classes_are_balanced(fashion):
    assert torch.bincount(fashion.train.labels, minlength=10).tolist() == [6000] * 10
    assert torch.bincount(fashion.test.labels, minlength=10).tolist() == [1000] * 10


def test_text_labels(fashion):
    assert len(fashion.classes) == 10
    assert fashion.classes[0] == "t-shirt" and fashion.classes[9] == "ankle boot"


def test_images_are_not_blank(fashion):
    # Pixels span the full uint8 range and an average image is mostly dark background.
    assert fashion.train.images.max() == 255 and fashion.train.images.min() == 0
    assert 50 < fashion.test.images.float().mean() < 100


def test_download_path_verifies_the_real_files(fashion, tmp_path):
    """download_to with a fetch that copies the located .gz files: the official checksums pass."""
    found = fashion.root

    def copy_from_disk(url: str, dest: Path) -> None:
        name = url.rsplit("/", 1)[-1]
        source = found / name
        if not source.is_file():  # raw files on disk: serve them gzipped like a mirror
            dest.write_bytes(gzip.compress((found / name.removesuffix(".gz")).read_bytes()))
            return
        shutil.copyfile(source, dest)

    directory = download.download_to(tmp_path / "cache", fetch=copy_from_disk)
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted(f.stem + ".gz" for f in fashion_mnist.FASHION_MNIST.files)
    again = fashion_mnist.load(directory, download=False)
    assert torch.equal(again.test.labels, fashion.test.labels)
