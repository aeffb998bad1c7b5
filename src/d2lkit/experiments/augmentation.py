"""The book's augmentation experiment: the same network and epochs, with and without
augmentation (here the fast loader's random crop with padding and horizontal flip).

The book's point is that augmentation narrows the gap between training and test accuracy;
both runs' train and test accuracy are kept so the summary shows it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from d2lkit.experiments.common import run_facts
from d2lkit.jsonfile import write_json_atomic
from d2lkit.train.config import TrainConfig
from d2lkit.train.rerun import train_or_reuse


def run_augmentation_experiment(config: TrainConfig, out: str | Path) -> dict:
    """Train `config` into out/plain and out/augmented (the same settings plus `augment`);
    write and return out/summary.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plain = train_or_reuse(dataclasses.replace(config, augment=False), out / "plain")
    augmented = train_or_reuse(dataclasses.replace(config, augment=True), out / "augmented")
    summary = {
        "model": config.model,
        "dataset": config.dataset,
        "epochs": config.epochs,
        "test_acc": augmented["test_acc"],
        "plain_test_acc": plain["test_acc"],
        "gain": augmented["test_acc"] - plain["test_acc"],
        "train_acc": augmented["train_acc"],
        "plain_train_acc": plain["train_acc"],
        # Train minus test accuracy: how much each run overfits.
        "generalisation_gap": augmented["train_acc"] - augmented["test_acc"],
        "plain_generalisation_gap": plain["train_acc"] - plain["test_acc"],
        **run_facts(plain, augmented),
        "checks": {"augmentation improves or matches": augmented["test_acc"] >= plain["test_acc"]},
        "runs": {name: str(out / name) for name in ("plain", "augmented")},
    }
    summary["details"] = (
        f"with crop+flip {summary['test_acc']:.4f} vs without {summary['plain_test_acc']:.4f}"
        f" ({summary['gain']:+.4f}); train-test gap {summary['generalisation_gap']:.4f} vs"
        f" {summary['plain_generalisation_gap']:.4f}"
    )
    write_json_atomic(out / "summary.json", summary)
    return summary
