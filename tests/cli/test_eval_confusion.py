"""`d2lkit eval`: each class's accuracy and the confusion matrix, from the pass that gives the
test accuracy."""

from __future__ import annotations

import re

import torch
from cli_helpers import assert_one_line_error, run_cli

from d2lkit.report.confusion import class_accuracies, per_class_line
from d2lkit.train.config import TrainConfig
from d2lkit.train.metrics import ClassConfusionMeter
from d2lkit.train.run import run_training
from d2lkit.train.trainer import Trainer


def test_the_meter_counts_each_true_and_predicted_pair_over_batches():
    generator = torch.Generator().manual_seed(0)
    meter = ClassConfusionMeter(4, torch.device("cpu"))
    expected = torch.zeros(4, 4, dtype=torch.long)
    for size in (7, 5):  # two batches, the second short
        outputs = torch.randn(size, 4, generator=generator)
        targets = torch.randint(4, (size,), generator=generator)
        meter.update(torch.tensor(1.0), outputs, targets)
        for t, p in zip(targets.tolist(), outputs.argmax(dim=1).tolist(), strict=True):
            expected[t, p] += 1
    assert torch.equal(meter.confusion, expected)
    assert meter.compute()["acc"] == expected.trace().item() / 12


def test_per_class_accuracies_worst_first_and_absent_classes_left_out():
    confusion = torch.tensor([[8, 2, 0], [0, 0, 0], [1, 0, 3]])  # rows: true class
    assert class_accuracies(confusion) == [0.8, None, 0.75]
    assert per_class_line(confusion, ["cat", "dog", "fox"]) == (
        "per class, worst first: fox 0.750, cat 0.800"
    )
    many = torch.diag(torch.arange(1, 26)) + 1  # class k: k + 2 right of k + 26
    line = per_class_line(many, [f"c{k}" for k in range(25)])
    assert line.startswith("the 20 worst of 25 classes: c0 0.077, c1 0.111,")
    assert "c20" not in line and "c19" in line


def test_eval_prints_each_class_and_draws_the_matrix(tmp_path, capsys, tiny_fashion, saved_figures):
    run = tmp_path / "run"
    run_training(TrainConfig(model="softmax", epochs=1, out=str(run), progress=False))
    figure = tmp_path / "confusion.png"
    code, out, err = run_cli(["eval", str(run), "--confusion", str(figure)], capsys)
    assert code == 0, err
    accuracy = float(re.search(r"test_acc ([\d.]+)", out).group(1))
    line = next(line for line in out.splitlines() if line.startswith("per class, worst first: "))
    shown = dict(
        (name, float(acc)) for name, acc in re.findall(r"([\w -]+?) ([\d.]+)(?:, |$)", line[24:])
    )
    assert set(shown) <= set(tiny_fashion.classes) and len(shown) >= 2
    assert figure.is_file() and f"wrote {figure}" in out
    drawn = saved_figures[-1]  # after the training's curves
    shares = torch.from_numpy(drawn.axes[0].images[0].get_array().data)
    assert shares.shape == (10, 10)
    present = shares.sum(dim=1) > 0  # the tiny test set lacks no class, but be exact
    assert torch.allclose(shares[present].sum(dim=1), torch.ones(int(present.sum())).double())
    test_counts = torch.bincount(tiny_fashion.test.labels, minlength=10).double()
    right = (shares.diagonal() * test_counts).sum() / test_counts.sum()
    assert abs(right.item() - accuracy) < 1e-4  # the matrix is the accuracy's own pass
    for k, name in enumerate(tiny_fashion.classes):
        if name in shown:
            assert abs(shown[name] - shares[k, k].item()) < 5e-4


def test_confusion_of_a_regression_run_is_refused(tmp_path, capsys):
    run = tmp_path / "linreg"
    config = TrainConfig("linreg", "synthetic-linear", epochs=1, out=str(run), progress=False)
    run_training(config)
    code, _, err = run_cli(["eval", str(run), "--confusion", str(tmp_path / "c.png")], capsys)
    assert_one_line_error(code, err, "--confusion is a classifier's;", "is a regression run")


def test_a_figure_that_cannot_be_written_is_refused_before_the_test_pass(
    tmp_path, capsys, tiny_fashion, monkeypatch
):
    run = tmp_path / "run"
    run_training(TrainConfig(model="softmax", epochs=1, out=str(run), progress=False))

    def no_pass(*args, **kwargs):
        raise AssertionError("the test set was evaluated first")

    monkeypatch.setattr(Trainer, "evaluate", no_pass)
    code, _, err = run_cli(["eval", str(run), "--confusion", str(tmp_path / "m.xyz")], capsys)
    assert_one_line_error(code, err, "m.xyz: cannot draw a .xyz file; name it .png")
    code, _, err = run_cli(["eval", str(run), "--confusion", ""], capsys)  # an unset variable
    assert_one_line_error(code, err, "an empty file name; pass a file name such as figure.png")


def test_a_matrix_of_many_classes_says_which_number_is_which(tmp_path, capsys, saved_figures):
    """Beyond 30 classes the axes carry numbers, not names, so eval prints what they stand for."""
    from PIL import Image

    names = [f"kind{k:02d}" for k in range(31)]
    for split in ("train", "test"):
        for k, name in enumerate(names):
            (tmp_path / "many" / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8), (k * 8, 0, 0)).save(tmp_path / "many" / split / name / "0.png")
    run = tmp_path / "run"
    config = TrainConfig(
        "lenet", f"imagefolder:{tmp_path / 'many'}", resize=28, epochs=1, batch_size=8,
        out=str(run), progress=False,
    )  # fmt: skip
    run_training(config)
    code, out, err = run_cli(["eval", str(run), "--confusion", str(tmp_path / "m.png")], capsys)
    assert code == 0, err
    legend = out.strip().splitlines()[-1]
    assert legend == "its classes by number: " + ", ".join(f"{k} {n}" for k, n in enumerate(names))
    assert saved_figures[-1].axes[0].get_xlabel().startswith("predicted class (number")
