"""FCN: the transposed convolution starts as bilinear upsampling, output H, W = input H, W."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.models import create_model
from d2lkit.models.fcn import bilinear_kernel


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(4, 2, 1), (64, 32, 16)])
def test_bilinear_kernel_upsamples_like_interpolate(kernel, stride, padding):
    """The book's check (k4/s2/p1 on an image) and FCN's own k64/s32/p16, in float64."""
    torch.manual_seed(0)
    image = torch.rand(1, 3, 7, 5, dtype=torch.float64)
    upsample = nn.ConvTranspose2d(3, 3, kernel, stride=stride, padding=padding, bias=False)
    upsample = upsample.double()
    with torch.no_grad():
        upsample.weight.copy_(bilinear_kernel(3, 3, kernel))
    ours = upsample(image)
    reference = F.interpolate(image, scale_factor=stride, mode="bilinear", align_corners=False)
    assert ours.shape == reference.shape == (1, 3, 7 * stride, 5 * stride)
    # Away from the borders (half an input pixel) both are the same interpolation; at the
    # borders the transposed convolution sees zero padding where interpolate clamps.
    inner = (..., slice(stride, -stride), slice(stride, -stride))
    assert torch.allclose(ours[inner], reference[inner], atol=1e-6)
    assert not torch.allclose(ours, reference, atol=1e-3)  # the borders do differ


def test_fcn_transpose_conv_is_bilinear_at_init():
    model = create_model("fcn_resnet18", num_classes=5, in_channels=1)
    scores = torch.rand(2, 5, 3, 4)  # what final_conv hands over: (B, classes, H/32, W/32)
    with torch.no_grad():
        ours = model.transpose_conv(scores)
    reference = F.interpolate(scores, scale_factor=32, mode="bilinear", align_corners=False)
    assert ours.shape == (2, 5, 96, 128)
    assert torch.allclose(ours[..., 32:-32, 32:-32], reference[..., 32:-32, 32:-32], atol=1e-5)


@pytest.mark.parametrize(("in_channels", "height", "width"), [(1, 64, 64), (3, 96, 160)])
def test_fcn_output_matches_input_size(in_channels, height, width):
    model = create_model("fcn_resnet18", num_classes=21, in_channels=in_channels).eval()
    with torch.no_grad():
        out = model(torch.rand(1, in_channels, height, width))
    assert out.shape == (1, 21, height, width)


def test_fcn_refuses_sizes_it_cannot_restore():
    model = create_model("fcn_resnet18").eval()
    with pytest.raises(ValueError, match="divisible by 32"):
        model(torch.rand(1, 1, 50, 64))


def test_fcn_body_loads_a_torchvision_resnet18_state_dict():
    """The body keeps torchvision's names, so ImageNet weights on disk load into it as they are."""
    from torchvision.models import resnet18

    with torch.device("meta"):
        state = resnet18(weights=None).state_dict()
        model = create_model("fcn_resnet18", num_classes=21, in_channels=3)
    body_state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    result = model.body.load_state_dict(body_state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
