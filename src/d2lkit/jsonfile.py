"""Files that are never seen half-written: summary.json marks a run as finished, so a crash (or a
full disk) mid-write must leave the previous file (or none), not a truncated one; the same for
reports and figures."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from d2lkit.errors import D2lkitError

# Never "delete the folder": a run directory's checkpoint is the run, a reproduce folder holds
# every recipe's runs.
DAMAGED_FIX = "delete it and run the command again"


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Let `write` fill a temporary file of its own beside `path`, then rename it over `path`; on
    any failure the temporary file is removed and `path` is as it was. A symlink is followed
    (its target is replaced) and an existing file keeps its mode."""
    path = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, mode)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno and not err.filename:
            # A full disk fails the temporary file's write, which names no file: name ours.
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    remove_stale_temporaries(path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text))


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def remove_stale_temporaries(path: Path) -> None:
    """Temporary files of `path` left by a process killed mid-write are debris once a newer
    `path` is in place (one writer per run directory: see train/run_lock.py)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def write_json_atomic(path: Path, value: dict) -> None:
    """Write `value` as indented JSON, atomically (`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def read_json(path: Path) -> dict:
    """A JSON object d2lkit wrote; a damaged one (hand-edited, truncated by a full disk) is one
    line that names it."""
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise D2lkitError(f"{path}: damaged ({err}); {DAMAGED_FIX}") from None
    if not isinstance(value, dict):
        raise D2lkitError(
            f"{path}: damaged (a JSON {type(value).__name__}, not an object); {DAMAGED_FIX}"
        )
    return value
