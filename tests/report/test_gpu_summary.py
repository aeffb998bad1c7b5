"""benchmarks/gpu_summary.py: one table from gpu_check.sh's outputs, missing parts named."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_summary.py"


@pytest.fixture(scope="module")
def gpu_summary():
    spec = importlib.util.spec_from_file_location("gpu_summary", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_table_reports_every_part(tmp_path, gpu_summary):
    variants = {
        "fp32": {"images_per_s": 1000.0, "utilisation": 0.1},
        "bf16_channels_last": {"images_per_s": 3000.0, "utilisation": 0.05},
        "fp32_compile": {"skipped": "no compiler"},
    }
    write(
        tmp_path / "bench" / "bench.json",
        {
            "environment": {"device": "cuda", "gpu": "Test GPU"},
            "matmul_peak_gflops": {"fp32": 50000.0, "bf16": 700000.0},
            "book_vs_d2lkit": {
                "book": {"epoch_s": 10.0},
                "d2lkit": {"epoch_s": 1.0},
                "epoch_speedup": 10.0,
            },
            "models": {"resnet18": {"variants": variants}, "alexnet": {"skipped": "absent"}},
        },
    )
    write(
        tmp_path / "speedrun" / "speedrun.json",
        {"seeds": 3, "test_acc_mean": 0.9234, "test_acc_std": 0.001, "wall_s_mean": 9.5,
         "wall_s_std": 0.25},
    )  # fmt: skip
    write(
        tmp_path / "resnet18" / "summary.json",
        {"epochs": 5, "precision": "bf16", "test_acc": 0.93, "wall_s": 40.0,
         "train_images_per_s": 9000.0},
    )  # fmt: skip
    (tmp_path / "gpu_tests.log").write_text("....\n4 passed in 3.1s\n")
    table = gpu_summary.table(tmp_path)
    assert table.splitlines()[0] == "GPU check on Test GPU"
    assert "4 passed in 3.1s" in table
    assert "10.0x (target >= 5x)" in table
    assert "best: bf16_channels_last" in table and "3.00x fp32" in table
    assert "alexnet train step" in table and "absent" in table
    assert "92.34 ± 0.10 % in 9.5 ± 0.2 s" in table
    assert "test acc 0.9300 in 40 s" in table


def test_missing_parts_point_to_their_logs(tmp_path, gpu_summary):
    table = gpu_summary.table(tmp_path)
    for part in ("bench", "speedrun", "resnet18"):
        assert f"{part}.log" in table


def test_a_bench_stopped_early_shows_what_it_measured(tmp_path, gpu_summary):
    write(
        tmp_path / "bench" / "bench.json",
        {"environment": {"device": "cuda"}, "matmul_peak_gflops": {"fp32": 1.0, "bf16": 2.0}},
    )
    table = gpu_summary.table(tmp_path)
    assert "1 / 2 GFLOP/s" in table and "not reached (time limit)" in table
