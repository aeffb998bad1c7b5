"""SpeedNet: shapes, cost, layout independence."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from d2lkit.models import create_model, list_models

# Multiply-adds per image: 3x3 convs at 28x28 (1 -> 16), 14x14 (16 -> 32, 32 -> 32),
# 7x7 (32 -> 64, 64 -> 64), and the 64 -> 10 head.
SPEEDNET_MACS = 9 * (28 * 28 * 16 + 14 * 14 * (16 * 32 + 32 * 32) + 7 * 7 * (32 * 64 + 64 * 64))
SPEEDNET_MACS += 64 * 10


def test_speednet_is_registered_and_maps_images_to_logits():
    assert "speednet" in list_models("speed*")
    model = create_model("speednet", num_classes=7, in_channels=1)
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 7)


def test_speednet_costs_the_documented_multiply_adds():
    model = create_model("speednet")
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 1, 28, 28))
    assert counter.get_total_flops() == 2 * SPEEDNET_MACS
    assert round(SPEEDNET_MACS / 1e6, 1) == 5.5  # the docstring's figure


def test_channels_last_gives_the_same_outputs():
    torch.manual_seed(0)
    model = create_model("speednet").eval()
    x = torch.randn(4, 1, 28, 28)
    expected = model(x)
    model.to(memory_format=torch.channels_last)
    got = model(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(got, expected, atol=1e-5)


def test_head_starts_small():
    torch.manual_seed(0)
    head = create_model("speednet")[-1]
    default = torch.nn.Linear(64, 10, bias=False)
    assert head.weight.abs().max() < 0.5 * default.weight.abs().max()
