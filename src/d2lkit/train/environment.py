"""Device and precision resolution, seeding, and the facts recorded in env.json."""

from __future__ import annotations

import os
import platform
import random
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch

from d2lkit import __version__
from d2lkit.errors import D2lkitError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise D2lkitError("--device cuda: no CUDA device is available; use --device cpu or auto")
    if name.startswith("cuda"):
        from d2lkit.train.distributed import current_launch, launched  # they import this module

        if launched():  # torchrun: one GPU per process on this node
            return torch.device("cuda", current_launch().local_rank)
    return torch.device(name)


def cpuinfo_field(name: str) -> str | None:
    """The first value of `name` in /proc/cpuinfo (None where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name):
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags() -> set[str]:
    return set((cpuinfo_field("flags") or "").split())


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo."""
    return cpuinfo_field("model name")


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX-512 BF16: bf16 matrix work runs in hardware."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


# Models that `--precision auto` trains in bf16 on a CPU with bf16 instructions, each with its
# evidence: bf16 at least 1.2x the images/s of fp32 in `d2lkit bench` on the build machine AND the
# same accuracy over a full run. Models that only pass the speed test (resnet18 1.75x, alexnet
# 1.4x: see docs/performance.md) stay fp32 until a full run shows their accuracy unchanged; ask
# for `--precision bf16` to take the speed.
CPU_BF16_MODELS = {
    "speednet": "bf16 1.6x the images/s of fp32; speedrun test accuracy, seeds 0 and 1:"
    " bf16 92.44 / 92.42 %, fp32 92.40 / 92.47 %",
    "speednet_wide": "bf16 1.65x (186 vs 306 CPU-s for the 6-epoch speedrun); test accuracy,"
    " seed 0: bf16 93.02 %, fp32 92.97 %",
}


def resolve_precision(name: str, device: torch.device, model: str | None = None) -> str:
    """`auto`: bf16 on CUDA, except for regression; on the CPU, bf16 only for `CPU_BF16_MODELS`
    where the CPU has bf16 instructions, else fp32 (bf16 helps big convolutions, hurts tiny ones,
    and must never cost accuracy silently)."""
    if name == "bf16" and device.type == "cpu" and not cpu_has_fast_bf16():
        raise D2lkitError("--precision bf16: this CPU has no AMX/AVX-512 BF16; use fp32 or auto")
    if name != "auto":
        return name
    if model is not None and is_regression(model):
        # bf16 keeps 3 significant digits: linreg's recovered w and b, to be within 0.01 of the
        # truth, were off by 0.002-0.007 over three seeds (fp32: 0.0006-0.0015).
        return "fp32"
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    if device.type == "cpu" and model in CPU_BF16_MODELS and cpu_has_fast_bf16():
        return "bf16"
    return "fp32"


def is_regression(model: str) -> bool:
    from d2lkit.models.registry import get_entry

    return get_entry(model).task == "regression"


def tune_backend(device: torch.device) -> None:
    """On CUDA, cuDNN times its convolution algorithms once per input shape and keeps the
    fastest: every batch of a run has one shape (the last aside), so a few timed first steps
    repay many times over. Its choice may differ between runs in the last bits of a result, as
    CUDA training's sums already do; the CPU is left as it is."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# The d2lkit checkout this code runs from (src/d2lkit/train/ -> the repository), if it is one.
CHECKOUT = Path(__file__).resolve().parents[3]


def git_revision(checkout: Path = CHECKOUT) -> str | None:
    """d2lkit's commit when it runs from its own checkout, with "-dirty" when tracked files are
    edited; None when installed, where a git folder above would be another project's (a venv
    inside the user's repository)."""
    if not ((checkout / ".git").exists() and (checkout / "src" / "d2lkit").is_dir()):
        return None
    head = git_output(checkout, "rev-parse", "--short", "HEAD")
    if not head:
        return None
    # Edits not committed mean the commit alone does not give the code that ran.
    changed = git_output(checkout, "status", "--porcelain", "--untracked-files=no")
    return f"{head}-dirty" if changed else head


def git_output(checkout: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=checkout, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def environment_facts(device: torch.device) -> dict:
    facts = {
        "d2lkit": __version__,
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        # Read from the package metadata: importing torchvision costs a second and 160 MiB.
        "torchvision": package_version("torchvision"),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_fast_bf16(),
        "device": str(device),
    }
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
        facts["cuda"] = torch.version.cuda
    return facts
