"""Start a model from saved weights: a d2lkit run or checkpoint, or a plain state_dict file such
as torchvision's ResNet-18 (`torch.save(resnet18().state_dict(), path)`).

Tensors whose name and shape match are copied; the rest (typically the classifier, when the
class count differs) keep their fresh initialisation, which is what fine-tuning wants: the book
replaces the output layer and trains it with a larger learning rate (`--head-lr-mult`).
torchvision names are first translated to d2lkit's (torchvision_weights.py), and a first
convolution is fitted to the colour channels the model reads (RGB weights onto gray images, gray
weights onto RGB images).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from d2lkit.errors import D2lkitError
from d2lkit.train.checkpoint import load_checkpoint
from d2lkit.train.torchvision_weights import convert_for, is_torchvision_resnet

# Where training scripts keep the weights inside a bigger checkpoint: d2lkit's and many others'
# `model`, timm's `state_dict` (Lightning's too, whose names also start with the module's
# attribute: those are found only where they match the model's).
WRAPPER_KEYS = ("model", "state_dict")
DATA_PARALLEL_PREFIX = "module."  # what (Distributed)DataParallel adds to every name
WEIGHT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
BATCH_COUNTER = "num_batches_tracked"
LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601-2, as torchvision's rgb_to_grayscale


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    state = load_checkpoint(path)
    for key in WRAPPER_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise D2lkitError(f"{path}: not a state_dict (a mapping of names to tensors)")
    check_weights(path, state)
    return without_data_parallel_prefix(state)


def check_weights(path: Path, state: dict) -> None:
    """Refuse what load_state_dict would choke on (a sparse tensor, a key that is no name) or
    silently cast into the model's float32 weights: complex numbers lose their imaginary part,
    fp8 its scale, integers and booleans are no trained weights."""
    for key, tensor in state.items():
        if not isinstance(key, str):
            raise D2lkitError(
                f"{path}: key {key!r} is not a name; a state_dict maps parameter names (strings)"
                " to tensors: save model.state_dict()"
            )
        if tensor.layout != torch.strided:
            raise D2lkitError(
                f"{path}: {key!r} is a {str(tensor.layout).removeprefix('torch.')} tensor;"
                " --init takes dense tensors: save it with .to_dense()"
            )
        if tensor.dtype not in WEIGHT_DTYPES and not is_batch_counter(key, tensor):
            raise D2lkitError(
                f"{path}: {key!r} holds {str(tensor.dtype).removeprefix('torch.')} values;"
                " --init takes floating-point weights (float16, bfloat16, float32 or float64):"
                " convert them to float32 and save again"
            )


def is_batch_counter(key: str, tensor: torch.Tensor) -> bool:
    """BatchNorm's count of training batches: the one integer tensor torch's layers keep."""
    return key.endswith(BATCH_COUNTER) and tensor.dtype == torch.int64


def without_data_parallel_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A model saved while wrapped in DistributedDataParallel has `module.` before every name."""
    if not state or not all(name.startswith(DATA_PARALLEL_PREFIX) for name in state):
        return state
    return {name.removeprefix(DATA_PARALLEL_PREFIX): v for name, v in state.items()}


def fit_input_channels(tensor: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A first convolution's weight fitted to the colour channels of the model it goes into.

    RGB (out, 3, k, k) onto gray (out, 1, k, k): a gray image is RGB with three equal channels,
    so the weights summed over colour give the same output. Gray (out, 1, k, k) onto RGB
    (out, 3, k, k): spread by the luma weights torchvision's `rgb_to_grayscale` uses, so the RGB
    model computes what the gray model computes on the image converted to gray."""
    is_conv = tensor.dim() == 4 and len(shape) == 4
    same_kernels = is_conv and tensor.shape[0] == shape[0] and tensor.shape[2:] == shape[2:]
    if same_kernels and tensor.shape[1] == 3 and shape[1] == 1:
        return tensor.sum(dim=1, keepdim=True)
    if same_kernels and tensor.shape[1] == 1 and shape[1] == 3:
        luma = torch.tensor(LUMA, dtype=tensor.dtype).view(1, 3, 1, 1)
        return tensor * luma  # (out, 1, k, k) * (1, 3, 1, 1) -> (out, 3, k, k)
    return tensor


@dataclass
class InitialWeights:
    """What --init did: the model's tensors it left as initialised (a new head) and the file's
    tensors it found no place for (many of them: weights of another architecture)."""

    fresh: list[str]
    unused: list[str]  # after torchvision's names were translated to d2lkit's


def load_initial_weights(
    model: nn.Module, path: str | Path, model_name: str | None = None
) -> InitialWeights:
    """Copy matching tensors from `path` into `model` (the zoo's `model_name`, for messages)."""
    model_name = model_name or type(model).__name__
    source = read_state_dict(path)
    target = model.state_dict()
    if is_torchvision_resnet(source):
        source = convert_for(source, set(target))
    fitted = {k: fit_input_channels(v, target[k].shape) for k, v in source.items() if k in target}
    matched = {k: v for k, v in fitted.items() if target[k].shape == v.shape}
    if not matched:
        raise D2lkitError(
            f"{path}: none of its tensors fit model {model_name} (names or shapes differ); pass"
            f" weights saved from {model_name}"
        )
    model.load_state_dict(matched, strict=False)
    return InitialWeights(
        fresh=sorted(set(target) - set(matched)),
        unused=sorted(set(source) - set(matched)),
    )
