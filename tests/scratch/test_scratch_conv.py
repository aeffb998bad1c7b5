"""conv2d, corr2d and pool2d against F.conv2d / F.max_pool2d / F.avg_pool2d (float64)."""

import pytest
import torch
import torch.nn.functional as F

from d2lkit.scratch.conv import conv1x1, conv2d, corr2d, pool2d


def randn(*shape, generator):
    return torch.randn(*shape, dtype=torch.float64, generator=generator)


def test_corr2d_reproduces_the_books_example():
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))


@pytest.mark.parametrize("shape, kernel", [((6, 8), (2, 2)), ((5, 7), (3, 1)), ((4, 4), (4, 4))])
def test_corr2d_matches_conv2d_on_one_channel(parity, rng, shape, kernel):
    X, K = randn(*shape, generator=rng), randn(*kernel, generator=rng)
    parity(corr2d, lambda x, k: F.conv2d(x[None, None], k[None, None])[0, 0], X, K)


# (batch, in channels, height, width, out channels, kernel, stride, padding)
CONV_CASES = [
    (2, 3, 7, 9, 4, 3, 1, 0),  # odd sizes
    (1, 1, 5, 5, 1, 3, 1, 1),  # batch of 1, "same" padding
    (3, 2, 11, 8, 5, (3, 2), (2, 3), (1, 0)),  # rectangular kernel, stride and padding
    (2, 3, 8, 8, 2, 5, 2, 2),  # stride 2 with padding
    (2, 2, 9, 9, 3, 2, 3, 0),  # stride larger than the kernel: pixels skipped
    (2, 3, 7, 7, 4, 2, 2, 0),  # stride = kernel: tiling windows, the last row and column unused
    (1, 2, 8, 6, 3, 3, 3, 1),  # tiling windows over a padded input
    (1, 2, 4, 4, 2, 4, 1, 0),  # kernel as large as the input: a 1x1 output
    (2, 4, 6, 6, 3, 1, 1, 0),  # 1x1 kernel (the matmul path)
    (2, 4, 7, 5, 3, 1, 2, 1),  # 1x1 kernel with stride and padding
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("B, C_in, H, W, C_out, kernel, stride, padding", CONV_CASES)
def test_conv2d_matches_pytorch(parity, rng, bias, B, C_in, H, W, C_out, kernel, stride, padding):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = randn(B, C_in, H, W, generator=rng)
    weight = randn(C_out, C_in, kh, kw, generator=rng)
    inputs = (x, weight, randn(C_out, generator=rng)) if bias else (x, weight)
    parity(
        lambda *a: conv2d(*a, stride=stride, padding=padding),
        lambda *a: F.conv2d(*a, stride=stride, padding=padding),
        *inputs,
    )


def test_conv2d_accepts_an_unbatched_input(parity, rng):
    x, weight = randn(3, 6, 5, generator=rng), randn(2, 3, 3, 3, generator=rng)
    parity(lambda *a: conv2d(*a, padding=1), lambda *a: F.conv2d(*a, padding=1), x, weight)


def test_conv2d_under_bf16_autocast_gives_fp32_gradients_close_to_pytorch(rng):
    x = torch.randn(4, 3, 9, 9, generator=rng, requires_grad=True)
    weight = torch.randn(5, 3, 3, 3, generator=rng, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv2d(x, weight, stride=2, padding=1)
    assert out.dtype == torch.bfloat16
    # An upstream gradient of ones is exact in bf16, so the fp32 backward matches F's closely.
    out.float().sum().backward()
    reference_x = x.detach().clone().requires_grad_()
    reference_w = weight.detach().clone().requires_grad_()
    F.conv2d(reference_x, reference_w, stride=2, padding=1).sum().backward()
    assert x.grad.dtype == torch.float32 and weight.grad.dtype == torch.float32
    torch.testing.assert_close(x.grad, reference_x.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(weight.grad, reference_w.grad, atol=1e-4, rtol=1e-4)


def test_conv1x1_is_the_matmul_over_channels(parity, rng):
    x, weight = randn(2, 5, 3, 4, generator=rng), randn(6, 5, 1, 1, generator=rng)
    parity(conv1x1, F.conv2d, x, weight)


def test_conv2d_rejects_mismatched_channels(rng):
    with pytest.raises(ValueError, match="channels"):
        conv2d(randn(1, 3, 5, 5, generator=rng), randn(2, 4, 3, 3, generator=rng))


def test_conv2d_rejects_a_kernel_larger_than_the_input(rng):
    with pytest.raises(ValueError, match="larger than"):
        conv2d(randn(1, 1, 3, 3, generator=rng), randn(1, 1, 4, 4, generator=rng))


# (batch, channels, height, width, kernel, stride, padding)
POOL_CASES = [
    (2, 3, 8, 8, 2, None, 0),  # the book's 2x2 pooling, stride = kernel
    (2, 3, 7, 9, 3, 2, 1),  # overlapping windows with padding
    (1, 2, 5, 5, 2, 2, 0),  # odd size: the last row and column are dropped; batch of 1
    (2, 2, 6, 7, (3, 2), (1, 2), (1, 0)),  # rectangular kernel and stride
    (3, 1, 4, 6, 1, 1, 0),  # 1x1 window: the identity
    (2, 2, 9, 9, 3, 3, 1),  # stride 3 with padding
    (1, 1, 3, 3, 3, 1, 1),  # padding on every side of a tiny input
]


@pytest.mark.parametrize("B, C, H, W, kernel, stride, padding", POOL_CASES)
def test_max_pool_matches_pytorch(parity, rng, B, C, H, W, kernel, stride, padding):
    parity(
        lambda x: pool2d(x, kernel, stride, padding, mode="max"),
        lambda x: F.max_pool2d(x, kernel, stride, padding),
        randn(B, C, H, W, generator=rng),
    )


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("B, C, H, W, kernel, stride, padding", POOL_CASES)
def test_avg_pool_matches_pytorch(
    parity, rng, count_include_pad, B, C, H, W, kernel, stride, padding
):
    parity(
        lambda x: pool2d(
            x, kernel, stride, padding, mode="avg", count_include_pad=count_include_pad
        ),
        lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad),
        randn(B, C, H, W, generator=rng),
    )


def test_avg_pool_default_counts_padding_like_pytorch(rng):
    # The corner window of a padded 2x2 average covers one real pixel and three zeros.
    x = torch.ones(1, 1, 4, 4, dtype=torch.float64)
    out = pool2d(x, 2, 2, 1, mode="avg")
    assert torch.equal(out, F.avg_pool2d(x, 2, 2, 1))
    assert out[0, 0, 0, 0] == 0.25


def test_max_pool_gradient_goes_to_the_same_input_on_ties(parity, rng):
    # Small integers make many windows hold several equal maxima.
    x = torch.randint(0, 3, (2, 3, 7, 7), generator=rng).double()
    parity(lambda x: pool2d(x, 3, 1, 1, mode="max"), lambda x: F.max_pool2d(x, 3, 1, 1), x)


def test_pool_accepts_an_unbatched_input(parity, rng):
    parity(
        lambda x: pool2d(x, 2, mode="avg"),
        lambda x: F.avg_pool2d(x, 2),
        randn(3, 6, 6, generator=rng),
    )


def test_pool_rejects_padding_over_half_the_kernel(rng):
    with pytest.raises(ValueError, match="half the kernel"):
        pool2d(randn(1, 1, 6, 6, generator=rng), 2, padding=2)


def test_pool_rejects_an_unknown_mode(rng):
    with pytest.raises(ValueError, match="mode"):
        pool2d(randn(1, 1, 4, 4, generator=rng), 2, mode="median")


@pytest.mark.parametrize(
    "op", [lambda x: conv2d(x, torch.ones(1, 1, 3, 3)), lambda x: pool2d(x, 2)]
)
def test_an_input_that_is_not_an_image_batch_is_refused_with_its_shape(op):
    with pytest.raises(ValueError, match=r"expected \(B, C, H, W\) or \(C, H, W\) input, got"):
        op(torch.rand(8, 8))
