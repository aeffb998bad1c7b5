"""What the experiment runners share: their summaries' common facts."""

from __future__ import annotations


def run_facts(*summaries: dict) -> dict:
    """Wall time summed over an experiment's runs, their mean speed, and where they ran."""
    return {
        "wall_s": sum(s["wall_s"] for s in summaries),
        "train_images_per_s": sum(s["train_images_per_s"] for s in summaries) / len(summaries),
        "device": summaries[-1]["device"],
        "precision": summaries[-1]["precision"],
    }
