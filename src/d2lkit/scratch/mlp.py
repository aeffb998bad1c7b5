"""Multilayer-perceptron pieces from scratch: ReLU, dropout, the L2 penalty."""

from __future__ import annotations

import torch


def relu(X: torch.Tensor) -> torch.Tensor:
    """max(X, 0). The gradient at exactly 0 is 0, as PyTorch's relu defines it (torch.maximum
    would split it 1/2 - 1/2 on the tie)."""
    return torch.where(X > 0, X, torch.zeros_like(X))


def dropout(
    X: torch.Tensor, p: float, training: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Inverted dropout: zero each element with probability p and scale the survivors by 1/(1-p),
    so E[dropout(X)] = X and nothing needs rescaling at test time. Identity when not training."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return X
    if p == 1:
        return X * 0  # zeros that stay in the graph: a zero gradient rather than none
    # Uniform numbers in at least float32: bf16 keeps 8 bits, so its rand rounds values near p
    # (bf16 p 0.1 dropped 10.2 %, and the mean fell to 0.996).
    noise_dtype = torch.promote_types(X.dtype, torch.float32)
    noise = torch.rand(X.shape, generator=generator, device=X.device, dtype=noise_dtype)
    keep = (noise >= p).to(X.dtype)
    return keep * X / (1 - p)


def l2_penalty(w: torch.Tensor) -> torch.Tensor:
    """||w||^2 / 2: added to the loss with weight lambda, it pulls w towards 0 (weight decay)."""
    return (w**2).sum() / 2
