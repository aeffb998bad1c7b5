"""What the experiment runners share: their summaries' common facts."""

from __future__ import annotations


def run_facts(*summaries: dict) -> dict:
    """Wall time summed over an experiment's runs, their speed, and where they ran.

    The speed is each run's images/s weighted by its wall time, about images over seconds of all
    runs together (a run's summary keeps its wall time, not its training time): a plain mean let
    fine-tuning's 500-image stage count as much as its pretraining.
    """
    wall_s = sum(s["wall_s"] for s in summaries)
    images = sum(s["train_images_per_s"] * s["wall_s"] for s in summaries)
    return {
        "wall_s": wall_s,
        "train_images_per_s": images / wall_s if wall_s > 0 else 0.0,
        "device": summaries[-1]["device"],
        "precision": summaries[-1]["precision"],
    }
