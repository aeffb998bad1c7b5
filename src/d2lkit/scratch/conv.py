"""Convolution and pooling from scratch, vectorised with sliding-window views.

`Tensor.unfold(dim, size, step)` turns a padded (B, C, H, W) tensor into a view of all its
(kh, kw) windows, (B, C, Ho, Wo, kh, kw), without copying; a convolution is then one contraction
of those windows with the kernel (im2col + matmul), and pooling one reduction over the window axes.
No Python loop ever runs over pixels, so these are fast enough to train with.
"""

from __future__ import annotations

import torch

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """The book's 2-D cross-correlation of one (H, W) array with one (kh, kw) kernel
    -> (H - kh + 1, W - kw + 1)."""
    kh, kw = K.shape
    windows = X.unfold(0, kh, 1).unfold(1, kw, 1)  # (H-kh+1, W-kw+1, kh, kw)
    return (windows * K).sum(dim=(-2, -1))


def pad2d(x: torch.Tensor, padding: IntPair, value: float = 0.0) -> torch.Tensor:
    """Pad the last two dimensions by (ph, pw) on each side with `value`."""
    ph, pw = _pair(padding, "padding")
    if ph == 0 and pw == 0:
        return x
    *lead, H, W = x.shape
    padded = x.new_full((*lead, H + 2 * ph, W + 2 * pw), value)
    padded[..., ph : ph + H, pw : pw + W] = x
    return padded


def windows2d(x: torch.Tensor, kernel_size: IntPair, stride: IntPair) -> torch.Tensor:
    """(B, C, H, W) -> the view (B, C, Ho, Wo, kh, kw) of every window, Ho = (H - kh) // sh + 1."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    if x.shape[-2] < kh or x.shape[-1] < kw:
        raise ValueError(
            f"kernel {kh}x{kw} is larger than the (padded) input {x.shape[-2]}x{x.shape[-1]}"
        )
    return x.unfold(2, kh, sh).unfold(3, kw, sw)


def conv1x1(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution is a matrix product over channels at every pixel:
    (C_out, C_in) @ (B, C_in, H*W) -> (B, C_out, H, W)."""
    B, C_in, H, W = x.shape
    C_out = weight.shape[0]
    return (weight.reshape(C_out, C_in) @ x.reshape(B, C_in, H * W)).reshape(B, C_out, H, W)


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
) -> torch.Tensor:
    """Multi-input, multi-output channel 2-D convolution (cross-correlation, like F.conv2d).

    x (B, C_in, H, W) or (C_in, H, W), weight (C_out, C_in, kh, kw), bias (C_out,)
    -> (B, C_out, Ho, Wo) with Ho = (H + 2 ph - kh) // sh + 1.
    """
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"input has {x.shape[1]} channels, the kernel expects {weight.shape[1]}")
    x = pad2d(x, padding)
    kh, kw = weight.shape[-2:]
    if kh == 1 and kw == 1:
        sh, sw = _pair(stride, "stride")
        out = conv1x1(x[:, :, ::sh, ::sw], weight)
    else:
        windows = windows2d(x, (kh, kw), stride)  # (B, C_in, Ho, Wo, kh, kw)
        # Sum over input channels and the window for each output channel: im2col then matmul.
        out = torch.einsum("bchwij,ocij->bohw", windows, weight)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def pool2d(
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    mode: str = "max",
    count_include_pad: bool = True,
) -> torch.Tensor:
    """Max or average pooling of (B, C, H, W) (or (C, H, W)) like F.max_pool2d / F.avg_pool2d.

    The stride defaults to the kernel size. Max pooling pads with -inf (padding never wins); average
    pooling pads with zeros and, like PyTorch's default count_include_pad=True, divides by the full
    window size; with count_include_pad=False it divides by the number of real pixels instead.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    kh, kw = _pair(kernel_size, "kernel_size")
    stride = (kh, kw) if stride is None else _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if 2 * ph > kh or 2 * pw > kw:
        # PyTorch's rule: a window made only of padding would have no value to pool.
        raise ValueError(f"padding {ph, pw} must be at most half the kernel size {kh, kw}")
    unbatched = x.dim() == 3
    if unbatched:
        x = x.unsqueeze(0)
    if mode == "max":
        windows = windows2d(pad2d(x, (ph, pw), float("-inf")), (kh, kw), stride)
        # Flatten each window row-major and take the first maximum, which is the element PyTorch's
        # max_pool2d picks too, so gradients on ties go to the same input.
        out = windows.reshape(*windows.shape[:4], kh * kw).max(dim=-1).values
    else:
        windows = windows2d(pad2d(x, (ph, pw)), (kh, kw), stride)
        out = windows.sum(dim=(-2, -1))
        if count_include_pad:
            out = out / (kh * kw)
        else:
            ones = pad2d(x.new_ones((1, 1, *x.shape[-2:])), (ph, pw))
            out = out / windows2d(ones, (kh, kw), stride).sum(dim=(-2, -1))
    return out.squeeze(0) if unbatched else out
