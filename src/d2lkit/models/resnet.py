"""ResNet-18 as the book builds it: `Residual` units grouped by `resnet_block`."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.models.registry import register_model


class Residual(nn.Module):
    """Two 3x3 conv + batch-norm layers; the input is added back before the last ReLU.

    With `use_1x1conv` a 1x1 convolution (same stride) reshapes the shortcut when the channel
    count or the resolution changes.
    """

    def __init__(
        self, in_channels: int, out_channels: int, use_1x1conv: bool = False, stride: int = 1
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv3 = (
            nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)
            if use_1x1conv
            else None
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))  # (B, out, H/stride, W/stride)
        y = self.bn2(self.conv2(y))
        shortcut = self.conv3(x) if self.conv3 is not None else x
        return F.relu(y + shortcut)


def resnet_block(
    in_channels: int, out_channels: int, num_residuals: int, first_block: bool = False
) -> nn.Sequential:
    """`num_residuals` units; all but the first block halve H and W and change channels."""
    if first_block and in_channels != out_channels:
        raise ValueError("the first block keeps the channel count")
    units = []
    for index in range(num_residuals):
        if index == 0 and not first_block:
            units.append(Residual(in_channels, out_channels, use_1x1conv=True, stride=2))
        else:
            units.append(Residual(out_channels, out_channels))
    return nn.Sequential(*units)


def _resnet18(stem: nn.Sequential, num_classes: int) -> nn.Sequential:
    """Four stages of two residual units each (64, 128, 256, 512 channels) after `stem`."""
    return nn.Sequential(
        OrderedDict(
            b1=stem,
            b2=resnet_block(64, 64, 2, first_block=True),
            b3=resnet_block(64, 128, 2),  # H/2
            b4=resnet_block(128, 256, 2),  # H/4
            b5=resnet_block(256, 512, 2),  # H/8
            pool=nn.AdaptiveAvgPool2d((1, 1)),  # (B, 512, 1, 1)
            flatten=nn.Flatten(),
            fc=nn.Linear(512, num_classes),
        )
    )


@register_model(input_size=(1, 96, 96))
def resnet18(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The book's ResNet-18: 7x7 stride-2 stem and a max-pool cut H by 4 before the stages.
    On 96x96: 24 (b1, b2) -> 12 -> 6 -> 3 -> 1; on 224x224: 56 -> 28 -> 14 -> 7 -> 1."""
    stem = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),  # (B, 64, H/2, W/2)
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),  # (B, 64, H/4, W/4)
    )
    return _resnet18(stem, num_classes)


@register_model(input_size=(1, 28, 28))
def resnet18_small(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """ResNet-18 for 28x28 images: a 3x3 stride-1 stem and no max-pool, so the stages see
    28 -> 14 -> 7 -> 4 instead of the 7x7 maps the book's stem would leave."""
    stem = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=3, padding=1),  # (B, 64, H, W)
        nn.BatchNorm2d(64),
        nn.ReLU(),
    )
    return _resnet18(stem, num_classes)
