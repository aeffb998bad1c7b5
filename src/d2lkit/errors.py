"""The two kinds of failure a user can see, and the exit codes they map to (DESIGN.md §2)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class D2lkitError(Exception):
    """Bad input: unknown name, missing or corrupt file, bad flag. Exit code 2.

    The message is one line that says what is wrong, which file, and what to do.
    """

    exit_code = 2


class TrainingFailed(Exception):
    """The work itself failed: the loss diverged, a result missed its band. Exit code 1."""

    exit_code = 1


class DownloadFailed(Exception):
    """No mirror delivered a file that verifies: the work failed, not the input. Exit code 1.

    Not a `TrainingFailed`: `reproduce` records those per recipe and goes on to the next, which
    would only wait on the same mirrors again."""

    exit_code = 1


def unknown_name(what: str, name: str, known: Iterable[str], listing: str) -> D2lkitError:
    """`unknown model 'lenett': did you mean lenet?`, or where to list the names when none is
    close (`listing`, a command)."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"see `{listing}`."
    return D2lkitError(f"unknown {what} {name!r}: {hint}")
