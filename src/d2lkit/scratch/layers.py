"""nn.Module wrappers around the scratch ops, so from-scratch models train like any other.

Parameters are plain nn.Parameter tensors; each forward calls the hand-written op.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from d2lkit.scratch.conv import IntPair, conv2d, pool2d
from d2lkit.scratch.mlp import dropout, relu


class Linear(nn.Module):
    """X (B, in) @ W (in, out) + b, the book's layout. With `init_std` the weights are drawn from
    N(0, init_std^2) and the bias is 0, as the book's scratch code does; without it they are drawn
    like nn.Linear's, U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, init_std: float | None = None) -> None:
        super().__init__()
        if init_std is None:
            bound = 1 / math.sqrt(in_features)
            weight = torch.empty(in_features, out_features).uniform_(-bound, bound)
            bias = torch.empty(out_features).uniform_(-bound, bound)
        else:
            weight = torch.randn(in_features, out_features) * init_std
            bias = torch.zeros(out_features)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1) @ self.weight + self.bias


class Conv2d(nn.Module):
    """A convolution layer over the scratch conv2d, initialised like nn.Conv2d
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in * kh * kw)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: IntPair = 1,
        padding: IntPair = 0,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.padding = padding
        bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class Pool2d(nn.Module):
    """Max or average pooling over the scratch pool2d."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        mode: str = "max",
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.mode = kernel_size, stride, padding, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool2d(x, self.kernel_size, self.stride, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.mode}, kernel_size={self.kernel_size}, stride={self.stride}"


class ReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu(x)


class Dropout(nn.Module):
    """Inverted dropout with probability p while training, the identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
