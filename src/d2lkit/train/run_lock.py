"""One writer per run directory: a second d2lkit process training, resuming or reproducing into a
folder another one is writing is refused, instead of mixing its epochs into the first one's files
(and removing the temporary files the first one is still writing).

The lock is the operating system's (flock on the folder itself): it goes with the process, so a
killed run leaves nothing to clean up. Forked children (DataLoader workers, which may outlive the
run) close their copy at once, or the lock would last as long as they do."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from d2lkit.errors import D2lkitError
from d2lkit.train import distributed

_HELD: set[int] = set()  # this process's lock descriptors
_DEPTH: dict[Path, tuple[int | None, int]] = {}  # folder -> (its descriptor, how many hold it)
# Filesystems that cannot lock (Lustre without -o flock, NFS without lockd, some FUSE): d2lkit
# goes on without the lock there rather than refuse to train.
CANNOT_LOCK = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP)


def _release_in_child() -> None:
    for descriptor in _HELD:
        os.close(descriptor)
    _HELD.clear()
    _DEPTH.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_release_in_child)


@contextlib.contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Make `folder` and hold it while the block runs (on rank 0 under torchrun: the only rank
    that writes); a folder another process holds is one line on every rank. Re-entrant: a
    recipe run holds its folder around the training run, which holds it again."""
    key = folder.resolve()

    def hold() -> None:
        descriptor, depth = _DEPTH.get(key, (None, 0))
        if depth == 0:
            folder.mkdir(parents=True, exist_ok=True)
            descriptor = locked(folder)
        _DEPTH[key] = (descriptor, depth + 1)

    distributed.on_main(hold)
    try:
        yield
    finally:
        if key in _DEPTH:  # rank 0 only
            descriptor, depth = _DEPTH.pop(key)
            if depth > 1:
                _DEPTH[key] = (descriptor, depth - 1)
            elif descriptor is not None:
                unlock(descriptor)


def locked(folder: Path) -> int | None:
    """An open descriptor of `folder` holding its exclusive lock (None where the system cannot
    lock folders)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one writer is then the user's care
        return None
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise D2lkitError(
            f"{folder}: another d2lkit process is writing this folder; wait for it to finish,"
            " or choose another one"
        ) from None
    except OSError as err:
        os.close(descriptor)
        if err.errno in CANNOT_LOCK:
            return None
        raise
    _HELD.add(descriptor)
    return descriptor


def held_elsewhere(folder: Path) -> bool:
    """Whether another process holds `folder` now: a run in progress there, not a finished one
    to be resumed."""
    if folder.resolve() in _DEPTH:  # this process's own
        return False
    try:
        descriptor = locked(folder)
    except D2lkitError:  # the lock is another's
        return True
    except OSError:  # a folder that cannot be opened: no one's run to wait for
        return False
    if descriptor is not None:  # None: a filesystem without locks
        unlock(descriptor)
    return False


def unlock(descriptor: int) -> None:
    """Release a lock `locked` took."""
    _HELD.discard(descriptor)
    os.close(descriptor)
