"""Running Python in a child process (the book's loop, a speedrun seed, a timed d2lkit run) and
turning its failure into one line: the child's own d2lkit message when it ended on bad input
(exit code 2 here too), otherwise `failure` with the last line it printed."""

from __future__ import annotations

import subprocess

from d2lkit.errors import D2lkitError

BAD_INPUT = "D2lkitError: "  # a child's traceback ends with our one-line message after this


def run_python(
    command: list[str], what: str, failure: type[Exception], timeout: float | None = None
) -> None:
    """Run `command`; raise D2lkitError or `failure` naming `what` when it fails or times out."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise failure(f"{what} gave no result within {timeout:g} s") from None
    if result.returncode != 0:
        last = ((result.stderr or result.stdout).strip().splitlines() or ["no output"])[-1]
        if BAD_INPUT in last:
            raise D2lkitError(last.split(BAD_INPUT, 1)[1])
        raise failure(f"{what} exited with {result.returncode}: {last}")
