"""A finished (or half-finished) run rebuilt from its checkpoint, its weights loaded, for `d2lkit
eval` and `d2lkit predict`: on its own data, or on another dataset of the same kind and classes."""

from __future__ import annotations

from pathlib import Path

import torch

from d2lkit.errors import D2lkitError
from d2lkit.train.checkpoint import capture_rng_state, restore_rng_state
from d2lkit.train.config import TrainConfig
from d2lkit.train.environment import resolve_device, resolve_precision
from d2lkit.train.reopen import UNCHANGED, Reopen, saved_config
from d2lkit.train.resume import find_checkpoint, load_run_checkpoint, load_saved_weights
from d2lkit.train.run import Run, build_run


def load_trained(path: str | Path, changes: Reopen = UNCHANGED) -> tuple[Run, dict]:
    """Rebuild a saved run (model weights loaded, in eval mode, no training) for eval and predict,
    on its own data or on `changes.dataset`: its image folder moved, or another test folder with
    the same classes. The caller's random state is left as it was (building a run seeds it)."""
    checkpoint_path = find_checkpoint(path)
    state = load_run_checkpoint(checkpoint_path)
    config = runnable_here(saved_config(state, changes))
    callers_rng = capture_rng_state()
    try:
        known = state.get("class_names")  # checkpoints from before they were kept: None
        run = build_run(config, checkpoint_path.parent, test_only=True, known_classes=known)
    finally:
        restore_rng_state(callers_rng)
    load_saved_weights(run, state, checkpoint_path)
    run.model.eval()  # a forward pass in train mode would update batch-norm statistics
    return run, state


def runnable_here(config: TrainConfig) -> TrainConfig:
    """Evaluating only reads the weights: a GPU run opened on a machine without one, or a bf16
    run on a CPU without bf16, is evaluated with what this machine has."""
    if config.device == "cuda" and not torch.cuda.is_available():
        config.device = "auto"
    try:
        resolve_precision(config.precision, resolve_device(config.device), config.model)
    except D2lkitError:
        config.precision = "auto"
    return config
