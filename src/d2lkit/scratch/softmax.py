"""Softmax regression from scratch: softmax (naive and stable), cross-entropy, accuracy."""

from __future__ import annotations

import torch


def naive_softmax(X: torch.Tensor) -> torch.Tensor:
    """exp(X) / sum exp(X) over the last dimension, as the book first writes it.

    exp overflows to inf for logits above ~88 (float32) or ~709 (float64), giving inf / inf = nan.
    """
    X_exp = torch.exp(X)
    return X_exp / X_exp.sum(dim=-1, keepdim=True)


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Numerically stable softmax over the last dimension.

    Subtracting each row's maximum leaves the result unchanged (it cancels in the ratio) but keeps
    every exponent <= 0, so exp never overflows.
    """
    shifted = X - X.amax(dim=-1, keepdim=True).detach()
    X_exp = torch.exp(shifted)
    return X_exp / X_exp.sum(dim=-1, keepdim=True)


def logsumexp(X: torch.Tensor) -> torch.Tensor:
    """log(sum(exp(X))) over the last dimension, computed as m + log(sum(exp(X - m)))."""
    m = X.amax(dim=-1, keepdim=True).detach()
    # A row of all -inf would give (-inf) - (-inf) = nan; shifting by 0 there keeps it -inf.
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    return (m + torch.log(torch.exp(X - m).sum(dim=-1, keepdim=True))).squeeze(-1)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of logits (B, K) against class indices y (B,), from logits, never from
    probabilities: -log softmax(logits)[y] = logsumexp(logits) - logits[y], so a tiny probability
    never becomes log(0) = -inf. `reduction` is "mean", "sum" or "none" as in PyTorch."""
    picked = logits.gather(-1, y.unsqueeze(-1)).squeeze(-1)  # (B,) the true class's logit
    losses = logsumexp(logits) - picked
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of y_hat (B, K) whose largest score is at the true class y (B,)."""
    if y.numel() == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    return (y_hat.argmax(dim=-1) == y).double().mean().item()
