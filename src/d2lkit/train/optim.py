"""Optimisers and learning-rate schedules by name."""

from __future__ import annotations

import torch
from torch import nn

from d2lkit.errors import D2lkitError
from d2lkit.train.config import OPTIMIZERS

# The learning rate an optimiser gets when neither --lr nor the model's book settings give one (the
# book's rate belongs to the book's optimiser: lenet's Adam 0.001 left SGD at chance, mlp's SGD 0.5
# made Adam diverge). PyTorch's defaults where it has one; plain SGD the book's usual 0.1; with
# momentum 0.9 a tenth of that, the same step size once the velocity builds up.
USUAL_LR = {
    "sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adam": 1e-3, "adamw": 1e-3,
    "rmsprop": 1e-2, "adagrad": 1e-2, "adadelta": 1.0,
}  # fmt: skip


def head_module(model: nn.Module) -> tuple[str, nn.Module]:
    """The classifier (what fine-tuning replaces and `--head-lr-mult` speeds up): the last module
    that holds parameters of its own, with its name."""
    return [(n, m) for n, m in model.named_modules() if list(m.parameters(recurse=False))][-1]


def param_groups(model: nn.Module, lr: float, head_lr_mult: float = 1.0) -> list[dict]:
    """One group for the body and, with `head_lr_mult != 1`, one for the head (`head_module`) at
    `lr * head_lr_mult`."""
    if head_lr_mult == 1.0:
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": lr}]
    _, head = head_module(model)
    head_ids = {id(p) for p in head.parameters()}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    return [
        {"params": body, "lr": lr},
        {"params": list(head.parameters()), "lr": lr * head_lr_mult},
    ]


# Optimisers with a fused step (one kernel for all parameters) that can skip a non-finite step on
# the device (`found_inf`, see Trainer.train_epoch).
FUSED = ("sgd", "momentum", "nesterov", "adam", "adamw")


def build_optimizer(
    name: str,
    groups: list[dict],
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    fused: bool = False,
) -> torch.optim.Optimizer:
    """`fused=True` (meant for CUDA) selects the fused step where `name` has one."""
    common = {"lr": lr, "weight_decay": weight_decay}
    if fused and name in FUSED:
        common["fused"] = True
    if name == "sgd":
        return torch.optim.SGD(groups, **common)
    if name == "momentum":
        return torch.optim.SGD(groups, momentum=momentum, **common)
    if name == "nesterov":
        return torch.optim.SGD(groups, momentum=momentum, nesterov=True, **common)
    if name == "adam":
        return torch.optim.Adam(groups, **common)
    if name == "adamw":
        return torch.optim.AdamW(groups, **common)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, **common)
    if name == "adagrad":
        return torch.optim.Adagrad(groups, **common)
    if name == "adadelta":
        return torch.optim.Adadelta(groups, **common)
    raise D2lkitError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")


# How an optimiser steps on this machine (fused on CUDA), as opposed to where it is in training.
STEP_IMPLEMENTATION = ("fused", "foreach")


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """`optimizer.load_state_dict(state)`, keeping how `optimizer` was built to step: loading
    copies the saved groups' flags too, so a run saved on the CPU and resumed on CUDA lost its
    fused step (and with it the skipping of non-finite steps without a sync)."""
    built = [
        {key: group[key] for key in STEP_IMPLEMENTATION if key in group}
        for group in optimizer.param_groups
    ]
    # Set before loading: the flags also decide where the loaded step counts are put. Groups
    # beyond the built ones pass unchanged, for load_state_dict to refuse.
    saved = state["param_groups"]
    groups = [{**group, **flags} for group, flags in zip(saved, built, strict=False)]
    optimizer.load_state_dict({**state, "param_groups": groups + saved[len(groups) :]})


# OneCycleLR warms up over a quarter of the steps minus one: with 4 steps it divides by zero, with
# fewer it has no warm-up at all.
ONECYCLE_LEAST_STEPS = 5


def build_scheduler(
    name: str, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int
) -> tuple[torch.optim.lr_scheduler.LRScheduler | None, bool]:
    """The schedule and whether it steps per batch (True) or per epoch (False)."""
    if name == "none":
        return None, False
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=epochs * steps_per_epoch
        ), True
    if name == "onecycle":
        total = epochs * steps_per_epoch
        if total < ONECYCLE_LEAST_STEPS:
            raise D2lkitError(
                f"--scheduler onecycle needs at least {ONECYCLE_LEAST_STEPS} steps (epochs x"
                f" batches per epoch), this run has {total}; pass more --epochs or a smaller"
                " --batch-size"
            )
        max_lrs = [group["lr"] for group in optimizer.param_groups]
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lrs, total_steps=total, pct_start=0.25
        )
        return schedule, True
    if name == "step":  # divide by 10 at 50 % and 75 % of training
        # A milestone of 0 would take effect at construction, lowering the very first epoch
        # (a 1-epoch run trained at lr / 100): keep only milestones after the first epoch.
        milestones = [m for m in (epochs // 2, (3 * epochs) // 4) if m > 0]
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=milestones, gamma=0.1
        ), False
    raise D2lkitError(f"unknown scheduler {name!r}")
