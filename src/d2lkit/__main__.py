"""`python -m d2lkit` and the `d2lkit` command."""

from __future__ import annotations

import sys


def entry() -> int:
    """Import the CLI (it imports torch: a second or two) and run it; Ctrl-C or SIGTERM during
    the import is the same one line as later, not a traceback through torch or no word at all."""
    from d2lkit.termination import TERMINATION  # before torch: it imports nothing heavy

    with TERMINATION:
        try:
            from d2lkit.cli import main

            return main()
        except KeyboardInterrupt:  # during the import, or after main's own handling
            print("d2lkit: interrupted", file=sys.stderr)
            return TERMINATION.exit_code(130)


if __name__ == "__main__":
    raise SystemExit(entry())
