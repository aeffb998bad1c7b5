"""torchvision ResNet-18 weights (`conv1`, `bn1`, `layer1..4`, `fc`) renamed for d2lkit's models.

d2lkit's `resnet18` is the book's: stages `b1..b5`, convolutions with biases, and a plain 1x1
convolution (`conv3`) on the shortcut where torchvision has a convolution followed by batch norm
(`downsample.0`, `downsample.1`). The conversion makes the d2lkit network compute what the
torchvision one computes in eval mode:

- a torchvision convolution has no bias, so the d2lkit bias it maps to is set to zero;
- the shortcut's batch norm is folded into the 1x1 convolution:
  gamma * (W x - mean) / sqrt(var + eps) + beta = (s W) x + (beta - s mean)
  with s = gamma / sqrt(var + eps).

`fcn_resnet18` keeps torchvision's layout under `body.`, so there the names only gain a prefix.
"""

from __future__ import annotations

import re

import torch

BN_EPS = 1e-5  # torchvision's BatchNorm2d default
BN_FIELDS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def is_torchvision_resnet(state: dict[str, torch.Tensor]) -> bool:
    return "conv1.weight" in state and "layer1.0.conv1.weight" in state


def to_d2lkit_resnet(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision resnet18 names -> d2lkit `resnet18` names (b1 stem, b2..b5 stages, fc)."""
    out: dict[str, torch.Tensor] = {}

    def conv(source: str, target: str) -> None:
        weight = state[f"{source}.weight"]
        out[f"{target}.weight"] = weight
        out[f"{target}.bias"] = torch.zeros(weight.shape[0], dtype=weight.dtype)

    def batch_norm(source: str, target: str) -> None:
        for field in BN_FIELDS:
            if f"{source}.{field}" in state:
                out[f"{target}.{field}"] = state[f"{source}.{field}"]

    conv("conv1", "b1.0")
    batch_norm("bn1", "b1.1")
    units = sorted({m.group(1, 2) for k in state if (m := re.match(r"layer(\d)\.(\d+)\.", k))})
    for layer, unit in units:
        source, target = f"layer{layer}.{unit}", f"b{int(layer) + 1}.{unit}"
        for index in (1, 2):
            conv(f"{source}.conv{index}", f"{target}.conv{index}")
            batch_norm(f"{source}.bn{index}", f"{target}.bn{index}")
        if f"{source}.downsample.0.weight" in state:
            shortcut = fold_batch_norm(state, f"{source}.downsample.0", f"{source}.downsample.1")
            out[f"{target}.conv3.weight"], out[f"{target}.conv3.bias"] = shortcut
    for field in ("weight", "bias"):
        if f"fc.{field}" in state:
            out[f"fc.{field}"] = state[f"fc.{field}"]
    return out


def fold_batch_norm(
    state: dict[str, torch.Tensor], conv: str, norm: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """A bias-free convolution followed by batch norm (eval mode) as one convolution with bias."""
    scale = state[f"{norm}.weight"] / torch.sqrt(state[f"{norm}.running_var"] + BN_EPS)  # (out,)
    weight = state[f"{conv}.weight"] * scale[:, None, None, None]
    bias = state[f"{norm}.bias"] - scale * state[f"{norm}.running_mean"]
    return weight, bias


def convert_for(state: dict[str, torch.Tensor], target_keys: set[str]) -> dict[str, torch.Tensor]:
    """Rename a torchvision ResNet state_dict for the model whose keys are `target_keys`."""
    if "b1.0.weight" in target_keys and "b2.0.conv1.weight" in target_keys:
        return to_d2lkit_resnet(state)
    if "body.conv1.weight" in target_keys:  # fcn_resnet18: torchvision's body, its own head
        return {f"body.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    return state
