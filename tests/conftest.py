"""Fixtures shared by every test folder."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from d2lkit.data import fashion_mnist


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
