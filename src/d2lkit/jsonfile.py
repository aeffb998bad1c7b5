"""JSON files that are never seen half-written: summary.json marks a run as finished, so a crash
mid-write must leave the previous file (or none), not a truncated one."""

from __future__ import annotations

import json
from pathlib import Path


def write_json_atomic(path: Path, value: dict) -> None:
    """Write `value` as indented JSON to a temporary file beside `path`, then rename it over."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    tmp.replace(path)
