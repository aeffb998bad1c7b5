"""JSON files that are never seen half-written: summary.json marks a run as finished, so a crash
mid-write must leave the previous file (or none), not a truncated one."""

from __future__ import annotations

import json
from pathlib import Path

from d2lkit.errors import D2lkitError

DAMAGED_FIX = "delete it (or the run directory that holds it) and run again"


def write_json_atomic(path: Path, value: dict) -> None:
    """Write `value` as indented JSON to a temporary file beside `path`, then rename it over."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> dict:
    """A JSON object d2lkit wrote; a damaged one (hand-edited, truncated by a full disk) is one
    line that names it."""
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise D2lkitError(f"{path}: damaged ({err}); {DAMAGED_FIX}") from None
    if not isinstance(value, dict):
        raise D2lkitError(
            f"{path}: damaged (a JSON {type(value).__name__}, not an object); {DAMAGED_FIX}"
        )
    return value
