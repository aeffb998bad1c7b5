"""Atomic checkpoints holding everything an exact resume needs.

Written to a temporary file in the same folder, synced, then renamed over the old one
(d2lkit.atomic): a crash at any moment leaves either the previous checkpoint or the new one, never
a partial file under the real name. Loaded with `weights_only=True` only, so a crafted file cannot
run code.
"""

from __future__ import annotations

import errno
import os
import pickle
import random
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from d2lkit.atomic import write_atomic
from d2lkit.errors import D2lkitError


def save_checkpoint(state: dict, path: str | Path) -> Path:
    """torch.save `state` to `path` atomically and durably (`write_atomic`), so that a crash
    leaves the previous file whole. Returns `path`."""
    path = Path(path)
    if path.is_dir():
        raise D2lkitError(f"{path}: a folder; pass a file name such as {path / 'checkpoint.pt'}")
    path.parent.mkdir(parents=True, exist_ok=True)

    def save(tmp: Path) -> None:
        try:
            with open(tmp, "wb") as f:
                torch.save(state, f)
        except RuntimeError as err:  # torch reports a failed write as its own error
            if disk_full(path):  # torch says only "unexpected pos ...": say what it is
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from err
            raise

    write_atomic(path, save, durable=True)
    return path


# d2lkit writes checkpoints atomically, so an unreadable one was damaged or made elsewhere.
UNREADABLE_FIX = (
    "; it is damaged or was not written by torch.save: save it again (for a run's checkpoint.pt,"
    " train the run again)"
)


FULL_DISK_BYTES = 64 * 2**20  # less free space than this after a failed save: the disk is full


def disk_full(path: Path) -> bool:
    """Whether the disk `path` is on has (next to) no room left."""
    return shutil.disk_usage(path.parent).free < FULL_DISK_BYTES


def load_checkpoint(path: str | Path) -> dict:
    """The checkpoint's tensors on the CPU (the caller moves them), unpickled safely."""
    path = Path(path)
    if not path.is_file():
        raise D2lkitError(f"{path}: no such checkpoint file")
    try:
        with warnings.catch_warnings():
            # torch still validates a sparse tensor; its note that this takes time is no news to
            # the user, and no caller takes sparse tensors (--init refuses them in one line).
            warnings.filterwarnings("ignore", "Validating sparse tensor invariants")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # torch's message is a paragraph; the name of the refused callable is what matters.
        refused = re.search(r"GLOBAL ([\w.]+)", str(err))
        if refused:
            raise D2lkitError(
                f"{path}: refused: loading it would call {refused.group(1)}, which only"
                " arbitrary code needs (nothing of it was run); load only files you trust"
                " that hold plain tensors (for a whole model, save model.state_dict())"
            ) from None
        opcode = re.search(r"Unsupported operand \d+", str(err))
        detail = opcode.group(0) if opcode else "not written by torch.save"
        raise D2lkitError(f"{path}: not a readable checkpoint ({detail}){UNREADABLE_FIX}") from None
    # A text file reaches the legacy unpickler, which fails with KeyError or IndexError; a
    # damaged archive can fail torch's own asserts on what it unpickles.
    except (RuntimeError, EOFError, OSError, LookupError, ValueError, AssertionError) as err:
        # The first sentence: torch's messages go on to explain its internals at length.
        detail = str(err).split(". ")[0].splitlines()[0] if str(err) else type(err).__name__
        # The legacy unpickler's LookupError names a key ("101"), which says nothing.
        reason = "" if isinstance(err, LookupError) else f" ({detail})"
        raise D2lkitError(f"{path}: not a readable checkpoint{reason}{UNREADABLE_FIX}") from None


def capture_rng_state() -> dict:
    """Every random-number generator the run draws from, in weights_only-loadable types."""
    np_name, np_keys, np_pos, np_has_gauss, np_cached = np.random.get_state()
    version, python_state, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": np_name,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_cached),
        },
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        # One state per GPU the saving machine had: a run saved on 8 GPUs resumes on 1.
        for index, generator in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(generator, index)
