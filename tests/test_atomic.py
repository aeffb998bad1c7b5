"""write_atomic: a file holds either its old content or the new, never a part of one."""

from __future__ import annotations

import json

import pytest

from d2lkit.atomic import write_atomic, write_text_atomic
from d2lkit.jsonfile import write_json_atomic


def test_a_write_that_fails_midway_keeps_the_previous_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"epoch": 1})

    def full_disk(tmp):  # writes a few bytes, then fails
        tmp.write_text('{"ep')
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomic(path, full_disk)
    assert json.loads(path.read_text()) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_a_symlinked_file_is_replaced_through_its_link_and_keeps_its_mode(tmp_path):
    """--readme on a README.md that links to docs/README.md must update docs/README.md."""
    target = tmp_path / "docs" / "README.md"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o664)
    link = tmp_path / "README.md"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o664


def test_a_failed_write_names_the_file_it_was_for(tmp_path):
    import errno

    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a temporary file's write

    with pytest.raises(OSError) as err:
        write_atomic(tmp_path / "summary.json", full)
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(tmp_path / "summary.json"))


def test_a_durable_write_syncs_the_file_and_its_rename(tmp_path, monkeypatch):
    """Checkpoints are the run: they reach the disk before training goes on (a JSON file need
    not wait)."""
    import os

    import torch

    from d2lkit import atomic
    from d2lkit.train.checkpoint import save_checkpoint

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    save_checkpoint({"w": torch.zeros(3)}, tmp_path / "checkpoint.pt")
    assert len(synced) == 2  # the temporary file, then the folder that renamed it
    write_text_atomic(tmp_path / "summary.json", "{}")
    assert len(synced) == 2


def test_a_folder_that_takes_no_new_file_names_the_file_asked_for(tmp_path, monkeypatch):
    """A read-only folder refuses the hidden temporary file first; its name means nothing to the
    user, who asked for figure.png (tests may run as root, so the refusal is simulated)."""
    import tempfile

    def read_only(dir, prefix, suffix):
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError) as err:
        write_text_atomic(tmp_path / "figure.png", "x")
    assert err.value.filename == str(tmp_path / "figure.png")
    assert err.value.strerror == "Permission denied"


def test_a_folder_where_the_file_goes_names_the_file_asked_for(tmp_path):
    """`bench --out DIR` with a folder DIR/bench.json failed the rename with the name of our
    hidden temporary file; the folder is left as it was."""
    import errno

    (tmp_path / "bench.json").mkdir()
    with pytest.raises(OSError) as err:
        write_text_atomic(tmp_path / "bench.json", "{}")
    assert err.value.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST)
    assert err.value.filename == str(tmp_path / "bench.json")
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]
