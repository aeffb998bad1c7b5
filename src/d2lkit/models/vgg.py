"""VGG: repeated blocks of 3x3 convolutions followed by a 2x2 max-pool.

`vgg11(ratio=8)` is what the book trains on Fashion-MNIST: every channel count and the two hidden
fully connected layers divided by 8 (the PyTorch port's `small_conv_arch`, fc 512*7*7/8 -> 4096/8).
`ratio=1` gives the full-width VGG-11.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from d2lkit.models.registry import register_model

# (number of convolutions, output channels) per block: 8 convolutions + 3 linear layers = VGG-11.
VGG11_CONV_ARCH: tuple[tuple[int, int], ...] = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """`num_convs` 3x3 convolutions (padding 1 keeps H, W) then a max-pool halving H and W."""
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(
    conv_arch: Sequence[tuple[int, int]],
    num_classes: int = 10,
    in_channels: int = 1,
    fc_hidden: int = 4096,
    dropout: float = 0.5,
) -> nn.Sequential:
    """A VGG for 224x224 inputs: five halving blocks leave a 7x7 map for the classifier."""
    blocks: OrderedDict[str, nn.Module] = OrderedDict()
    channels = in_channels
    for index, (num_convs, out_channels) in enumerate(conv_arch, start=1):
        blocks[f"vgg_block{index}"] = vgg_block(num_convs, channels, out_channels)
        channels = out_channels
    side = 224 // 2 ** len(conv_arch)  # 7 for five blocks
    blocks["fc"] = nn.Sequential(
        nn.Flatten(),  # (B, channels * 7 * 7)
        nn.Linear(channels * side * side, fc_hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(fc_hidden, fc_hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(fc_hidden, num_classes),
    )
    return nn.Sequential(blocks)


@register_model(input_size=(1, 224, 224))
def vgg11(num_classes: int = 10, in_channels: int = 1, ratio: int = 8) -> nn.Module:
    """VGG-11 with channels and hidden units divided by `ratio` (8 as in the book's run; 1 for
    the full network). Block outputs on 224x224: 112, 56, 28, 14, 7."""
    if ratio < 1 or 64 % ratio:
        raise ValueError(f"ratio must divide 64 (1, 2, 4, 8, ...), got {ratio}")
    conv_arch = [(num_convs, channels // ratio) for num_convs, channels in VGG11_CONV_ARCH]
    return vgg(conv_arch, num_classes, in_channels, fc_hidden=4096 // ratio)
