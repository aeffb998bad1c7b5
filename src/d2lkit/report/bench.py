"""`d2lkit bench`: d2lkit against the book's loop and against the machine's own limit, in one run.

Sections of bench.json:
- `book_vs_d2lkit`: seconds per LeNet epoch of the book's loop and of `d2lkit train lenet`, the
  speed-ups, and the d2lkit run's peak resident memory (`memory`);
- `matmul_peak_gflops`: the measured ceiling, fp32 and bf16;
- `models`: per model, FLOPs per image (forward + backward) and, per variant (fp32, bf16,
  channels_last, torch.compile), images/s, achieved GFLOP/s and utilisation of the ceiling of
  its precision, plus each variant's speed-up over plain fp32.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import write_json_atomic
from d2lkit.models.registry import list_models
from d2lkit.report import book_compare, throughput
from d2lkit.train.environment import environment_facts, resolve_device


@dataclass(frozen=True)
class ModelSetting:
    name: str
    input_size: tuple[int, int, int]
    batch_size: int
    warmup: int  # steps that absorb one-off costs (primitive creation, compilation)
    steps: int  # timed steps
    variants: tuple[str, ...]


@dataclass(frozen=True)
class BenchPlan:
    quick: bool
    book_steps: int | None  # None: one whole epoch each
    matmul_size: int
    models: tuple[ModelSetting, ...]


ALL_VARIANTS = tuple(throughput.VARIANTS)
EAGER_VARIANTS = ("fp32", "bf16", "fp32_channels_last", "bf16_channels_last")

# --quick: a fixed number of LeNet steps, a few steps per model, torch.compile only where it
# compiles in seconds; together well under 5 minutes on 2 CPU cores.
QUICK = BenchPlan(
    quick=True,
    book_steps=40,
    matmul_size=4096,
    models=(
        ModelSetting("lenet", (1, 28, 28), 256, 3, 20, ALL_VARIANTS[:5]),
        ModelSetting("resnet18", (1, 96, 96), 32, 1, 3, EAGER_VARIANTS),
        ModelSetting("alexnet", (1, 224, 224), 16, 1, 2, EAGER_VARIANTS),
    ),
)
# --quick on a GPU: the book's batch sizes and enough steps to fill the device queue; compiled
# bf16 + channels_last (CUDA graphs come with mode="max-autotune", not used: minutes to tune).
QUICK_CUDA = BenchPlan(
    quick=True,
    book_steps=40,
    matmul_size=8192,
    models=(
        ModelSetting("lenet", (1, 28, 28), 256, 5, 100, ALL_VARIANTS),
        ModelSetting(
            "resnet18", (1, 96, 96), 256, 3, 20, EAGER_VARIANTS + ("bf16_channels_last_compile",)
        ),
        ModelSetting("alexnet", (1, 224, 224), 128, 3, 10, EAGER_VARIANTS),
    ),
)
FULL = BenchPlan(
    quick=False,
    book_steps=None,
    matmul_size=4096,
    models=(
        ModelSetting("lenet", (1, 28, 28), 256, 5, 100, ALL_VARIANTS),
        ModelSetting("resnet18", (1, 96, 96), 128, 2, 8, ALL_VARIANTS),
        ModelSetting("alexnet", (1, 224, 224), 64, 2, 5, ALL_VARIANTS),
    ),
)


def choose_plan(quick: bool, device: torch.device) -> BenchPlan:
    if not quick:
        return FULL
    return QUICK_CUDA if device.type == "cuda" else QUICK


def peak_for(variant: str, peaks: dict) -> float:
    return peaks[throughput.VARIANTS[variant].precision]


def bench_model(setting: ModelSetting, device: torch.device, peaks: dict, log: Callable) -> dict:
    flops = throughput.train_flops_per_image(setting.name, setting.input_size)
    variants = {}
    for variant in setting.variants:
        log(f"  {setting.name} {variant} ...")
        result = throughput.try_variant(
            variant,
            setting.name,
            throughput.VARIANTS[variant],
            setting.input_size,
            setting.batch_size,
            setting.warmup,
            setting.steps,
            device,
        )
        if "images_per_s" in result:
            gflops = result["images_per_s"] * flops / 1e9
            result["achieved_gflops"] = gflops
            result["utilisation"] = gflops / peak_for(variant, peaks)
        variants[variant] = result
    base = variants.get("fp32", {}).get("images_per_s")
    for result in variants.values():
        if base and "images_per_s" in result:
            result["speedup_vs_fp32"] = result["images_per_s"] / base
    return {
        "input_size": list(setting.input_size),
        "batch_size": setting.batch_size,
        "train_gflop_per_image": flops / 1e9,
        "variants": variants,
    }


def bench_book(steps: int | None, data_dir: str | None, log: Callable) -> dict:
    try:
        log("book's LeNet loop (torchvision DataLoader, 4 workers) ...")
        book = book_compare.run_book(steps, data_dir)
        log("d2lkit train lenet ...")
        d2lkit = book_compare.run_d2lkit(steps, data_dir)
    # A child that failed, ran out of time or refused its input: the other sections go on.
    except (RuntimeError, D2lkitError) as err:
        return {"skipped": str(err)}
    return {"book": book, "d2lkit": d2lkit, **book_compare.compare(book, d2lkit)}


def run_bench(
    plan: BenchPlan,
    out: Path | None = None,
    *,
    device: str = "auto",
    data_dir: str | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    """Run every section of `plan`; bench.json is rewritten after each, so a run stopped by a
    time limit keeps what it measured."""
    started = time.perf_counter()
    device_ = resolve_device(device)
    results: dict = {"quick": plan.quick, "environment": environment_facts(device_)}

    def save() -> None:
        results["wall_s"] = time.perf_counter() - started
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            write_json_atomic(out / "bench.json", results)

    log(f"matmul peak ({plan.matmul_size}^2) ...")
    peaks = {
        "fp32": throughput.matmul_peak(torch.float32, device_, plan.matmul_size),
        "bf16": throughput.matmul_peak(torch.bfloat16, device_, plan.matmul_size),
    }
    results["matmul_peak_gflops"] = peaks
    results["matmul_size"] = plan.matmul_size
    save()
    results["book_vs_d2lkit"] = bench_book(plan.book_steps, data_dir, log)
    save()
    registered = set(list_models())
    results["models"] = {}
    for setting in plan.models:
        if setting.name not in registered:
            results["models"][setting.name] = {"skipped": "model not registered"}
        else:
            results["models"][setting.name] = bench_model(setting, device_, peaks, log)
        save()
    return results
