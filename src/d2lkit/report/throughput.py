"""What the hardware can do and what d2lkit's trainer gets out of it.

- `matmul_peak`: GFLOP/s of one large square matmul (the practical ceiling for fp32 and bf16);
- `train_flops_per_image`: FLOPs of one forward + backward pass, counted by
  `torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions, 2 FLOPs per MAC);
- `measure_variant`: images/s of d2lkit's own `Trainer.train_epoch` (autocast, loss, backward,
  finite check, optimiser step) on synthetic images, in one of the variants below, so the numbers
  are those of the loop `d2lkit train` runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from d2lkit.data.loader import TensorLoader
from d2lkit.errors import D2lkitError
from d2lkit.models.registry import create_model, get_entry
from d2lkit.train.callbacks import Callback
from d2lkit.train.compiling import compile_model
from d2lkit.train.environment import resolve_precision
from d2lkit.train.optim import build_optimizer
from d2lkit.train.trainer import Trainer


@dataclass(frozen=True)
class Variant:
    precision: str  # "fp32" or "bf16"
    channels_last: bool = False
    compile: bool = False


VARIANTS = {
    "fp32": Variant("fp32"),
    "bf16": Variant("bf16"),
    "fp32_channels_last": Variant("fp32", channels_last=True),
    "bf16_channels_last": Variant("bf16", channels_last=True),
    "fp32_compile": Variant("fp32", compile=True),
    "bf16_channels_last_compile": Variant("bf16", channels_last=True, compile=True),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(
    dtype: torch.dtype, device: torch.device, size: int = 4096, repeats: int = 3
) -> float:
    """GFLOP/s of a (size x size) @ (size x size) matmul: one warm-up, then the best of
    `repeats` (the least disturbed by other work on a shared machine)."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    torch.mm(a, b)
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def train_flops_per_image(model_name: str, input_size: tuple[int, int, int]) -> float:
    """FLOPs of one forward + backward pass per image (counted on a batch of 2, on the CPU)."""
    model = create_model(model_name, num_classes=10, in_channels=input_size[0])
    model.train()
    x = torch.randn(2, *input_size)
    y = torch.tensor([0, 1])
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / 2


class StepClock(Callback):
    """Times the steps after the warm-up: the clock starts when step `warmup` ends and stops when
    the loader's last step ends (on CUDA it waits for the device only at those two steps, so the
    timed steps queue up as in training)."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started = time.perf_counter()
        self.warmup_s = 0.0
        self.timed_start = 0.0
        self.images_before = 0
        self.timed_images = 0
        self.timed_s = 0.0

    def on_batch_end(self, trainer: Trainer) -> None:
        last = trainer.step == len(trainer.train_loader)
        if trainer.step != self.warmup and not last:
            return
        synchronize(trainer.device)
        now = time.perf_counter()
        if trainer.step == self.warmup:
            self.warmup_s = now - self.started
            self.timed_start, self.images_before = now, trainer.images_in_epoch
        if last:
            self.timed_s = now - self.timed_start
            self.timed_images = trainer.images_in_epoch - self.images_before


def measure_variant(
    model_name: str,
    variant: Variant,
    input_size: tuple[int, int, int],
    batch_size: int,
    warmup: int,
    steps: int,
    device: torch.device | str,
) -> dict:
    """Images/s of `steps` training steps after `warmup` steps (which absorb one-off costs:
    oneDNN primitive creation, torch.compile), with the model's book optimiser and lr."""
    if warmup < 1 or steps < 1:
        raise ValueError("need at least one warm-up and one timed step")
    device = torch.device(device)
    precision = resolve_precision(variant.precision, device)
    entry = get_entry(model_name)
    torch.manual_seed(0)
    model = create_model(model_name, num_classes=10, in_channels=input_size[0]).to(device)
    if variant.channels_last:
        model.to(memory_format=torch.channels_last)
    count = (warmup + steps) * batch_size
    images = torch.randint(0, 256, (count, *input_size), dtype=torch.uint8)
    targets = torch.randint(0, 10, (count,))
    loader = TensorLoader(images, targets, batch_size, mean=0.5, std=0.5, device=device)
    optimizer = build_optimizer(
        entry.optimizer,
        [{"params": list(model.parameters())}],
        entry.lr,
        fused=device.type == "cuda",  # as `d2lkit train` builds it
    )
    clock = StepClock(warmup)
    trainer = Trainer(
        compile_model(model) if variant.compile else model,
        optimizer,
        torch.nn.CrossEntropyLoss(),
        loader,
        (),
        device=device,
        precision=precision,
        channels_last=variant.channels_last,
        callbacks=[clock],
    )
    trainer.epoch = 1
    trainer.train_epoch()
    return {
        "images_per_s": clock.timed_images / clock.timed_s,
        "warmup_s": clock.warmup_s,
        "timed_steps": steps,
        "batch_size": batch_size,
    }


def try_variant(name: str, *args, **kwargs) -> dict:
    """`measure_variant`, with a variant this machine cannot run recorded as skipped."""
    try:
        return measure_variant(*args, **kwargs)
    except D2lkitError as err:  # e.g. bf16 on a CPU without bf16 instructions
        return {"skipped": str(err)}
    except Exception as err:  # noqa: BLE001  (e.g. torch.compile without a C++ compiler)
        return {"skipped": f"{name} failed: {type(err).__name__}: {str(err)[:200]}"}
