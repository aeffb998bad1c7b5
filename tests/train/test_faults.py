"""Numerical faults stop the run at once, name epoch and step, and keep the last good checkpoint."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from d2lkit.cli import main
from d2lkit.data.loader import TensorLoader
from d2lkit.errors import TrainingFailed
from d2lkit.models import registry
from d2lkit.models.mlp import mlp
from d2lkit.train.checkpoint import load_checkpoint
from d2lkit.train.config import TrainConfig
from d2lkit.train.run import run_training
from d2lkit.train.trainer import Trainer

STEPS_PER_EPOCH = 4  # the tiny dataset's 256 images in batches of 64


class NanOnCall(nn.Module):
    """An MLP whose output turns NaN on its `nan_call`-th forward pass in training mode."""

    def __init__(self, nan_call: int, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.body = mlp(num_classes, in_channels)
        self.nan_call = nan_call
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.training:
            self.calls += 1
            if self.calls == self.nan_call:
                out = out * float("nan")
        return out


@pytest.fixture
def nan_model(monkeypatch):
    """Registers `nan_at_e2s3` (for this test only): its loss is NaN at epoch 2, step 3."""
    nan_call = STEPS_PER_EPOCH + 3

    def nan_at_e2s3(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
        return NanOnCall(nan_call, num_classes, in_channels)

    entry = registry.ModelEntry(
        "nan_at_e2s3", nan_at_e2s3, "tests", (1, 28, 28), "classification", "adam", 1e-3
    )
    monkeypatch.setitem(registry._REGISTRY, "nan_at_e2s3", entry)
    return "nan_at_e2s3"


def assert_stopped_after_epoch_one(out) -> None:
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["epoch"] == 1  # written before the fault; nothing after it
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1]
    assert not (out / "summary.json").exists()


def test_nan_loss_raises_training_failed(tmp_path, tiny_fashion, nan_model):
    out = tmp_path / "run"
    config = TrainConfig(nan_model, epochs=3, batch_size=64, out=str(out), progress=False)
    with pytest.raises(TrainingFailed, match="non-finite loss \\(nan\\) at epoch 2 step 3"):
        run_training(config)
    assert_stopped_after_epoch_one(out)


def test_nan_loss_exit_code_one_through_the_cli(tmp_path, tiny_fashion, nan_model, capsys):
    out = tmp_path / "run"
    args = ["train", nan_model, "--epochs", "3", "--batch-size", "64", "--no-progress"]
    code = main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        "d2lkit: failed: non-finite loss (nan) at epoch 2 step 3; lower --lr or add"
        " --grad-clip; the last good checkpoint is kept"
    ]
    assert_stopped_after_epoch_one(out)


def test_non_finite_gradient_with_a_finite_loss_is_caught_before_the_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    model[1].weight.register_hook(lambda grad: grad * float("inf"))
    before = [p.detach().clone() for p in model.parameters()]
    images = torch.randint(1, 256, (6, 4, 4), dtype=torch.uint8)
    loader = TensorLoader(images, torch.arange(6) % 3, 3)
    trainer = Trainer(
        model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), loader, loader
    )
    with pytest.raises(TrainingFailed, match="non-finite gradient .* at epoch 1 step 1"):
        trainer.fit(1)
    for old, new in zip(before, model.parameters(), strict=True):
        assert torch.equal(old, new)  # the optimiser never applied it


def test_a_finite_loss_that_ran_away_is_a_failure_too():
    """lr 1e6 left the loss finite (8e10) at chance accuracy, and the run exited 0."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    with torch.no_grad():
        model[1].weight.mul_(1e5)  # logits ~1e5 apart: cross-entropy far above ln 3
    images = torch.randint(1, 256, (6, 4, 4), dtype=torch.uint8)
    loader = TensorLoader(images, torch.arange(6) % 3, 3)
    trainer = Trainer(
        model, torch.optim.SGD(model.parameters(), lr=1e-9), nn.CrossEntropyLoss(), loader,
        loader, num_classes=3,
    )  # fmt: skip
    with pytest.raises(
        TrainingFailed, match=r"the loss diverged: epoch 1 train loss .*against 1\.10"
    ):
        trainer.fit(1)
    with pytest.raises(TrainingFailed, match="no checkpoint was saved"):  # no epoch finished
        trainer.fit(1)


def test_a_loss_at_a_guess_is_no_divergence():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    nn.init.zeros_(model[1].bias)  # zero images and bias: every logit 0, the loss ln 3 exactly
    loader = TensorLoader(torch.zeros(6, 4, 4, dtype=torch.uint8), torch.arange(6) % 3, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), loader, loader, num_classes=3)
    assert trainer.fit(1)[0]["train_loss"] == pytest.approx(math.log(3))
