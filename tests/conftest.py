"""Fixtures shared by every test folder."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import torch

from d2lkit.data import fashion_mnist

# The tests' models are tiny: one thread is as fast as two, and on a shared, oversubscribed CPU
# several spinning OpenMP threads per process slow every step down by an order of magnitude.
# Subprocesses get the same setting through SUBPROCESS_ENV, so results agree bit for bit.
torch.set_num_threads(1)
SUBPROCESS_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


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
