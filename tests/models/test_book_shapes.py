"""Intermediate shapes match the shape printouts in the book (one image, top-level layers).

The book feeds `torch.rand(1, 1, H, W)` through each network and prints every layer's output
shape; the expected lists below are those printouts. Forward hooks record what our models do.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lkit.models import create_model
from d2lkit.models.densenet import DenseBlock, transition_block
from d2lkit.models.googlenet import Inception
from d2lkit.models.resnet import Residual


def layer_shapes(
    model: nn.Module, x: torch.Tensor, names: list[str] | None = None
) -> list[tuple[int, ...]]:
    """Output shapes, in call order, of the named modules (default: the top-level children)."""
    modules = dict(model.named_modules())
    targets = names if names is not None else [name for name, _ in model.named_children()]
    shapes: list[tuple[int, ...]] = []
    handles = [
        modules[name].register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
        for name in targets
    ]
    model.eval()
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


def test_alexnet_shapes():
    # Conv 54, pool 26, conv 26, pool 12, three convs 12, pool 5, flatten 6400, 4096, 4096, 10.
    expected = [
        (1, 96, 54, 54), (1, 96, 54, 54), (1, 96, 26, 26),
        (1, 256, 26, 26), (1, 256, 26, 26), (1, 256, 12, 12),
        (1, 384, 12, 12), (1, 384, 12, 12), (1, 384, 12, 12), (1, 384, 12, 12),
        (1, 256, 12, 12), (1, 256, 12, 12), (1, 256, 5, 5),
        (1, 6400), (1, 4096), (1, 4096), (1, 4096), (1, 4096), (1, 4096), (1, 4096), (1, 10),
    ]  # fmt: skip
    assert layer_shapes(create_model("alexnet"), torch.rand(1, 1, 224, 224)) == expected


def test_alexnet_first_window_starts_at_the_image_corner_as_in_the_port():
    # Padding 1 gives the same 54x54 map from windows shifted by a pixel; the port pads nothing.
    first = create_model("alexnet")[0]
    assert (first.kernel_size, first.stride, first.padding) == ((11, 11), (4, 4), (0, 0))


@pytest.mark.parametrize("ratio", [1, 8])
def test_vgg11_block_shapes(ratio):
    # The book: (1, 64, 112, 112) (1, 128, 56, 56) (1, 256, 28, 28) (1, 512, 14, 14)
    # (1, 512, 7, 7); the trained network divides every channel count by 8.
    book = [(64, 112), (128, 56), (256, 28), (512, 14), (512, 7)]
    expected = [(1, channels // ratio, side, side) for channels, side in book]
    names = [f"vgg_block{i}" for i in range(1, 6)] + ["fc.0", "fc.1", "fc.4", "fc.7"]
    expected += [(1, 512 // ratio * 49), (1, 4096 // ratio), (1, 4096 // ratio), (1, 10)]
    # Full width is 7.6 GMAC per image: the meta device propagates shapes without computing.
    device = "meta" if ratio == 1 else "cpu"
    with torch.device(device):
        model = create_model("vgg11", ratio=ratio)
        x = torch.rand(1, 1, 224, 224)
    assert layer_shapes(model, x, names) == expected


def test_nin_shapes():
    expected = [
        (1, 96, 54, 54), (1, 96, 26, 26),
        (1, 256, 26, 26), (1, 256, 12, 12),
        (1, 384, 12, 12), (1, 384, 5, 5), (1, 384, 5, 5),
        (1, 10, 5, 5), (1, 10, 1, 1), (1, 10),
    ]  # fmt: skip
    assert layer_shapes(create_model("nin"), torch.rand(1, 1, 224, 224)) == expected


def test_googlenet_shapes():
    # 48 -> 24 -> 12 -> 6 -> 3 -> 1: the stem conv, then b1..b4, then b5's global pool.
    names = ["b1.0", "b1", "b2", "b3", "b4", "b5.2", "b5", "fc"]
    expected = [
        (1, 64, 48, 48), (1, 64, 24, 24), (1, 192, 12, 12), (1, 480, 6, 6),
        (1, 832, 3, 3), (1, 1024, 1, 1), (1, 1024), (1, 10),
    ]  # fmt: skip
    assert layer_shapes(create_model("googlenet"), torch.rand(1, 1, 96, 96), names) == expected


def test_inception_channels():
    # The first Inception of b3: 64 + 128 + 32 + 32 = 256 channels, H and W kept.
    block = Inception(192, 64, (96, 128), (16, 32), 32)
    assert block(torch.rand(2, 192, 12, 12)).shape == (2, 256, 12, 12)


def test_resnet18_shapes_at_224():
    # The book's printout for a 224x224 input.
    expected = [
        (1, 64, 56, 56), (1, 64, 56, 56), (1, 128, 28, 28), (1, 256, 14, 14),
        (1, 512, 7, 7), (1, 512, 1, 1), (1, 512), (1, 10),
    ]  # fmt: skip
    assert layer_shapes(create_model("resnet18"), torch.rand(1, 1, 224, 224)) == expected


def test_resnet18_shapes_at_96_and_small_variant():
    sides = [
        side for *_, side in layer_shapes(create_model("resnet18"), torch.rand(1, 1, 96, 96))[:5]
    ]
    assert sides == [24, 24, 12, 6, 3]
    small = layer_shapes(create_model("resnet18_small"), torch.rand(1, 1, 28, 28))[:5]
    assert [shape[-1] for shape in small] == [28, 28, 14, 7, 4]


def test_residual_shapes():
    x = torch.rand(4, 3, 6, 6)
    assert Residual(3, 3)(x).shape == (4, 3, 6, 6)
    assert Residual(3, 6, use_1x1conv=True, stride=2)(x).shape == (4, 6, 3, 3)


def test_densenet_shapes():
    expected = [
        (1, 64, 24, 24),
        (1, 192, 24, 24), (1, 96, 12, 12),
        (1, 224, 12, 12), (1, 112, 6, 6),
        (1, 240, 6, 6), (1, 120, 3, 3),
        (1, 248, 3, 3), (1, 248, 3, 3), (1, 248, 3, 3),
        (1, 248, 1, 1), (1, 248), (1, 10),
    ]  # fmt: skip
    assert layer_shapes(create_model("densenet"), torch.rand(1, 1, 96, 96)) == expected


def test_dense_and_transition_blocks():
    # The book: DenseBlock(2, 3, 10) on (4, 3, 8, 8) gives 3 + 2 * 10 = 23 channels;
    # transition_block(23, 10) then halves H and W.
    y = DenseBlock(2, 3, 10)(torch.rand(4, 3, 8, 8))
    assert y.shape == (4, 23, 8, 8)
    assert transition_block(23, 10)(y).shape == (4, 10, 4, 4)
