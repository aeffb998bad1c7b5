"""One table from the outputs of benchmarks/gpu_check.sh (bench.json, speedrun.json, the ResNet-18
run's summary.json); a part that is missing is shown as such, with the log to read.

    python benchmarks/gpu_summary.py OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BOOK_RESNET18_ACC = 0.926  # ShusenTang's port, Adam 1e-3, batch 256, resize 96, 5 epochs


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def bench_rows(bench: dict) -> list[tuple[str, str, str]]:
    peaks = bench["matmul_peak_gflops"]
    rows = [("matmul peak fp32 / bf16", f"{peaks['fp32']:.0f} / {peaks['bf16']:.0f} GFLOP/s", "")]
    book = bench.get("book_vs_d2lkit", {"skipped": "not reached (time limit)"})
    if "skipped" in book:
        rows.append(("LeNet epoch: book loop vs d2lkit", "skipped", book["skipped"]))
    else:
        rows.append(
            (
                "LeNet epoch: book loop vs d2lkit",
                f"{book['book']['epoch_s']:.2f} s vs {book['d2lkit']['epoch_s']:.2f} s",
                f"{book['epoch_speedup']:.1f}x (target >= 5x)",
            )
        )
    for name, model in bench.get("models", {}).items():
        if "skipped" in model:
            rows.append((f"{name} train step", "skipped", model["skipped"]))
            continue
        measured = {v: r for v, r in model["variants"].items() if "images_per_s" in r}
        if not measured:
            rows.append((f"{name} train step", "no variant ran", ""))
            continue
        best = max(measured, key=lambda v: measured[v]["images_per_s"])
        result = measured[best]
        fp32 = measured.get("fp32", {}).get("images_per_s")
        versus = f"{result['images_per_s'] / fp32:.2f}x fp32" if fp32 else ""
        rows.append(
            (
                f"{name} train step, best: {best}",
                f"{result['images_per_s']:.0f} img/s, {100 * result['utilisation']:.0f} % of peak",
                versus,
            )
        )
    return rows


def speedrun_row(speedrun: dict) -> tuple[str, str, str]:
    return (
        f"speedrun ({speedrun['seeds']} seeds, from process start)",
        f"{100 * speedrun['test_acc_mean']:.2f} ± {100 * speedrun['test_acc_std']:.2f} % in"
        f" {speedrun['wall_s_mean']:.1f} ± {speedrun['wall_s_std']:.1f} s",
        ">= 92.0 %",
    )


def resnet_row(summary: dict) -> tuple[str, str, str]:
    return (
        f"resnet18 book profile, {summary['epochs']} epochs ({summary['precision']})",
        f"test acc {summary['test_acc']:.4f} in {summary['wall_s']:.0f} s,"
        f" {summary['train_images_per_s']:.0f} img/s",
        f"book {BOOK_RESNET18_ACC}",
    )


def tests_row(out: Path) -> tuple[str, str, str]:
    """The last line of pytest's output: how many GPU tests passed, failed, were skipped."""
    try:
        lines = (out / "gpu_tests.log").read_text().strip().splitlines()
    except OSError:
        lines = []
    return ("GPU-only tests (pytest -m gpu)", lines[-1] if lines else "missing", "")


def table(out: Path) -> str:
    rows: list[tuple[str, str, str]] = [tests_row(out)]
    bench = read(out / "bench" / "bench.json")
    rows += bench_rows(bench) if bench else [("bench", "missing", f"see {out / 'bench.log'}")]
    speedrun = read(out / "speedrun" / "speedrun.json")
    rows.append(
        speedrun_row(speedrun) if speedrun else ("speedrun", "missing", f"see {out}/speedrun.log")
    )
    resnet = read(out / "resnet18" / "summary.json")
    rows.append(
        resnet_row(resnet) if resnet else ("resnet18", "missing", f"see {out}/resnet18.log")
    )
    device = bench["environment"].get("gpu", bench["environment"]["device"]) if bench else "?"
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"GPU check on {device}"]
    lines += [f"{a:{widths[0]}s}  {b:{widths[1]}s}  {c}" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(Path(sys.argv[1])))
