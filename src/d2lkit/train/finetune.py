"""Start a model from saved weights: a d2lkit run or checkpoint, or a plain state_dict file.

Tensors whose name and shape match are copied; the rest (typically the classifier, when the
class count differs) keep their fresh initialisation, which is what fine-tuning wants.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from d2lkit.errors import D2lkitError
from d2lkit.train.checkpoint import load_checkpoint


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    state = load_checkpoint(path)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a d2lkit checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise D2lkitError(f"{path}: not a state_dict (a mapping of names to tensors)")
    return state


def load_initial_weights(model: nn.Module, path: str | Path) -> list[str]:
    """Copy matching tensors from `path` into `model`; return the names left as initialised."""
    source = read_state_dict(path)
    target = model.state_dict()
    matched = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
    if not matched:
        raise D2lkitError(
            f"{path}: none of its tensors fit model {type(model).__name__} (names or shapes"
            " differ); pass weights saved from the same architecture"
        )
    model.load_state_dict(matched, strict=False)
    return sorted(set(target) - set(matched))
