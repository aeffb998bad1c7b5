"""The JSON files d2lkit writes (atomically: see atomic.py) and reads back."""

from __future__ import annotations

import json
from pathlib import Path

from d2lkit.atomic import write_text_atomic
from d2lkit.errors import D2lkitError

# Never "delete the folder": a run directory's checkpoint is the run, a reproduce folder holds
# every recipe's runs.
DAMAGED_FIX = "delete it and run the command again"


def write_json_atomic(path: Path, value: dict) -> None:
    """Write `value` as indented JSON, atomically (`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


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
