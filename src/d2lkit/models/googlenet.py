"""GoogLeNet: Inception blocks, four parallel paths concatenated along channels (96x96 input)."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.models.registry import register_model


class Inception(nn.Module):
    """Paths: 1x1 conv; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max-pool -> 1x1. All keep H and W, so the
    output has c1 + c2[1] + c3[1] + c4 channels."""

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c2: tuple[int, int],
        c3: tuple[int, int],
        c4: int,
    ) -> None:
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)  # 1x1 first cuts the cost
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)  # (B, c1 + c2[1] + c3[1] + c4, H, W)


def _max_pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # halves H and W (rounding up)


@register_model(input_size=(1, 96, 96))
def googlenet(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The book's GoogLeNet; on 96x96: 48 -> 24 (b1) -> 12 (b2) -> 6 (b3) -> 3 (b4) -> 1 (b5)."""
    b1 = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),  # (B, 64, 48, 48)
        nn.ReLU(),
        _max_pool(),  # (B, 64, 24, 24)
    )
    # The book's b2 has a ReLU after each convolution; its PyTorch port dropped them, a slip that
    # leaves two convolutions in a row acting as one linear map. We keep the book's.
    b2 = nn.Sequential(
        nn.Conv2d(64, 64, kernel_size=1),
        nn.ReLU(),
        nn.Conv2d(64, 192, kernel_size=3, padding=1),
        nn.ReLU(),
        _max_pool(),  # (B, 192, 12, 12)
    )
    b3 = nn.Sequential(
        Inception(192, 64, (96, 128), (16, 32), 32),  # 256 channels
        Inception(256, 128, (128, 192), (32, 96), 64),  # 480 channels
        _max_pool(),  # (B, 480, 6, 6)
    )
    b4 = nn.Sequential(
        Inception(480, 192, (96, 208), (16, 48), 64),  # 512
        Inception(512, 160, (112, 224), (24, 64), 64),  # 512
        Inception(512, 128, (128, 256), (24, 64), 64),  # 512
        Inception(512, 112, (144, 288), (32, 64), 64),  # 528
        Inception(528, 256, (160, 320), (32, 128), 128),  # 832
        _max_pool(),  # (B, 832, 3, 3)
    )
    b5 = nn.Sequential(
        Inception(832, 256, (160, 320), (32, 128), 128),  # 832
        Inception(832, 384, (192, 384), (48, 128), 128),  # 1024
        nn.AdaptiveAvgPool2d((1, 1)),  # (B, 1024, 1, 1)
        nn.Flatten(),  # (B, 1024)
    )
    return nn.Sequential(
        OrderedDict(b1=b1, b2=b2, b3=b3, b4=b4, b5=b5, fc=nn.Linear(1024, num_classes))
    )
