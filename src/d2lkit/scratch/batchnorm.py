"""Batch normalisation from scratch, with PyTorch's running-statistics convention.

Training normalises with the batch's own mean and (biased) variance per channel and updates the
running statistics as PyTorch's nn.BatchNorm does:
    running = (1 - momentum) * running + momentum * batch_statistic,
using the *unbiased* batch variance for the running variance. Evaluation normalises with the
running statistics. (The book writes momentum the other way round: its 0.9 is PyTorch's 0.1.)
"""

from __future__ import annotations

import torch
from torch import nn


def batch_norm(
    x: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float = 1e-5,
    momentum: float = 0.1,
    training: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise x (B, C) per feature or (B, C, H, W) per channel; returns (y, new_mean, new_var).

    gamma, beta, moving_mean and moving_var hold C values (any shape: (C,) or the book's
    (1, C, 1, 1)); the new running statistics come back in the shape they were given.
    """
    if x.dim() not in (2, 4):
        raise ValueError(f"batch_norm expects (B, C) or (B, C, H, W), got shape {tuple(x.shape)}")
    C = x.shape[1]
    shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)  # broadcasts per channel
    dims = (0,) if x.dim() == 2 else (0, 2, 3)  # everything but the channel axis
    # Statistics of bf16/fp16 activations (e.g. under autocast) are computed in fp32.
    low_precision = x.dtype in (torch.float16, torch.bfloat16)
    xc = x.float() if low_precision else x
    if training:
        count = xc.numel() // C  # values per channel
        if count < 2:
            raise ValueError("batch_norm needs more than 1 value per channel when training")
        mean = xc.mean(dim=dims, keepdim=True)  # (1, C[, 1, 1])
        var = ((xc - mean) ** 2).mean(dim=dims, keepdim=True)  # biased: normalises this batch
        with torch.no_grad():
            unbiased_var = var * (count / (count - 1))
            batch_mean = mean.reshape(moving_mean.shape)
            batch_var = unbiased_var.reshape(moving_var.shape)
            new_mean = (1 - momentum) * moving_mean + momentum * batch_mean
            new_var = (1 - momentum) * moving_var + momentum * batch_var
    else:
        mean, var = moving_mean.reshape(shape), moving_var.reshape(shape)
        new_mean, new_var = moving_mean, moving_var
    x_hat = (xc - mean) / torch.sqrt(var + eps)
    y = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    return (y.to(x.dtype) if low_precision else y), new_mean, new_var


class BatchNorm(nn.Module):
    """Batch normalisation over features (B, C) or channels (B, C, H, W), like nn.BatchNorm1d/2d:
    learnable `weight` (gamma) and `bias` (beta), buffers `running_mean` and `running_var`."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, new_mean, new_var = batch_norm(
            x,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            eps=self.eps,
            momentum=self.momentum,
            training=self.training,
        )
        if self.training:
            with torch.no_grad():
                self.running_mean.copy_(new_mean)
                self.running_var.copy_(new_var)
        return y

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, momentum={self.momentum}"
