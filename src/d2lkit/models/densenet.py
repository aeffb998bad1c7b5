"""DenseNet: each convolution's output is concatenated to its input; transition layers shrink
the channel count and the resolution between dense blocks."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from d2lkit.models.registry import register_model


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Batch norm, ReLU, 3x3 convolution (the "pre-activation" order)."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
    )


class DenseBlock(nn.Module):
    """`num_convs` conv blocks; each adds `growth_rate` channels to the running concatenation,
    so the block maps C channels to C + num_convs * growth_rate."""

    def __init__(self, num_convs: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.net = nn.ModuleList(
            conv_block(in_channels + index * growth_rate, growth_rate) for index in range(num_convs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.net:
            x = torch.cat((x, block(x)), dim=1)  # (B, C + growth_rate, H, W)
        return x


def transition_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """1x1 convolution to `out_channels`, then a 2x2 average pool halving H and W."""
    return nn.Sequential(
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1),
        nn.AvgPool2d(kernel_size=2, stride=2),
    )


@register_model(input_size=(1, 96, 96))
def densenet(
    num_classes: int = 10,
    in_channels: int = 1,
    growth_rate: int = 32,
    convs_per_block: Sequence[int] = (4, 4, 4, 4),
) -> nn.Module:
    """The book's DenseNet (growth 32, four blocks of four convs). On 96x96 the channels and
    sides run 64@24 -> 192@24 -> 96@12 -> 224@12 -> 112@6 -> 240@6 -> 120@3 -> 248@3."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["b1"] = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),  # (B, 64, H/2, W/2)
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # (B, 64, H/4, W/4)
    )
    channels = 64
    for index, num_convs in enumerate(convs_per_block, start=1):
        layers[f"dense{index}"] = DenseBlock(num_convs, channels, growth_rate)
        channels += num_convs * growth_rate
        if index < len(convs_per_block):
            # Halve the channels as well as the resolution, or they would keep growing.
            layers[f"transition{index}"] = transition_block(channels, channels // 2)
            channels //= 2
    layers["bn"] = nn.BatchNorm2d(channels)
    layers["relu"] = nn.ReLU()
    layers["pool"] = nn.AdaptiveAvgPool2d((1, 1))  # (B, channels, 1, 1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(channels, num_classes)
    return nn.Sequential(layers)
