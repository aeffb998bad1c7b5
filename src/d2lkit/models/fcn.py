"""Fully convolutional network for semantic segmentation, as the book builds it.

A ResNet-18 body (torchvision's layout, so a torchvision `resnet18` state_dict loads into `body`)
shrinks the image 32 times; a 1x1 convolution turns its 512 channels into class scores, and a
transposed convolution (kernel 64, stride 32, padding 16) initialised to bilinear upsampling
brings them back to the input's height and width.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from d2lkit.models.registry import register_model

UPSAMPLE_FACTOR = 32  # the body's total stride


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> torch.Tensor:
    """ConvTranspose2d weight (in, out, k, k) that upsamples each channel bilinearly by
    (k + 1) // 2 when used with stride (k + 1) // 2 and padding k // 4 (k even).

    Channel i only feeds output channel i: the filter sits on the diagonal.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = torch.arange(kernel_size, dtype=torch.float64)
    profile = 1 - (taps - center).abs() / factor  # a triangle peaking at the centre, (k,)
    filt = profile[:, None] * profile[None, :]  # (k, k)
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size, dtype=torch.float64)
    channels = torch.arange(min(in_channels, out_channels))
    weight[channels, channels] = filt
    return weight.float()


class FCN(nn.Module):
    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        # Imported here: torchvision.models takes over a second to import, and only FCN needs it.
        from torchvision.models import resnet18 as torchvision_resnet18

        resnet = torchvision_resnet18(weights=None)
        if in_channels != 3:
            resnet.conv1 = nn.Conv2d(
                in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False
            )
        # Everything but the global pool and the classifier: (B, 512, H/32, W/32).
        names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
        self.body = nn.Sequential(OrderedDict((name, getattr(resnet, name)) for name in names))
        self.final_conv = nn.Conv2d(512, num_classes, kernel_size=1)  # (B, classes, H/32, W/32)
        self.transpose_conv = nn.ConvTranspose2d(
            num_classes, num_classes, kernel_size=64, stride=UPSAMPLE_FACTOR, padding=16
        )  # (B, classes, H, W): (H/32 - 1) * 32 - 2 * 16 + 64 = H
        with torch.no_grad():
            self.transpose_conv.weight.copy_(bilinear_kernel(num_classes, num_classes, 64))
            self.transpose_conv.bias.zero_()  # starts as pure bilinear upsampling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % UPSAMPLE_FACTOR or width % UPSAMPLE_FACTOR:
            raise ValueError(
                f"FCN needs height and width divisible by {UPSAMPLE_FACTOR}, got {height}x{width}"
            )
        return self.transpose_conv(self.final_conv(self.body(x)))


# The book fine-tunes FCN with plain SGD at 1e-3 (and weight decay 1e-3, set by its recipe).
@register_model(input_size=(1, 64, 64), task="segmentation", optimizer="sgd", lr=1e-3)
def fcn_resnet18(num_classes: int = 11, in_channels: int = 1) -> nn.Module:
    """FCN on a ResNet-18 body; output (B, num_classes, H, W) for H, W multiples of 32.

    The defaults fit fashion-scenes (gray 64x64, background + 10 item classes); VOC2012 uses
    `num_classes=21, in_channels=3`.
    """
    return FCN(num_classes, in_channels)
