"""Run one `d2lkit` command and record the peak resident memory of this process.

    python -m d2lkit.report.peak_memory OUT.json train lenet --epochs 1 ...

Writes `{"exit_code": ..., "peak_rss_mb": ...}` to OUT.json. `getrusage(RUSAGE_SELF)` counts this
process only (what the command itself holds), which is why the command runs here, in a child of
the bench, and not in the bench's own process.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main(argv: list[str]) -> int:
    from d2lkit.cli import main as d2lkit_main

    out, command = Path(argv[0]), argv[1:]
    exit_code = d2lkit_main(command)
    out.write_text(json.dumps({"exit_code": exit_code, "peak_rss_mb": peak_rss_mb()}))
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
