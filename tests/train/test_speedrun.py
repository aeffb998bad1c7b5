"""The speedrun's pieces: flips, flip test-time augmentation, timing, summary, the command."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from d2lkit.cli import main
from d2lkit.errors import D2lkitError, TrainingFailed
from d2lkit.train import speedrun
from d2lkit.train.trainer import Trainer


def test_random_flip_mirrors_about_half_the_images_reproducibly():
    x = torch.randn(400, 1, 5, 5)
    first = speedrun.random_flip(x, torch.Generator().manual_seed(3))
    again = speedrun.random_flip(x, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    mirrored = (first == x.flip(3)).flatten(1).all(1)
    unchanged = (first == x).flatten(1).all(1)
    assert bool((mirrored | unchanged).all())
    assert 150 < int(mirrored.sum()) < 250


@pytest.mark.gpu
def test_random_flip_on_cuda_matches_the_cpu_for_a_seed():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = torch.randn(64, 1, 5, 5)
    on_cpu = speedrun.random_flip(x, torch.Generator().manual_seed(1))
    on_gpu = speedrun.random_flip(x.cuda(), torch.Generator().manual_seed(1))
    assert torch.equal(on_gpu.cpu(), on_cpu)


class LeftRightModel(nn.Module):
    """Logits read from the image's left column: class 0 if it is bright, class 1 otherwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = x[:, 0, :, 0].mean(dim=1)  # (B,)
        return torch.stack([left, 0.5 * torch.ones_like(left)], dim=1)


def test_flip_tta_sums_the_logits_of_each_image_and_its_mirror():
    # Each image is bright (2.0) on its right column only, and every label is 0: alone the model
    # says class 1 (0 < 0.5); the mirror image adds 2.0 to class 0 (2.0 > 1.0).
    images = torch.zeros(6, 1, 4, 4)
    images[:, :, :, -1] = 2.0
    loader = [(images, torch.zeros(6, dtype=torch.long))]
    trainer = Trainer(LeftRightModel(), None, None, [], loader)
    assert speedrun.accuracy(trainer, loader, flip_tta=False) == 0.0
    assert speedrun.accuracy(trainer, loader, flip_tta=True) == 1.0


def test_weight_decay_spares_batchnorm():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2))
    groups = speedrun.nesterov_sgd(model, speedrun.SpeedrunConfig()).param_groups
    assert [len(g["params"]) for g in groups] == [1, 2]
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.0]


def test_phases_are_timed_from_the_spawn():
    times = {"imports_done": 12.0, "data_done": 13.0, "train_done": 50.0, "eval_done": 51.5}
    phases = speedrun.phase_seconds({"times": times}, spawned=10.0)
    assert phases == {
        "startup_s": 2.0, "data_s": 1.0, "train_s": 37.0, "eval_s": 1.5, "wall_s": 41.5
    }  # fmt: skip


def test_summary_is_mean_and_sample_std_against_the_target():
    runs = [{"test_acc": a, "wall_s": s} for a, s in ((0.921, 50.0), (0.925, 55.0), (0.923, 60.0))]
    summary = speedrun.summarize(runs, speedrun.SpeedrunConfig())
    assert summary["test_acc_mean"] == pytest.approx(0.923)
    assert summary["test_acc_std"] == pytest.approx(0.002)
    assert summary["wall_s_mean"] == pytest.approx(55.0) and summary["target_met"]
    slow = [{"test_acc": 0.95, "wall_s": 61.0}]
    assert not speedrun.summarize(slow, speedrun.SpeedrunConfig())["target_met"]
    stretch = speedrun.summarize(runs, speedrun.TARGETS["93"])
    assert stretch["target"] == {"test_acc": 0.93, "wall_s": 120.0}
    assert not stretch["target_met"]  # 92.3 % misses 93 %
    assert "target >= 93.0 % in <= 120 s: NOT met" in speedrun.format_summary(stretch)
    one = speedrun.summarize(runs[:1], speedrun.SpeedrunConfig())
    assert speedrun.format_summary(one).startswith("mean over 1 seed: ")


@pytest.mark.parametrize("flag", ["--seeds", "--epochs", "--threads"])
def test_bad_counts_are_one_line_and_exit_2(flag, capsys):
    assert main(["speedrun", flag, "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_more_threads_than_cores_are_refused(capsys):
    """--threads 100000 crashed the child process; 1000 hung."""
    import os

    assert main(["speedrun", "--threads", str((os.cpu_count() or 1) + 1)]) == 2
    assert "this machine's cores" in capsys.readouterr().err


def test_a_failed_seed_is_training_failed_with_the_childs_last_line(tmp_path):
    config = speedrun.SpeedrunConfig(device="no-such-device")
    with pytest.raises(TrainingFailed, match="speedrun seed 0 exited with 1: .*no-such-device"):
        speedrun.run_seed(config, 0, tmp_path)


def test_a_seed_refused_for_bad_input_is_bad_input_not_a_failure(tmp_path):
    config = speedrun.SpeedrunConfig(data_dir=str(tmp_path / "no-such-folder"))
    with pytest.raises(D2lkitError, match=r"^\S*no-such-folder: .*no such folder") as caught:
        speedrun.run_seed(config, 0, tmp_path)
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_model_speedrun_cannot_train_is_refused_before_any_seed(capsys):
    assert main(["speedrun", "--model", "linreg", "--seeds", "1"]) == 2
    assert "speedrun trains Fashion-MNIST classifiers" in capsys.readouterr().err


def test_a_missed_target_exits_1(monkeypatch, tmp_path, capsys):
    runs = [{"seed": 0, "test_acc": 0.5, "wall_s": 10.0}]
    summary = speedrun.summarize(runs, speedrun.SpeedrunConfig())
    monkeypatch.setattr(speedrun, "run_speedrun", lambda *args, **kwargs: summary)
    assert main(["speedrun", "--seeds", "1", "--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert (
        "NOT met" in out
        and err.strip() == "d2lkit: failed: the target was not met (see the line above)"
    )


def test_each_seed_is_announced_on_stderr_before_it_starts(monkeypatch, tmp_path, capsys):
    """`speedrun --seeds 1` printed its headline, then nothing for the ~50 s a seed trains."""
    seen_at_start = []

    def fake_child(config, seed, out):
        seen_at_start.append(capsys.readouterr().err)  # what the terminal showed at the spawn
        return {
            "seed": seed, "test_acc": 0.93, "test_acc_without_tta": 0.92, "wall_s": 40.0,
            "startup_s": 2.0, "data_s": 1.0, "train_s": 36.0, "eval_s": 1.0, "precision": "bf16",
            "device": "cpu", "threads": 2, "cpu_s": 70.0, "load_average": [0.1, 1.0],
        }  # fmt: skip

    monkeypatch.setattr(speedrun, "run_seed", fake_child)
    assert main(["speedrun", "--seeds", "2", "--out", str(tmp_path)]) == 0
    assert seen_at_start == [
        "d2lkit: seed 0 (1/2): training in a fresh process ...\n",
        "d2lkit: seed 1 (2/2): training in a fresh process ...\n",
    ]
    assert "training in a fresh process" not in capsys.readouterr().out  # results stay clean


@pytest.mark.slow
def test_speedrun_runs_each_seed_in_its_own_timed_process(tmp_path):
    from d2lkit.data import fashion_mnist

    if fashion_mnist.locate() is None:
        pytest.skip("Fashion-MNIST is not installed")
    config = speedrun.SpeedrunConfig(epochs=1, train_subset=600, threads=1)
    summary = speedrun.run_speedrun(config, seeds=2, out=tmp_path, log=lambda line: None)
    saved = json.loads((tmp_path / "speedrun.json").read_text())
    assert saved["seeds"] == 2 and [r["seed"] for r in saved["runs"]] == [0, 1]
    for run in summary["runs"]:
        assert 0 < run["startup_s"] < run["wall_s"]
        assert run["wall_s"] == pytest.approx(
            run["startup_s"] + run["data_s"] + run["train_s"] + run["eval_s"]
        )
        assert 0.0 <= run["test_acc_without_tta"] <= 1.0 and 0.0 <= run["test_acc"] <= 1.0
        assert run["cpu_s"] > 0 and len(run["load_average"]) == 2
        assert run["train_images"] == 512  # whole batches of 256: the last 88 images are dropped
        assert speedrun.format_run(run).startswith(f"seed {run['seed']}: test acc")


def test_the_fused_optimiser_lets_a_cuda_trainer_skip_steps_on_the_device():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2))
    fused = speedrun.nesterov_sgd(model, speedrun.SpeedrunConfig(), fused=True)
    assert Trainer(model, fused, None, [], [], device="cuda").skips_on_device()
    plain = speedrun.nesterov_sgd(model, speedrun.SpeedrunConfig())
    assert not Trainer(model, plain, None, [], [], device="cuda").skips_on_device()
