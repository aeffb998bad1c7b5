"""The progress bar: live on a terminal, silent in a log file (the epoch table rows remain)."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace

import pytest

from d2lkit.train.callbacks import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def epoch_bar(monkeypatch, stream: io.StringIO, enabled: bool = True) -> ProgressBar:
    monkeypatch.setattr(sys, "stderr", stream)
    trainer = SimpleNamespace(train_loader=range(5), epoch=1, epochs=1)
    bar = ProgressBar(enabled=enabled)
    bar.on_epoch_start(trainer)
    return bar


@pytest.mark.parametrize(
    ("stream", "enabled", "shown"),
    [(Terminal(), True, True), (io.StringIO(), True, False), (Terminal(), False, False)],
)
def test_the_bar_shows_only_on_a_terminal_and_when_enabled(monkeypatch, stream, enabled, shown):
    bar = epoch_bar(monkeypatch, stream, enabled)
    bar.bar.close()
    assert ("0/5 [" in stream.getvalue()) is shown
