"""The augmentation experiment on a tiny budget: two runs that differ only in `augment`."""

from __future__ import annotations

import json

import pytest

from d2lkit.experiments.augmentation import run_augmentation_experiment
from d2lkit.train.config import TrainConfig


@pytest.mark.slow
def test_plain_and_augmented_runs_differ_only_in_augment(tmp_path):
    config = TrainConfig("lenet", epochs=1, batch_size=32, train_per_class=6, progress=False)
    summary = run_augmentation_experiment(config, tmp_path)
    plain, augmented = (
        json.loads((tmp_path / name / "config.json").read_text()) for name in ("plain", "augmented")
    )
    assert plain.pop("augment") is False and augmented.pop("augment") is True
    assert {k: v for k, v in plain.items() if k != "out"} == {
        k: v for k, v in augmented.items() if k != "out"
    }
    runs = {
        name: json.loads((tmp_path / name / "summary.json").read_text())
        for name in ("plain", "augmented")
    }
    assert summary["test_acc"] == runs["augmented"]["test_acc"]
    assert summary["plain_test_acc"] == runs["plain"]["test_acc"]
    assert summary["gain"] == pytest.approx(summary["test_acc"] - summary["plain_test_acc"])
    # The same images were seen: augmentation changed them, so the training losses differ.
    assert runs["plain"]["train_loss"] != runs["augmented"]["train_loss"]
