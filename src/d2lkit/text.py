"""Small helpers for the sentences d2lkit prints."""

from __future__ import annotations

import sys


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 seed", "3 seeds"; `nouns` for an irregular plural ("copies")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def announce(line: str) -> None:
    """A line on stderr, next to the progress bars, before a slow step starts."""
    print(f"d2lkit: {line}", file=sys.stderr, flush=True)
