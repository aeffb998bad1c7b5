"""The fine-tuning experiment's plumbing on a tiny budget: what each of its three runs is given."""

from __future__ import annotations

import json

import pytest
import torch

from d2lkit.errors import D2lkitError
from d2lkit.experiments.finetune import FinetuneOptions, run_finetune_experiment
from d2lkit.train.config import TrainConfig

TINY = FinetuneOptions(train_per_class=4, pretrain_epochs=1, pretrain_per_class=200)


def config_of(run_dir) -> dict:
    return json.loads((run_dir / "config.json").read_text())


@pytest.mark.slow
def test_pretrain_finetune_scratch(tmp_path):
    config = TrainConfig(
        "lenet_bn", epochs=1, batch_size=8, optimizer="sgd", lr=0.01, head_lr_mult=10,
        progress=False,
    )  # fmt: skip
    summary = run_finetune_experiment(config, tmp_path, TINY)

    pretrain, finetune, scratch = (
        config_of(tmp_path / n) for n in ("pretrain", "finetune", "scratch")
    )
    assert pretrain["classes"] == [0, 1, 2, 3, 4] and pretrain["init"] is None
    assert pretrain["train_per_class"] == 200
    assert finetune["classes"] == scratch["classes"] == [5, 6, 7, 8, 9]
    assert finetune["train_per_class"] == scratch["train_per_class"] == 4
    assert finetune["init"] == str(tmp_path / "pretrained-body.pt") and scratch["init"] is None
    assert finetune["head_lr_mult"] == 10 and scratch["head_lr_mult"] == 1
    assert scratch["lr"] == pytest.approx(0.1)  # every layer at the new head's rate
    assert finetune["epochs"] == scratch["epochs"] == 1

    # The exported body has every pretrained tensor but the classifier.
    body = torch.load(tmp_path / "pretrained-body.pt", weights_only=True)
    pretrained = torch.load(tmp_path / "pretrain" / "checkpoint.pt", weights_only=True)["model"]
    assert set(pretrained) - set(body) == {"15.weight", "15.bias"}  # lenet_bn's last Linear
    assert all(torch.equal(body[k], pretrained[k]) for k in body)

    runs = {
        n: json.loads((tmp_path / n / "summary.json").read_text()) for n in ("finetune", "scratch")
    }
    assert summary["finetune_acc"] == runs["finetune"]["test_acc"]
    assert summary["scratch_acc"] == runs["scratch"]["test_acc"]
    assert summary["gain"] == pytest.approx(summary["finetune_acc"] - summary["scratch_acc"])

    # A second call finds every run finished and trains nothing.
    stamps = {
        n: (tmp_path / n / "checkpoint.pt").stat().st_mtime_ns for n in ("pretrain", "scratch")
    }
    assert run_finetune_experiment(config, tmp_path, TINY) == summary
    assert stamps == {n: (tmp_path / n / "checkpoint.pt").stat().st_mtime_ns for n in stamps}


def test_bad_settings_are_refused_before_training(tmp_path):
    config = TrainConfig("lenet_bn", head_lr_mult=10)
    with pytest.raises(D2lkitError, match="overlap"):
        run_finetune_experiment(config, tmp_path, FinetuneOptions(target_classes=(4, 5)))
    with pytest.raises(D2lkitError, match="head_lr_mult"):
        run_finetune_experiment(TrainConfig("lenet_bn"), tmp_path, TINY)
    assert not (tmp_path / "pretrain").exists()


def test_a_crash_while_exporting_the_body_leaves_no_file_to_reuse(tmp_path, monkeypatch):
    """A rerun reuses pretrained-body.pt when it exists, so a write cut short must leave none."""
    from types import SimpleNamespace

    from torch import nn

    from d2lkit.experiments.finetune import export_body
    from d2lkit.train import checkpoint, trained

    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    monkeypatch.setattr(trained, "load_trained", lambda run: (SimpleNamespace(model=model), {}))

    def disk_full(state, file):
        file.write(b"half a file")
        raise OSError("No space left on device")

    body = tmp_path / "pretrained-body.pt"
    monkeypatch.setattr(checkpoint.torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        export_body(tmp_path / "pretrain", body)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(trained, "load_trained", lambda run: (SimpleNamespace(model=model), {}))
    export_body(tmp_path / "pretrain", body)
    assert set(torch.load(body, weights_only=True)) == {"0.weight", "0.bias"}  # no classifier
