"""A light fully convolutional network for small images (fashion-scenes, 64x64), CPU-trainable.

The book's FCN puts a 1x1 score layer and one 32x upsampling on a ResNet-18 body; on a 64x64
canvas that leaves a 2x2 score map, too coarse for 28-pixel items. This net keeps the FCN idea
(convolutions only, class scores per location, learned-free bilinear upsampling) and adds the
FCN paper's skip connections ("FCN-8s"): scores are predicted at 1/8, 1/4, 1/2 and full
resolution and summed coarse-to-fine, so the deep layers say *what* and the shallow ones *where*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.models.registry import register_model


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def stage(in_channels: int, out_channels: int) -> nn.Sequential:
    """Halve H and W, then two 3x3 convolutions."""
    return nn.Sequential(
        nn.MaxPool2d(2),
        conv_bn_relu(in_channels, out_channels),
        conv_bn_relu(out_channels, out_channels),
    )


class SkipFCN(nn.Module):
    def __init__(
        self, num_classes: int, in_channels: int, widths: tuple[int, ...] = (16, 32, 64, 128)
    ) -> None:
        super().__init__()
        self.stem = conv_bn_relu(in_channels, widths[0])  # (B, w0, H, W)
        self.stages = nn.ModuleList(
            stage(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )  # (B, w1, H/2, W/2), (B, w2, H/4, W/4), (B, w3, H/8, W/8)
        # One 1x1 score layer per resolution.
        self.scores = nn.ModuleList(nn.Conv2d(w, num_classes, kernel_size=1) for w in widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.stem(x)]
        for block in self.stages:
            features.append(block(features[-1]))
        # Coarse to fine: upsample the running scores 2x and add the next finer prediction.
        scores = self.scores[-1](features[-1])  # (B, K, H/8, W/8)
        for level in range(len(features) - 2, -1, -1):
            finer = self.scores[level](features[level])
            scores = finer + F.interpolate(
                scores, size=finer.shape[-2:], mode="bilinear", align_corners=False
            )
        return scores  # (B, K, H, W)


@register_model(input_size=(1, 64, 64), task="segmentation")
def fcn_small(num_classes: int = 11, in_channels: int = 1) -> nn.Module:
    """Skip-connected FCN, 0.29 M parameters; output (B, num_classes, H, W) for any H, W."""
    return SkipFCN(num_classes, in_channels)
