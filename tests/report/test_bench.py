"""The bench's plumbing on tiny settings: what it computes and writes, not how fast anything is."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from d2lkit.cli import build_parser, main
from d2lkit.cli.train import config_from_args
from d2lkit.errors import D2lkitError
from d2lkit.report import bench, book_compare, throughput
from d2lkit.report.bench import BenchPlan, ModelSetting, run_bench
from d2lkit.report.bench_table import format_table

# LeNet (1, 28, 28), counted by hand. Forward MACs: conv1 24*24*6*25, conv2 8*8*16*6*25,
# fc 256*120 + 120*84 + 84*10. Backward: weight gradients of every layer (= forward MACs) and
# input gradients of every layer but the first (the images need none).
LENET_FORWARD_MACS = 24 * 24 * 6 * 25 + 8 * 8 * 16 * 6 * 25 + 256 * 120 + 120 * 84 + 84 * 10
LENET_TRAIN_FLOPS = 2 * (3 * LENET_FORWARD_MACS - 24 * 24 * 6 * 25)


def test_lenet_train_flops_match_the_hand_count():
    assert throughput.train_flops_per_image("lenet", (1, 28, 28)) == LENET_TRAIN_FLOPS
    assert pytest.approx(1.52e6, rel=0.01) == LENET_TRAIN_FLOPS  # DESIGN.md §6


def fake_clock(monkeypatch, *ticks: float) -> None:
    """throughput's clock reads `ticks` in turn (the trainer's own clock is left alone)."""
    readings = iter(ticks)
    monkeypatch.setattr(throughput, "time", SimpleNamespace(perf_counter=lambda: next(readings)))


def test_matmul_peak_is_flops_over_time(monkeypatch):
    fake_clock(monkeypatch, 10.0, 10.5, 20.0, 20.25)  # two timed runs: 0.5 s and 0.25 s
    gflops = throughput.matmul_peak(torch.float32, torch.device("cpu"), size=64, repeats=2)
    assert gflops == pytest.approx(2 * 64**3 / 0.25 / 1e9)  # the best of the two


def test_measure_variant_times_only_the_steps_after_warmup(monkeypatch):
    # The clock is read at the start, after warm-up step 2 and after the last step (5).
    fake_clock(monkeypatch, 10.0, 10.5, 12.0)
    result = throughput.measure_variant(
        "lenet", throughput.VARIANTS["fp32_channels_last"], (1, 28, 28), 8, 2, 3, "cpu"
    )
    assert result["timed_steps"] == 3 and result["batch_size"] == 8
    assert result["warmup_s"] == 0.5
    assert result["images_per_s"] == 3 * 8 / 1.5


def test_step_clock_counts_images_after_warmup(monkeypatch):
    fake_clock(monkeypatch, 0.0, 1.0, 4.0)  # start, end of step 2, end of step 5

    class FakeTrainer:
        device = torch.device("cpu")
        train_loader = range(5)

    clock, trainer = throughput.StepClock(warmup=2), FakeTrainer()
    for step in range(1, 6):
        trainer.step, trainer.images_in_epoch = step, 10 * step
        clock.on_batch_end(trainer)
    assert clock.timed_images == 30  # steps 3, 4 and 5
    assert (clock.warmup_s, clock.timed_s) == (1.0, 3.0)


def test_a_variant_the_machine_cannot_run_is_recorded_as_skipped(monkeypatch):
    monkeypatch.setattr("d2lkit.train.environment.cpu_has_fast_bf16", lambda: False)
    result = throughput.try_variant(
        "bf16", "lenet", throughput.VARIANTS["bf16"], (1, 28, 28), 4, 1, 1, torch.device("cpu")
    )
    assert "AVX-512 BF16" in result["skipped"]


def test_book_extrapolation_counts_worker_startup_once():
    # 10 steps of 256: 2 s to the first batch, then 0.1 s per step.
    epoch = {"images": 2560, "steps": 10, "first_batch_s": 2.0, "train_s": 2.9}
    per_image = 0.9 / (2560 - 256)
    assert book_compare.extrapolate_book(epoch) == pytest.approx(2.0 + per_image * (60000 - 256))
    whole = {"images": 60000, "steps": 235, "first_batch_s": 2.0, "train_s": 30.0}
    assert book_compare.extrapolate_book(whole) == 30.0


def test_book_cpu_extrapolation_counts_the_prefetched_batches():
    # 10 steps done, 8 more batches prepared by the workers: 18 * 256 images cost 9 CPU-s.
    epoch = {"images": 2560, "train_cpu_s": 9.0}
    assert book_compare.extrapolate_book_cpu(epoch) == pytest.approx(9.0 * 60000 / (18 * 256))
    assert book_compare.extrapolate_book_cpu({"images": 60000, "train_cpu_s": 40.0}) == 40.0


def test_speedups_are_book_over_d2lkit():
    book = {"train_s_per_epoch": 12.0, "epoch_s": 15.0, "train_cpu_s_per_epoch": 30.0}
    ours = {"train_s_per_epoch": 2.0, "epoch_s": 3.0, "train_cpu_s_per_epoch": 4.0}
    assert book_compare.compare(book, ours) == {
        "train_speedup": 6.0,
        "epoch_speedup": 5.0,
        "train_cpu_ratio": 7.5,
    }


def test_d2lkit_side_runs_the_train_command_with_the_book_settings(tmp_path):
    args = book_compare.d2lkit_train_command(tmp_path, steps=4, data_dir=None)
    config = config_from_args(build_parser().parse_args(args))
    assert (config.model, config.optimizer, config.lr) == ("lenet", "adam", 1e-3)
    assert (config.batch_size, config.precision, config.epochs) == (256, "fp32", 1)
    assert config.train_subset == 4 * 256 and config.out == str(tmp_path)


def test_torchvision_reads_the_layout_built_from_located_files(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    from d2lkit.data import fashion_mnist

    if fashion_mnist.locate() is None:
        pytest.skip("Fashion-MNIST is not installed")
    root = book_compare.torchvision_layout(tmp_path)
    test_set = torchvision.datasets.FashionMNIST(root=str(root), train=False, download=False)
    ours = fashion_mnist.load(download=False).test
    assert len(test_set) == 10000
    assert torch.equal(test_set.data, ours.images) and torch.equal(test_set.targets, ours.labels)


TINY = BenchPlan(
    quick=True,
    book_steps=2,
    matmul_size=64,
    models=(
        ModelSetting("lenet", (1, 28, 28), 4, 1, 1, ("fp32", "fp32_channels_last")),
        ModelSetting("no_such_model", (1, 28, 28), 4, 1, 1, ("fp32",)),
    ),
)


@pytest.fixture
def fake_book(monkeypatch):
    """The book-vs-d2lkit section without its two child processes."""
    book = {"steps": 2, "extrapolated": True, "train_s_per_epoch": 10.0, "epoch_s": 12.0}
    ours = {"steps": 2, "extrapolated": True, "train_s_per_epoch": 2.0, "epoch_s": 2.4}
    book["train_cpu_s_per_epoch"], ours["train_cpu_s_per_epoch"] = 16.0, 2.0
    ours["peak_rss_mb"] = 700.0
    monkeypatch.setattr(book_compare, "run_book", lambda steps, data_dir: book)
    monkeypatch.setattr(book_compare, "run_d2lkit", lambda steps, data_dir: ours)


def test_bench_writes_every_section_and_skips_absent_models(tmp_path, fake_book):
    results = run_bench(TINY, tmp_path, device="cpu")
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved.keys() >= {"environment", "matmul_peak_gflops", "book_vs_d2lkit", "models"}
    assert saved["book_vs_d2lkit"]["train_speedup"] == 5.0
    assert saved["book_vs_d2lkit"]["epoch_speedup"] == 5.0
    assert saved["book_vs_d2lkit"]["train_cpu_ratio"] == 8.0
    assert saved["models"]["no_such_model"] == {"skipped": "model not registered"}
    lenet = saved["models"]["lenet"]
    assert lenet["train_gflop_per_image"] == pytest.approx(LENET_TRAIN_FLOPS / 1e9)
    fp32, channels_last = lenet["variants"]["fp32"], lenet["variants"]["fp32_channels_last"]
    assert fp32["speedup_vs_fp32"] == 1.0
    assert channels_last["speedup_vs_fp32"] == pytest.approx(
        channels_last["images_per_s"] / fp32["images_per_s"]
    )
    # achieved GFLOP/s = images/s x FLOPs per image; utilisation against the fp32 peak.
    achieved = fp32["images_per_s"] * LENET_TRAIN_FLOPS / 1e9
    assert fp32["achieved_gflops"] == pytest.approx(achieved)
    assert fp32["utilisation"] == pytest.approx(achieved / saved["matmul_peak_gflops"]["fp32"])
    table = format_table(results)
    assert "5.0x" in table and "8.0x" in table and "train CPU-s" in table
    assert "no_such_model" in table and "fp32_channels_last" in table


def test_bench_command_prints_the_table(tmp_path, fake_book, monkeypatch, capsys):
    monkeypatch.setattr(bench, "QUICK", TINY)
    assert main(["bench", "--quick", "--out", str(tmp_path), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "speed-up (book / d2lkit)" in printed and "MiB" in printed
    assert json.loads((tmp_path / "bench.json").read_text())["quick"] is True


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("d2lkit train lenet gave no result within 1800 s"),
        D2lkitError("d2lkit train lenet gave no result within 1800 s"),  # the child's own line
    ],
)
def test_a_failed_d2lkit_child_skips_its_section_and_the_bench_goes_on(
    failure, tmp_path, monkeypatch
):
    def ran_out_of_time(steps, data_dir):
        raise failure

    monkeypatch.setattr(book_compare, "run_book", lambda steps, data_dir: {"steps": 2})
    monkeypatch.setattr(book_compare, "run_d2lkit", ran_out_of_time)
    run_bench(TINY, tmp_path, device="cpu")
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["book_vs_d2lkit"] == {"skipped": "d2lkit train lenet gave no result within 1800 s"}
    assert "lenet" in saved["models"]


def test_ctrl_c_during_the_bench_says_bench_json_holds_what_was_measured(
    tmp_path, monkeypatch, capsys
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "run_bench", interrupted)
    assert main(["bench", "--quick", "--out", str(tmp_path), "--device", "cpu"]) == 130
    err = capsys.readouterr().err
    assert err.startswith(f"d2lkit: interrupted; {tmp_path / 'bench.json'} holds the sections")


@pytest.mark.slow
def test_both_loops_run_for_real_and_report_their_epochs():
    from d2lkit.data import fashion_mnist

    if fashion_mnist.locate() is None:
        pytest.skip("Fashion-MNIST is not installed")
    book = book_compare.run_book(steps=2)
    ours = book_compare.run_d2lkit(steps=2)
    for side in (book, ours):
        assert side["steps"] == 2 and side["extrapolated"]
        assert side["epoch_s"] > side["train_s_per_epoch"] > side["measured_train_s"] > 0
        assert side["train_cpu_s_per_epoch"] > 0
    assert 100 < ours["peak_rss_mb"] < 4096
    assert 0 <= ours["test_acc"] <= 1


def test_plans_by_device():
    assert bench.choose_plan(True, torch.device("cpu")) is bench.QUICK
    assert bench.choose_plan(True, torch.device("cuda")) is bench.QUICK_CUDA
    assert bench.choose_plan(False, torch.device("cpu")) is bench.FULL
    for plan in (bench.QUICK, bench.QUICK_CUDA, bench.FULL):
        assert [m.name for m in plan.models] == ["lenet", "resnet18", "alexnet"]
        assert all(set(m.variants) <= set(throughput.VARIANTS) for m in plan.models)


def test_a_missing_data_dir_is_refused_before_any_section_writes(tmp_path, capsys):
    from d2lkit.cli import main

    out = tmp_path / "bench"
    code = main(["bench", "--quick", "--out", str(out), "--data-dir", str(tmp_path / "nowhere")])
    assert code == 2 and "nowhere: no such folder (given as --data-dir)" in capsys.readouterr().err
    assert not out.exists()


def test_an_out_that_cannot_be_a_folder_is_refused_before_any_section_runs(
    tmp_path, capsys, monkeypatch
):
    """--out under a file measured the matmul peak for 8 s before failing to write."""
    from d2lkit.cli import main
    from d2lkit.report import bench as bench_module

    monkeypatch.setattr(bench_module, "run_bench", lambda *a, **k: pytest.fail("ran a section"))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["bench", "--quick", "--out", str(a_file / "bench")]) == 2
    assert "a file stands where a folder is needed" in capsys.readouterr().err
