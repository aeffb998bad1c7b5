"""`summarize`: per-layer output shapes, parameter counts and forward FLOPs."""

from __future__ import annotations

import pytest
from torch import nn

from d2lkit.models import create_model
from d2lkit.models.layers import shared_layer_net
from d2lkit.models.registry import get_entry, list_models
from d2lkit.models.summary import summarize

# LeNet's forward FLOPs by hand (a multiply-add is 2 FLOPs; biases and activations not counted):
LENET_FLOPS = (
    2 * 6 * 24 * 24 * (1 * 5 * 5)  # conv1: 6 maps of 24x24, each output a 1x5x5 window
    + 2 * 16 * 8 * 8 * (6 * 5 * 5)  # conv2: 16 maps of 8x8 over a 6x5x5 window
    + 2 * 256 * 120  # linear 256 -> 120
    + 2 * 120 * 84
    + 2 * 84 * 10
)


def test_lenet_summary():
    summary = summarize(create_model("lenet"), (1, 28, 28))
    assert [(row.kind, row.output_shape) for row in summary.rows] == [
        ("Conv2d", (1, 6, 24, 24)),
        ("Sigmoid", (1, 6, 24, 24)),
        ("MaxPool2d", (1, 6, 12, 12)),
        ("Conv2d", (1, 16, 8, 8)),
        ("Sigmoid", (1, 16, 8, 8)),
        ("MaxPool2d", (1, 16, 4, 4)),
        ("Flatten", (1, 256)),
        ("Linear", (1, 120)),
        ("Sigmoid", (1, 120)),
        ("Linear", (1, 84)),
        ("Sigmoid", (1, 84)),
        ("Linear", (1, 10)),
    ]
    assert [row.params for row in summary.rows if row.params] == [156, 2416, 30840, 10164, 850]
    assert summary.total_params == 44_426
    assert LENET_FLOPS == 563_280
    assert summary.flops_per_image == LENET_FLOPS
    assert summary.output_shape == (1, 10)


def test_depth_opens_blocks():
    model = create_model("resnet18")
    top = summarize(model, (1, 96, 96))
    assert [row.name for row in top.rows] == ["b1", "b2", "b3", "b4", "b5", "pool", "flatten", "fc"]
    assert sum(row.params for row in top.rows) == top.total_params
    deeper = summarize(model, (1, 96, 96), depth=2)
    assert [row.name for row in deeper.rows][:6] == ["b1.0", "b1.1", "b1.2", "b1.3", "b2.0", "b2.1"]
    assert deeper.rows[4].kind == "Residual" and deeper.rows[4].output_shape == (1, 64, 24, 24)
    assert sum(row.params for row in deeper.rows) == top.total_params
    assert deeper.flops_per_image == top.flops_per_image


def test_shared_layer_appears_twice_but_counts_once():
    summary = summarize(shared_layer_net(), (4,))  # input (1, 4)
    # Rows follow the calls: the shared layer "2" runs at positions 2 and 4.
    assert [row.name for row in summary.rows] == ["0", "1", "2", "3", "2", "5", "6"]
    assert [row.params for row in summary.rows if row.name == "2"] == [72, 72]
    assert summary.total_params == 40 + 72 + 9


def test_summary_leaves_training_mode_as_it_was():
    model = create_model("lenet_bn").train()
    summarize(model, (1, 28, 28))
    assert model.training


def test_input_that_does_not_fit_raises():
    with pytest.raises(RuntimeError):
        summarize(create_model("alexnet"), (1, 28, 28))


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        summarize(nn.Linear(2, 2), (2,), depth=0)


@pytest.mark.parametrize("name", list_models())
def test_every_parameter_of_the_zoo_shows_in_some_row(name):
    """A ModuleList has no forward to hook: its members must stand in its place, or fcn_small's
    stages vanish from the table while the total still counts them."""
    summary = summarize(create_model(name), get_entry(name).input_size)
    by_name = {row.name: row.params for row in summary.rows}  # a shared layer counts once
    assert sum(by_name.values()) == summary.total_params


def test_a_float64_model_is_summarised_with_a_float64_input():
    ours = summarize(create_model("lenet").double(), (1, 28, 28))
    assert ours.output_shape == (1, 10)
    assert ours.total_params == summarize(create_model("lenet"), (1, 28, 28)).total_params
