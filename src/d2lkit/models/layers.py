"""The book's custom layers ("deep learning computation" chapter) as reusable modules.

`CenteredLayer` has no parameters; `MyDense` keeps its weights in an `nn.ParameterList` and
`MyDictDense` in an `nn.ParameterDict`, so both show up in `parameters()` and `state_dict()`.
`GlobalAvgPool2d` and `FlattenLayer` are what the book's CNNs used before PyTorch had
`nn.AdaptiveAvgPool2d` / `nn.Flatten`; `shared_layer_net` shows one layer used twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn


class CenteredLayer(nn.Module):
    """Subtracts the mean of the whole input, so the output has mean zero."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean()


class MyDense(nn.Module):
    """A chain of matrix products without biases, weights held in an `nn.ParameterList`.

    `units=(4, 4, 4, 4, 1)` gives the book's three (4, 4) weights followed by one (4, 1).
    """

    def __init__(self, units: Sequence[int] = (4, 4, 4, 4, 1)) -> None:
        super().__init__()
        if len(units) < 2:
            raise ValueError(f"MyDense needs at least two sizes, got {tuple(units)}")
        self.params = nn.ParameterList(
            nn.Parameter(torch.randn(fan_in, fan_out)) for fan_in, fan_out in pairwise(units)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for weight in self.params:  # (B, fan_in) -> (B, fan_out)
            x = x @ weight
        return x


class MyDictDense(nn.Module):
    """Weights kept by name in an `nn.ParameterDict`; `forward(x, choice)` picks one.

    The book's layer holds linear1 (4, 4), linear2 (4, 1) and, added later, linear3 (4, 2).
    """

    def __init__(self, in_features: int = 4, outputs: dict[str, int] | None = None) -> None:
        super().__init__()
        outputs = outputs or {"linear1": 4, "linear2": 1, "linear3": 2}
        self.params = nn.ParameterDict(
            {name: nn.Parameter(torch.randn(in_features, size)) for name, size in outputs.items()}
        )

    def forward(self, x: torch.Tensor, choice: str = "linear1") -> torch.Tensor:
        if choice not in self.params:
            raise KeyError(f"MyDictDense has no weight {choice!r}; it has {list(self.params)}")
        return x @ self.params[choice]  # (B, in_features) -> (B, outputs[choice])


class GlobalAvgPool2d(nn.Module):
    """Average over the whole feature map: (B, C, H, W) -> (B, C, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, kernel_size=x.shape[2:])


class FlattenLayer(nn.Module):
    """Keep the batch dimension, flatten the rest: (B, C, H, W) -> (B, C*H*W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


def shared_layer_net(in_features: int = 4, hidden: int = 8) -> nn.Sequential:
    """The book's parameter-sharing example: one `Linear(hidden, hidden)` object used twice.

    Both uses hold the same Parameter objects, so backward adds the gradients of both uses.
    """
    shared = nn.Linear(hidden, hidden)
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        shared,
        nn.ReLU(),
        shared,
        nn.ReLU(),
        nn.Linear(hidden, 1),
    )
