"""What the experiment runners share: finished runs are reused, summaries written atomically."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from d2lkit.train.config import TrainConfig


def write_summary(path: Path, summary: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(path)


def train_once(config: TrainConfig, out: Path) -> dict:
    """Train `config` into `out`, or return the summary of the run that already finished there.

    A run interrupted before its summary was written is started over.
    """
    from d2lkit.train.run import run_training

    summary_path = out / "summary.json"
    if summary_path.is_file():
        return json.loads(summary_path.read_text())
    if out.exists():
        shutil.rmtree(out)
    return run_training(dataclasses.replace(config, out=str(out)))
