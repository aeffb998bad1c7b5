"""One writer per run directory: a second d2lkit process training, resuming or reproducing into a
folder another one is writing is refused, instead of mixing its epochs into the first one's files
(and removing the temporary files the first one is still writing).

The lock is the operating system's (flock on the folder itself): it goes with the process, so a
killed run leaves nothing to clean up. Forked children (DataLoader workers, which may outlive the
run) close their copy at once, or the lock would last as long as they do."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from d2lkit.errors import D2lkitError
from d2lkit.train import distributed

_HELD: set[int] = set()  # this process's lock descriptors


def _release_in_child() -> None:
    for descriptor in _HELD:
        os.close(descriptor)
    _HELD.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_release_in_child)


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Make `folder` and hold it while the block runs (on rank 0 under torchrun: the only rank
    that writes); a folder another process holds is one line on every rank."""
    held: list[int] = []

    def hold() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        held.append(locked(folder))

    distributed.on_main(hold)
    try:
        yield
    finally:
        for descriptor in held:
            unlock(descriptor)


def locked(folder: Path) -> int:
    """An open descriptor of `folder` holding its exclusive lock."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one writer is then the user's care
        return os.open(folder, os.O_RDONLY)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise D2lkitError(
            f"{folder}: another d2lkit process is writing this folder; wait for it to finish,"
            " or choose another one"
        ) from None
    _HELD.add(descriptor)
    return descriptor


def unlock(descriptor: int) -> None:
    """Release a lock `locked` took."""
    _HELD.discard(descriptor)
    os.close(descriptor)
