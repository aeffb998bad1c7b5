"""write_json_atomic: the file holds either the old JSON or the new, never a part of one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from d2lkit.jsonfile import write_json_atomic


def test_writes_indented_json_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"test_acc": 0.9})
    assert json.loads(path.read_text()) == {"test_acc": 0.9}
    assert path.read_text().endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_write_that_fails_midway_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"epoch": 1})
    write_text = Path.write_text

    def disk_full(self: Path, text: str) -> int:  # writes a few bytes, then fails
        write_text(self, text[:5])
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_json_atomic(path, {"epoch": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"epoch": 1}
