"""`d2lkit optim trace | weight-decay` through the CLI's main()."""

import re

import pytest
from PIL import Image

from d2lkit.cli import main


def assert_valid_png(path):
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()


def test_trace_without_the_real_task_writes_the_trajectory_png(tmp_path, capsys):
    assert main(["optim", "trace", "--out", str(tmp_path / "out"), "--skip-real"]) == 0
    assert_valid_png(tmp_path / "out" / "trajectories.png")
    assert not (tmp_path / "out" / "loss_curves.png").exists()
    printed = capsys.readouterr().out
    for name in ["GD", "SGD", "Momentum", "AdaGrad", "RMSProp", "AdaDelta", "Adam"]:
        assert re.search(rf"^{name}\s", printed, re.MULTILINE), name


def test_weight_decay_prints_the_table(capsys):
    assert main(["optim", "weight-decay", "--lambd", "0", "3", "--epochs", "30"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    norms = {float(row[0]): float(row[3]) for row in rows}
    assert set(norms) == {0.0, 3.0}
    assert norms[3.0] < norms[0.0] / 10


# One panel per penalty, even one; one for a penalty named twice (it drew two rows, one panel).
@pytest.mark.parametrize("lambdas", [["0", "3"], ["1"], ["0", "3", "0"]])
def test_weight_decay_draws_one_loss_panel_per_penalty(lambdas, tmp_path, capsys):
    out = tmp_path / "plots" / "weight_decay.png"
    argv = ["optim", "weight-decay", "--lambd", *lambdas, "--epochs", "5", "--out", str(out)]
    assert main(argv) == 0
    assert_valid_png(out)
    printed = capsys.readouterr().out.strip()
    assert printed.endswith(f"wrote {out}")
    assert len(printed.splitlines()) == 2 + len(set(lambdas)) + 1  # headline, header, rows, wrote
    with Image.open(out) as image:  # 4.5 inches at 100 dpi per panel
        assert image.width == 450 * len(set(lambdas))


def test_a_diverged_penalty_exits_1_and_says_so(capsys):
    assert main(["optim", "weight-decay", "--lambd", "0", "1e6", "--epochs", "5"]) == 1
    out, err = capsys.readouterr()
    assert "nan" in out  # the table still shows what happened
    assert err.startswith("d2lkit: failed: the loss diverged with lambda 1e+06")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["optim", "weight-decay", "--lambd", "-1"], "--lambd"),
        (["optim", "weight-decay", "--lambd", "nan"], "--lambd values must be finite"),
        (["optim", "weight-decay", "--epochs", "0"], "--epochs"),
        (["optim", "trace", "--out", "{tmp}", "--steps", "0", "--skip-real"], "--steps"),
        (["optim", "trace", "--out", "{file}", "--skip-real"], "is a file"),
        # 2,000,000 steps ran on past any wait
        (["optim", "trace", "--out", "{tmp}", "--steps", "10001", "--skip-real"], "1 to 10000"),
        # refused before the training it would have drawn
        (["optim", "weight-decay", "--out", "{file}"], "cannot draw a .txt file"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, argv, message, monkeypatch):
    from d2lkit.scratch import weight_decay

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(weight_decay, "train_with_weight_decay", no_training)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    argv = [arg.format(tmp=tmp_path, file=a_file) for arg in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_trace_without_the_data_draws_nothing(tmp_path, capsys):
    """The trajectories were drawn before the missing data was found: half the outputs."""
    out = tmp_path / "out"
    argv = ["optim", "trace", "--out", str(out), "--data-dir", str(tmp_path / "none")]
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_quick_trace_writes_both_pngs_from_fashion_mnist(tmp_path, capsys):
    assert main(["optim", "trace", "--out", str(tmp_path), "--quick"]) == 0
    assert_valid_png(tmp_path / "trajectories.png")
    assert_valid_png(tmp_path / "loss_curves.png")
    out = capsys.readouterr().out
    assert (
        "softmax regression, first 2000 Fashion-MNIST training images, 1 epoch(s), batch 64" in out
    )
