"""Fixtures shared by every test folder."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import torch

from d2lkit.data import fashion_mnist
from d2lkit.data.fashion_mnist import FASHION_MNIST, ImageSplit, LoadedIdxDataset

# The tests' models are tiny: one thread is as fast as two, and on a shared, oversubscribed CPU
# several spinning OpenMP threads per process slow every step down by an order of magnitude.
# A subprocess whose results must agree bit for bit with this process sets OMP_NUM_THREADS=1.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def fashion() -> fashion_mnist.LoadedIdxDataset:
    """The real Fashion-MNIST, loaded once per session (never downloaded by a test)."""
    return fashion_mnist.load(download=False)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that reaches for the network fails instead of downloading."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a URL")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, $D2LKIT_DATA and the system folder all point at empty tmp folders."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("D2LKIT_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "system" / "fashion-mnist")
    return home


# A tiny learnable stand-in for Fashion-MNIST, so trainer and CLI tests take milliseconds; tests
# that need the real data use `fashion`.
TINY_TRAIN, TINY_TEST = 256, 128


def tiny_split(count: int, seed: int) -> ImageSplit:
    """Noise images with a bright horizontal band whose height encodes the class."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 80, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for k in range(10):
        images[labels == k, 2 * k + 4 : 2 * k + 8, :] += 170
    return ImageSplit(images, labels)


@pytest.fixture
def tiny_fashion(monkeypatch: pytest.MonkeyPatch) -> LoadedIdxDataset:
    """`fashion_mnist.load` returns 256 train / 128 test 28x28 images of 10 classes."""
    data = LoadedIdxDataset(
        tiny_split(TINY_TRAIN, 0), tiny_split(TINY_TEST, 1), FASHION_MNIST.classes, Path("tiny")
    )
    monkeypatch.setattr(fashion_mnist, "load", lambda *args, **kwargs: data)
    return data


@pytest.fixture
def saved_figures(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every matplotlib Figure saved during the test, in order (still written to disk), so a test
    can check what was drawn, not only that a PNG appeared."""
    from matplotlib.figure import Figure

    figures = []
    savefig = Figure.savefig

    def recording(self, *args, **kwargs):
        figures.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return figures


@pytest.fixture
def drawn_grids(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every image grid saved during the test (its images and titles), still written to disk, so
    a test can check which pictures a figure shows."""
    from d2lkit.report import grids

    drawn = []
    save = grids.save_image_grid

    def recording(images, titles, out, **kwargs):
        drawn.append({"images": images, "titles": list(titles), "heading": kwargs.get("heading")})
        return save(images, titles, out, **kwargs)

    monkeypatch.setattr(grids, "save_image_grid", recording)
    return drawn
