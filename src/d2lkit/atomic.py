"""Files that are never seen half-written: summary.json marks a run as finished and the checkpoint
is the run, so a crash (or a full disk) mid-write must leave the previous file (or none), not a
truncated one; the same for reports and figures, which are drawn anew after every epoch."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], None], durable: bool = False) -> None:
    """Let `write` fill a temporary file of its own beside `path`, then rename it over `path`; on
    any failure the temporary file is removed and `path` is as it was. A symlink is followed
    (its target is replaced) and an existing file keeps its mode. `durable`: the file and the
    rename are synced to the disk before this returns (a power cut keeps them too)."""
    path = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~current_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:  # a read-only folder: name the file asked for, not our hidden one
        raise OSError(err.errno, err.strerror, str(path)) from None
    os.close(fd)
    try:
        write(Path(tmp))
        if durable:
            sync(tmp)
        os.chmod(tmp, mode)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno and err.filename in (None, "", tmp):
            # A full disk fails the temporary file's write, which names no file, and a folder
            # standing where the file goes fails the rename, which names our hidden one: name
            # the file asked for.
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    remove_stale_temporaries(path)
    if durable:
        sync(path.parent)  # the rename


def sync(path: str | Path) -> None:
    """fsync a file's data, or a folder's names (a rename's result)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def remove_stale_temporaries(path: Path) -> None:
    """Temporary files of `path` left by a process killed mid-write are debris once a newer
    `path` is in place (one writer per run directory: see train/run_lock.py)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
