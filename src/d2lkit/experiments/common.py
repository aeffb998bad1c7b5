"""What the experiment runners share: finished runs are reused, summaries written atomically."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from d2lkit.train.config import TrainConfig


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


def run_facts(*summaries: dict) -> dict:
    """Wall time summed over an experiment's runs, their mean speed, and where they ran."""
    return {
        "wall_s": sum(s["wall_s"] for s in summaries),
        "train_images_per_s": sum(s["train_images_per_s"] for s in summaries) / len(summaries),
        "device": summaries[-1]["device"],
        "precision": summaries[-1]["precision"],
    }
