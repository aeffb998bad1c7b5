"""The book's initialisation schemes, applied to a whole model by name.

`init_model(model, "xavier")` re-initialises every `nn.Linear` and plain convolution in place.
Transposed convolutions are left alone: FCN's is initialised to bilinear upsampling on purpose.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from d2lkit.errors import D2lkitError

# Layers the schemes touch. ConvTranspose2d is not a subclass of Conv2d, so it is not included.
_INITIALISED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _zero_bias(layer: nn.Module) -> None:
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def init_normal(layer: nn.Module) -> None:
    """Weights ~ N(0, 0.01^2), biases 0 (the book's `init_normal`)."""
    nn.init.normal_(layer.weight, mean=0.0, std=0.01)
    _zero_bias(layer)


def init_xavier(layer: nn.Module) -> None:
    """Xavier (Glorot) uniform weights, biases 0."""
    nn.init.xavier_uniform_(layer.weight)
    _zero_bias(layer)


def init_kaiming(layer: nn.Module) -> None:
    """He (Kaiming) normal weights for ReLU, N(0, 2 / fan_in), biases 0: each layer keeps the
    variance of its input, where PyTorch's default U(+-1/sqrt(fan_in)) divides it by 6 after a ReLU,
    so a deep plain network (VGG) starts with an output that barely depends on its input."""
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    _zero_bias(layer)


def init_constant(layer: nn.Module) -> None:
    """Weights 1, biases 0 (the book's `init_constant`, which shows why symmetry must be broken)."""
    nn.init.ones_(layer.weight)
    _zero_bias(layer)


def init_custom(layer: nn.Module) -> None:
    """The book's `my_init`: weights ~ U(-10, 10), then every |w| < 5 set to 0; biases 0."""
    with torch.no_grad():
        nn.init.uniform_(layer.weight, -10.0, 10.0)
        layer.weight.mul_(layer.weight.abs() >= 5)
    _zero_bias(layer)


INIT_SCHEMES: dict[str, Callable[[nn.Module], None]] = {
    "normal": init_normal,
    "xavier": init_xavier,
    "kaiming": init_kaiming,
    "constant": init_constant,
    "custom": init_custom,
}


def init_model(model: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise `model`'s linear and convolution layers in place with a named scheme."""
    if scheme not in INIT_SCHEMES:
        raise D2lkitError(
            f"unknown initialisation scheme {scheme!r}: choose one of {', '.join(INIT_SCHEMES)}"
        )
    layers = [module for module in model.modules() if isinstance(module, _INITIALISED)]
    if not layers:  # e.g. the from-scratch models, whose layers are d2lkit.scratch's own
        raise D2lkitError(
            f"initialisation {scheme!r}: the model has no torch.nn linear or convolution layer;"
            " the from-scratch models keep the book's own (drop --weight-init)"
        )
    for layer in layers:
        INIT_SCHEMES[scheme](layer)
    return model
