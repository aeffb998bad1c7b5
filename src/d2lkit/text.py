"""Small helpers for the sentences d2lkit prints."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 seed", "3 seeds"; `nouns` for an irregular plural ("copies")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def announce(line: str) -> None:
    """A line on stderr, next to the progress bars, before a slow step starts."""
    print(f"d2lkit: {line}", file=sys.stderr, flush=True)


def composed(names: Iterable[str]) -> list[str]:
    """`names` in Unicode's composed form (NFC), 'ö' as one character as most tools write it;
    macOS writes folder names decomposed (NFD), 'o' and a combining diaeresis, alike on screen."""
    return [unicodedata.normalize("NFC", name) for name in names]
