"""`python -m d2lkit` and the `d2lkit` command."""

from __future__ import annotations

import sys


def entry() -> int:
    """Import the CLI (it imports torch: a second or two) and run it; Ctrl-C during the import
    is the same one line as Ctrl-C later, not a traceback through torch."""
    try:
        from d2lkit.cli import main
    except KeyboardInterrupt:
        print("d2lkit: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(entry())
