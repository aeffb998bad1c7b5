"""Convolution and pooling from scratch, vectorised with sliding-window views.

`Tensor.unfold(dim, size, step)` turns a padded (B, C, H, W) tensor into a view of all its
(kh, kw) windows, (B, C, Ho, Wo, kh, kw), without copying; a convolution is then one matrix
product of those windows with the kernel (im2col + matmul), and pooling one reduction over the
window axes; the convolution's backward, written out, adds the windows' gradients back (col2im).
No Python loop ever runs over pixels, so these are fast enough to train with.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

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
    """(B, C, H, W) -> (B, C, Ho, Wo, kh, kw), every window, Ho = (H - kh) // sh + 1."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    B, C, H, W = x.shape
    if kh > H or kw > W:
        raise ValueError(f"kernel {kh}x{kw} is larger than the (padded) input {H}x{W}")
    if (sh, sw) == (kh, kw):
        # Windows that tile the input are a reshape, whose backward is a cheap reshape too
        # (unfold's backward has to add up overlapping windows, and is slow).
        Ho, Wo = H // kh, W // kw
        tiles = x[:, :, : Ho * kh, : Wo * kw].reshape(B, C, Ho, kh, Wo, kw)
        return tiles.permute(0, 1, 2, 4, 3, 5)
    return x.unfold(2, kh, sh).unfold(3, kw, sw)


def _im2col(x: torch.Tensor, kernel_size: tuple[int, int], stride: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) -> (B, C*kh*kw, Ho*Wo): each output pixel's window as a column."""
    windows = windows2d(x, kernel_size, stride)  # (B, C, Ho, Wo, kh, kw), a view
    B, C, Ho, Wo, kh, kw = windows.shape
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(B, C * kh * kw, Ho * Wo)


def _col2im(
    cols: torch.Tensor,
    input_shape: torch.Size,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    output_size: tuple[int, int],
) -> torch.Tensor:
    """The adjoint of _im2col: add each window's entries back onto the pixels they came from.
    One vectorised strided add per kernel offset (kh * kw of them), never a loop over pixels."""
    B, C, H, W = input_shape
    (kh, kw), (sh, sw), (Ho, Wo) = kernel_size, stride, output_size
    windows = cols.reshape(B, C, kh, kw, Ho, Wo)
    x = cols.new_zeros(input_shape)
    for i in range(kh):
        for j in range(kw):
            # Offset (i, j) of window (h, w) is pixel (h * sh + i, w * sw + j).
            x[:, :, i : i + sh * (Ho - 1) + 1 : sh, j : j + sw * (Wo - 1) + 1 : sw] += windows[
                :, :, i, j
            ]
    return x


class _Conv2d(torch.autograd.Function):
    """Convolution as im2col + matmul, with the backward written out: autograd through the
    overlapping window view would sum the windows' gradients with unfold's slow backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: tuple[int, int]):
        C_out, C_in, kh, kw = weight.shape
        B, _, H, W = x.shape
        Ho, Wo = (H - kh) // stride[0] + 1, (W - kw) // stride[1] + 1
        cols = _im2col(x, (kh, kw), stride)  # (B, C_in*kh*kw, Ho*Wo)
        ctx.save_for_backward(cols, weight)
        ctx.stride, ctx.input_shape, ctx.output_size = stride, x.shape, (Ho, Wo)
        # (C_out, C_in*kh*kw) @ (B, C_in*kh*kw, Ho*Wo) -> (B, C_out, Ho*Wo)
        return (weight.reshape(C_out, C_in * kh * kw) @ cols).reshape(B, C_out, Ho, Wo)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        cols, weight = ctx.saved_tensors
        C_out, C_in, kh, kw = weight.shape
        Ho, Wo = ctx.output_size
        # Under autocast grad_out is bf16; the gradients must match the fp32 inputs.
        grad_out = grad_out.to(weight.dtype).reshape(-1, C_out, Ho * Wo)  # (B, C_out, Ho*Wo)
        weight_matrix = weight.reshape(C_out, C_in * kh * kw)
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_cols = weight_matrix.T @ grad_out  # (B, C_in*kh*kw, Ho*Wo)
            grad_x = _col2im(grad_cols, ctx.input_shape, (kh, kw), ctx.stride, ctx.output_size)
        if ctx.needs_input_grad[1]:
            # Every pixel of every image adds to every weight: (B, C_out, C_in*kh*kw) summed.
            grad_weight = (grad_out @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
        return grad_x, grad_weight, None


def conv1x1(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution is a matrix product over channels at every pixel:
    (C_out, C_in) @ (B, C_in, H*W) -> (B, C_out, H, W)."""
    B, C_in, H, W = x.shape
    C_out = weight.shape[0]
    return (weight.reshape(C_out, C_in) @ x.reshape(B, C_in, H * W)).reshape(B, C_out, H, W)


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) as it is, (C, H, W) as a batch of one; any other shape is refused (as
    F.conv2d and F.max_pool2d refuse it)."""
    if x.dim() not in (3, 4):
        raise ValueError(f"expected (B, C, H, W) or (C, H, W) input, got shape {tuple(x.shape)}")
    return x.unsqueeze(0) if x.dim() == 3 else x


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
    x = as_batch(x)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"input has {x.shape[1]} channels, the kernel expects {weight.shape[1]}")
    x = pad2d(x, padding)
    kh, kw = weight.shape[-2:]
    if kh == 1 and kw == 1:
        sh, sw = _pair(stride, "stride")
        out = conv1x1(x[:, :, ::sh, ::sw], weight)
    else:
        out = _Conv2d.apply(x, weight, _pair(stride, "stride"))
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
    x = as_batch(x)
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
