"""What the help of the training and optimisation commands says their flags do."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from d2lkit.data import fashion_mnist


def help_text(command: list[str], capsys) -> str:
    """`d2lkit COMMAND --help` with argparse's line wrapping undone."""
    code, out, _ = run_cli([*command, "--help"], capsys)
    assert code == 0
    return " ".join(out.split())


@pytest.mark.parametrize(
    "explanation",
    [
        # What each schedule does (build_scheduler), not only its name.
        "step divides the lr by 10 at 50 % and 75 % of the epochs",
        "onecycle warms up over the first 25 % of the steps from --lr / 25 to --lr",
        "cosine falls per step from --lr to 0",
        "(1 - S) x the one-hot target + S spread evenly over the classes",
        # Each initialisation scheme as d2lkit.models.init defines it.
        "normal (weights N(0, 0.01^2))",
        "xavier (Glorot uniform)",
        "kaiming (He normal for ReLU",
        "constant (weights 1",
        "custom (the book's my_init: U(-10, 10), then |w| < 5 set to 0)",
        # AdamW's weight decay is not an L2 penalty.
        "with --optimizer adamw decoupled instead",
    ],
)
def test_train_help_says_what_each_setting_does(explanation, capsys):
    assert explanation in help_text(["train"], capsys)


def test_quick_trace_help_names_its_smaller_batch(capsys):
    assert "1 epoch with batch 64, instead of 10000 for 2 epochs with batch 256" in help_text(
        ["optim", "trace"], capsys
    )


def test_download_help_names_the_folder_the_command_uses(capsys, isolated_home):
    """The help said ~/.cache/d2lkit, the command and the README ~/.cache/d2lkit/fashion-mnist."""
    assert fashion_mnist.cache_dir() == Path.home() / ".cache" / "d2lkit" / "fashion-mnist"
    text = help_text(["data", "download"], capsys)
    assert "--data-dir DATA_DIR download here instead of ~/.cache/d2lkit/fashion-mnist" in text
