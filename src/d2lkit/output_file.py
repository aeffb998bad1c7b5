"""The file a command is told to write (--out FILE.png, --csv FILE.csv), checked before the work
that fills it: a folder given, or a file standing where one of its folders should be, would
otherwise fail only at the end, the work lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from d2lkit.errors import D2lkitError


def output_file(out: str | Path, example: str) -> Path:
    """`out` as a file to write, or one line saying why it cannot be; `example` is the file
    name the message suggests inside a folder given by mistake."""
    if not str(out).strip():  # `--out "$PLOT"` with PLOT unset; Path('') would be the folder '.'
        raise D2lkitError(f"an empty file name; pass a file name such as {example}")
    named_folder = str(out).endswith(("/", os.sep))  # `--out plots/`, a folder yet to be made
    path = Path(os.path.expanduser(out))  # the shell leaves `--out=~/x.png` as it is
    if path.is_dir() or named_folder:
        raise D2lkitError(f"{path}: a folder; pass a file name such as {path / example}")
    # Renaming over /dev/null would replace the device; /dev/stdout sent to a log file, the log.
    if path.exists() and not path.is_file() or path.absolute().parts[1:2] in (("dev",), ("proc",)):
        raise D2lkitError(f"{path}: not a regular file (a device or pipe); pass a file name")
    if leads_round(path):
        raise D2lkitError(f"{path}: a link that leads round in a loop; pass a file name")
    above = next((parent for parent in path.parents if parent.exists()), None)
    if above is not None and not above.is_dir():
        raise D2lkitError(f"{above}: a file stands where a folder is needed for {path}")
    return path


def leads_round(path: Path) -> bool:
    """Whether `path` is a link that leads round in a loop (a -> b -> a). Path.resolve() raises
    for one up to Python 3.12 only; stat() fails with ELOOP on every version."""
    try:
        os.stat(path)
    except OSError as err:
        return err.errno == errno.ELOOP
    return False
