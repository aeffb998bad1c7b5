"""What a training run says about itself: its first line (what is trained, and how) and the title
of its curves.png."""

from __future__ import annotations

import torch

from d2lkit.models.registry import get_entry
from d2lkit.text import plural
from d2lkit.train.config import TrainConfig, flag


def headline(config: TrainConfig, device: torch.device) -> str:
    """What is trained, and how, with the settings a user left to defaults filled in."""
    entry = get_entry(config.model)
    book = ""
    if config.optimizer != entry.optimizer:
        book = f" (the book trains {config.model} with {entry.optimizer}, lr {entry.lr:g})"
    size = f", {config.resize}x{config.resize} input" if config.resize else ""
    changed = "".join(f", {setting}" for setting in changed_settings(config))
    return (
        f"{config.model} on {config.dataset}: {plural(config.epochs, 'epoch')}, batch"
        f" {config.batch_size}, {config.optimizer} lr {config.lr:g}{book}{size}{changed},"
        f" {device} {config.precision}"
    )


# In the headline when not TrainConfig's default; the settings above are always there, and the
# rest (where files go, what is shown, the memory layout) change nothing learnt. A test makes a
# new TrainConfig field choose.
HEADLINE_SETTINGS = (
    "momentum", "weight_decay", "scheduler", "label_smoothing", "grad_clip", "augment",
    "weight_init", "init", "head_lr_mult", "compile", "seed", "train_subset", "test_subset",
    "classes", "train_per_class",
)  # fmt: skip


def changed_settings(config: TrainConfig) -> list[str]:
    """`flag value` for each headline setting not at its default (a switch: its flag alone)."""
    defaults = TrainConfig(config.model)
    settings = []
    for name in HEADLINE_SETTINGS:
        value = getattr(config, name)
        if value == getattr(defaults, name):
            continue
        if isinstance(value, bool):
            settings.append(flag(name))
        elif isinstance(value, tuple):
            settings.append(f"{flag(name)} {','.join(map(str, value))}")
        elif isinstance(value, float):
            settings.append(f"{flag(name)} {value:g}")
        else:
            settings.append(f"{flag(name)} {value}")
    return settings


def curves_title(config: TrainConfig) -> str:
    """What curves.png shows: the model, its data (a subset said so) and how it was trained."""
    subset = f" ({config.train_subset} training images)" if config.train_subset else ""
    return f"{config.model} on {config.dataset}{subset}, {config.optimizer} lr {config.lr:g}"
