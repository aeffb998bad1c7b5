"""The device-side finite check (CUDA's path, exercised on the CPU): a non-finite step is skipped
by the fused optimiser without a host sync, and the run still fails."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from d2lkit.errors import TrainingFailed
from d2lkit.train.trainer import Trainer


def batches(count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(8, 4, generator=generator), torch.arange(8) % 3) for _ in range(count)]


def poisoned_loss(bad_steps: set[int]):
    """Cross-entropy whose loss (and so every gradient) is NaN at the given 1-based steps."""
    calls = {"step": 0}

    def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        calls["step"] += 1
        loss = nn.functional.cross_entropy(outputs, targets)
        return loss * math.nan if calls["step"] in bad_steps else loss

    return loss_fn


def fused_trainer(loader, loss_fn, device: str = "cpu") -> Trainer:
    torch.manual_seed(0)
    model = nn.Linear(4, 3).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1, fused=True)
    trainer = Trainer(model, optimizer, loss_fn, loader, [], device=device)
    trainer.epoch = 1
    return trainer


def test_a_skipped_step_leaves_the_run_as_if_its_batch_was_absent(monkeypatch):
    monkeypatch.setattr(Trainer, "skips_on_device", lambda self: True)
    data = batches(5)
    poisoned = fused_trainer(data, poisoned_loss({3}))
    with pytest.raises(TrainingFailed, match="in epoch 1 by step 5 .*skipped"):
        poisoned.train_epoch()
    clean = fused_trainer(data[:2] + data[3:], poisoned_loss(set()))
    clean.train_epoch()
    for skipped, reference in zip(
        poisoned.model.parameters(), clean.model.parameters(), strict=True
    ):
        assert torch.isfinite(skipped).all()
        assert torch.allclose(skipped, reference)
    assert not hasattr(poisoned.optimizer, "found_inf")  # cleared for later use


def test_the_check_is_read_every_so_many_steps(monkeypatch):
    monkeypatch.setattr(Trainer, "skips_on_device", lambda self: True)
    monkeypatch.setattr("d2lkit.train.trainer.FINITE_CHECK_EVERY", 2)
    trainer = fused_trainer(batches(6), poisoned_loss({1}))
    with pytest.raises(TrainingFailed, match="by step 2 "):
        trainer.train_epoch()


def test_only_cuda_with_a_fused_optimiser_defers_the_check():
    model = nn.Linear(4, 3)
    fused = torch.optim.Adam(model.parameters(), fused=True)
    plain = torch.optim.Adam(model.parameters())
    assert not Trainer(model, fused, None, [], [], device="cpu").skips_on_device()
    assert not Trainer(model, plain, None, [], [], device="cuda").skips_on_device()
    assert Trainer(model, fused, None, [], [], device="cuda").skips_on_device()


@pytest.mark.gpu
def test_on_cuda_a_skipped_step_leaves_the_run_as_if_its_batch_was_absent():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    data = [(X.cuda(), y.cuda()) for X, y in batches(5)]
    poisoned = fused_trainer(data, poisoned_loss({3}), device="cuda")
    assert poisoned.skips_on_device()
    with pytest.raises(TrainingFailed, match="skipped"):
        poisoned.train_epoch()
    clean = fused_trainer(data[:2] + data[3:], poisoned_loss(set()), device="cuda")
    clean.train_epoch()
    for skipped, reference in zip(
        poisoned.model.parameters(), clean.model.parameters(), strict=True
    ):
        assert torch.allclose(skipped, reference)
