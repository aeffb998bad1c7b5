"""SpeedNet: the network of `d2lkit speedrun`, the fastest route to 92 % on Fashion-MNIST on a CPU.

Five 3x3 convolutions in the spirit of the CIFAR-10 airbench speedruns, shaped by where a CPU
spends its time (measured with the profiler, bf16 + channels_last, one core):
- every max-pool sits right after the convolution that feeds it and *before* BatchNorm and ReLU,
  so normalisation and activation run on a quarter of the pixels;
- the full 28x28 resolution only sees one thin convolution (1 -> 16 channels), the widths double
  as the resolution halves (16 @ 14x14, 32 @ 7x7, 64 @ 3x3): 5.5 M multiply-adds per image;
- no biases before BatchNorm (they cancel), a bias-free linear head scaled down at initialisation
  so the first steps of a high learning rate do not saturate the softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from d2lkit.models.registry import register_model


class ConvBlock(nn.Sequential):
    """3x3 conv -> (2x2 max-pool) -> BatchNorm -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, pool: bool = False) -> None:
        layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class SpeedNet(nn.Sequential):
    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        widths: tuple[int, int, int] = (16, 32, 64),
        head_scale: float = 0.2,
    ) -> None:
        w0, w1, w2 = widths
        super().__init__(
            ConvBlock(in_channels, w0, pool=True),  # (B, w0, H/2, W/2)
            ConvBlock(w0, w1),  # (B, w1, H/2, W/2)
            ConvBlock(w1, w1, pool=True),  # (B, w1, H/4, W/4)
            ConvBlock(w1, w2),  # (B, w2, H/4, W/4)
            ConvBlock(w2, w2, pool=True),  # (B, w2, H/8, W/8)
            nn.AdaptiveMaxPool2d(1),  # (B, w2, 1, 1)
            nn.Flatten(),  # (B, w2)
            nn.Linear(w2, num_classes, bias=False),
        )
        with torch.no_grad():
            self[-1].weight.mul_(head_scale)


@register_model(input_size=(1, 28, 28), optimizer="nesterov", lr=0.2)
def speednet(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """SpeedNet (16-32-64 channels) on (B, C, 28, 28): 5.5 M multiply-adds per image."""
    return SpeedNet(num_classes, in_channels)


@register_model(input_size=(1, 28, 28), optimizer="nesterov", lr=0.2)
def speednet_wide(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """SpeedNet at 1.5x width (24-48-96 channels): 12.4 M multiply-adds per image, for the
    speedrun's 93 % stretch target."""
    return SpeedNet(num_classes, in_channels, widths=(24, 48, 96))
