"""Every registered model trains through `d2lkit train`: one tiny epoch, finite figures.

Real Fashion-MNIST, cut to its first 16 training and 8 test images so the large networks at
224x224 finish in seconds on a CPU. Models whose layers allow a smaller input train at one.
Two training batches of 8 and one test batch of 8 keep to one input shape, so the convolution
backend sets itself up once per layer.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from d2lkit.cli import main
from d2lkit.data import fashion_mnist, scenes
from d2lkit.data.datasets import dataset_names
from d2lkit.models import get_entry, list_models
from d2lkit.train.trained import load_trained

TRAIN_SAMPLES, TEST_SAMPLES, BATCH = 16, 8, 8
DATASET_FOR_TASK = {
    "classification": "fashion-mnist",
    "regression": "synthetic-linear",
    "segmentation": "fashion-scenes",
}


@pytest.fixture(scope="module")
def small_fashion_mnist():
    full = fashion_mnist.load()
    return dataclasses.replace(
        full,
        train=fashion_mnist.ImageSplit(
            full.train.images[:TRAIN_SAMPLES], full.train.labels[:TRAIN_SAMPLES]
        ),
        test=fashion_mnist.ImageSplit(
            full.test.images[:TEST_SAMPLES], full.test.labels[:TEST_SAMPLES]
        ),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_model_trains_one_tiny_epoch(
    name, small_fashion_mnist, small_sides, monkeypatch, tmp_path, capsys
):
    entry = get_entry(name)
    dataset = DATASET_FOR_TASK[entry.task]
    if dataset not in dataset_names():
        pytest.skip(f"the {dataset} dataset is not registered yet")
    monkeypatch.setattr(fashion_mnist, "load", lambda *args, **kwargs: small_fashion_mnist)
    if entry.task == "segmentation":  # as few scenes as images elsewhere
        monkeypatch.setattr(scenes, "TEST_SCENES", TEST_SAMPLES)
        dataset = f"{dataset}:{TRAIN_SAMPLES}"
    out = tmp_path / name
    argv = ["train", name, "--dataset", dataset, "--epochs", "1", "--batch-size", str(BATCH)]
    argv += ["--out", str(out), "--device", "cpu", "--precision", "fp32", "--no-progress"]
    if name in small_sides and entry.task == "classification":
        argv += ["--resize", str(small_sides[name])]
    assert main(argv) == 0, capsys.readouterr().err

    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == name and summary["epochs"] == 1
    assert math.isfinite(summary["train_loss"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1]
    # The checkpoint holds the weights that were evaluated: reloaded, they give the same figures.
    reloaded = load_trained(out)[0].trainer.evaluate()
    assert reloaded["loss"] == pytest.approx(summary["test_loss"], rel=1e-4)
    if entry.task == "classification":
        assert reloaded["acc"] == pytest.approx(summary["test_acc"])
