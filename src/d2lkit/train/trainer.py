"""The training loop, written once: train an epoch, evaluate, tell the callbacks.

Features hang on named events (fit_start, epoch_start, batch_end, eval_start, eval_batch_end,
epoch_end, fit_end) as small `Callback` classes (callbacks.py); the loop itself stays on one
screen.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from d2lkit.errors import TrainingFailed
from d2lkit.train.metrics import Meter, make_meter

# On CUDA, how often (in steps) the device's count of skipped non-finite steps is read.
FINITE_CHECK_EVERY = 50
# An epoch's mean classification loss above this many times a guess's is a run that diverged.
DIVERGED_FACTOR = 100
TASKS = ("classification", "regression", "segmentation")


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        train_loader: Iterable,
        test_loader: Iterable,
        *,
        task: str = "classification",
        num_classes: int = 10,
        device: torch.device | str = "cpu",
        precision: str = "fp32",
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        scheduler_per_step: bool = False,
        grad_clip: float | None = None,
        channels_last: bool = False,
        callbacks: Sequence = (),
        test_loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if precision not in ("fp32", "bf16"):  # "auto" is resolved before (environment.py)
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        # The test loss without training's extras (label smoothing), comparable across runs.
        self.test_loss_fn = test_loss_fn or loss_fn
        self.train_loader = train_loader
        self.test_loader = test_loader
        self.task = task
        self.num_classes = num_classes
        self.device = torch.device(device)
        self.precision = precision
        self.scheduler = scheduler
        self.scheduler_per_step = scheduler_per_step
        self.grad_clip = grad_clip
        self.channels_last = channels_last
        self.callbacks = list(callbacks)
        self.epochs = 0  # the epoch fit() trains up to
        self.epoch = 0  # 1-based number of the epoch in progress or last finished
        self.step = 0  # 1-based step within the epoch
        self.batch_loss = math.nan
        self.images_in_epoch = 0
        self.history: list[dict] = []  # one metrics dict per finished epoch
        self.epoch_metrics: dict = {}

    # -- events ------------------------------------------------------------------------------

    def emit(self, event: str) -> None:
        for callback in self.callbacks:
            getattr(callback, f"on_{event}")(self)

    # -- the loop ----------------------------------------------------------------------------

    def fit(self, epochs: int, start_epoch: int = 0) -> list[dict]:
        """Train epochs start_epoch+1 .. epochs (1-based), evaluating after each."""
        self.epochs = epochs
        self.emit("fit_start")
        for epoch in range(start_epoch + 1, epochs + 1):
            self.epoch = epoch
            self.emit("epoch_start")
            start, cpu_start = time.perf_counter(), time.process_time()
            train = self.train_epoch()
            train_s = time.perf_counter() - start
            self.check_not_diverged(train["loss"])
            # CPU seconds of this process (all threads): unlike train_s, barely moved by other
            # work on a shared machine, so runs on a busy machine stay comparable.
            train_cpu_s = time.process_time() - cpu_start
            start = time.perf_counter()
            test = self.evaluate()
            eval_s = time.perf_counter() - start
            self.epoch_metrics = {
                "epoch": epoch,
                "train_loss": train.pop("loss"),
                "train_acc": train.pop("acc"),
                "test_loss": test.pop("loss"),
                "test_acc": test.pop("acc"),
                **{f"test_{k}": v for k, v in test.items()},
                "train_s": train_s,
                "eval_s": eval_s,
                "train_cpu_s": train_cpu_s,
                "train_images_per_s": self.images_in_epoch / train_s,
                "lr": self.optimizer.param_groups[0]["lr"],
            }
            self.emit("eval_end")
            if self.scheduler is not None and not self.scheduler_per_step:
                self.scheduler.step()
            self.history.append(self.epoch_metrics)
            self.emit("epoch_end")
        self.emit("fit_end")
        return self.history

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = X.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        if self.channels_last and X.dim() == 4:
            X = X.contiguous(memory_format=torch.channels_last)
        return X, y

    def skips_on_device(self) -> bool:
        """Whether non-finite steps can be skipped on the device, with no host sync per step:
        on CUDA with an optimiser whose fused step honours `found_inf` (as under GradScaler)."""
        fused = all(group.get("fused") for group in self.optimizer.param_groups)
        return (
            self.device.type == "cuda"
            and fused
            and getattr(self.optimizer, "_step_supports_amp_scaling", False)
        )

    def failure(self, what: str) -> TrainingFailed:
        # Checkpoints are written after each finished epoch: none exists during the first.
        kept = "the last good checkpoint is kept" if self.epoch > 1 else "no checkpoint was saved"
        return TrainingFailed(f"{what}; lower --lr or add --grad-clip; {kept}")

    def nonfinite_error(self, what: str) -> TrainingFailed:
        return self.failure(f"non-finite {what} at epoch {self.epoch} step {self.step}")

    def skipped_error(self) -> TrainingFailed:
        return self.failure(
            f"non-finite loss or gradient in epoch {self.epoch} by step {self.step} (those updates"
            " were skipped)"
        )

    def check_not_diverged(self, train_loss: float) -> None:
        """A finite loss can still have run away: cross-entropy is ln(classes) for a guess, and
        an epoch's mean of DIVERGED_FACTOR times that means logits hundreds apart on wrong
        answers, which no run that learns reaches."""
        if self.task == "regression":  # its scale is the data's
            return
        guess = math.log(self.num_classes)
        if train_loss > DIVERGED_FACTOR * guess:
            raise self.failure(
                f"the loss diverged: epoch {self.epoch} train loss {train_loss:.3g}, against"
                f" {guess:.2f} for a guess"
            )

    def gradient_norm(self, params: list[torch.Tensor]) -> torch.Tensor:
        """The gradients' total norm, clipped to `grad_clip` when set; without clipping only
        the norm is computed (clip_grad_norm_ would also rescale every gradient by 1)."""
        if self.grad_clip is not None:
            return torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        grads = [p.grad for p in params if p.grad is not None]
        return (
            torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)
        )

    def train_epoch(self) -> dict:
        self.model.train()
        meter = make_meter(self.task, self.num_classes, self.device)
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        on_device = self.skips_on_device()
        nonfinite_steps = torch.zeros((), dtype=torch.long, device=self.device)
        self.images_in_epoch = 0
        try:
            for step, (X, y) in enumerate(self.train_loader, start=1):
                self.step = step
                X, y = self.prepare(X, y)
                with self.autocast():
                    outputs = self.model(X)
                    loss = self.loss_fn(outputs.float(), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = self.gradient_norm(params)
                finite = torch.isfinite(loss.detach() + grad_norm)
                # A non-finite loss or gradient must never reach the parameters. On the CPU the
                # check costs nothing: read it every step. On CUDA a read would stall the GPU
                # queue, so the fused step skips the update on the device and the count of
                # skipped steps is read every `FINITE_CHECK_EVERY` steps and at the epoch's end.
                if on_device:
                    self.optimizer.found_inf = (~finite).float()
                    nonfinite_steps += ~finite
                    if step % FINITE_CHECK_EVERY == 0 and nonfinite_steps.item():
                        raise self.skipped_error()
                elif not finite.item():
                    raise self.nonfinite_error(
                        f"{'loss' if not torch.isfinite(loss) else 'gradient'} ({loss.item():.4g})"
                    )
                self.optimizer.step()
                if self.scheduler is not None and self.scheduler_per_step:
                    self.scheduler.step()
                meter.update(loss, outputs, y)
                self.batch_loss = loss
                self.images_in_epoch += y.shape[0]
                self.emit("batch_end")
            if on_device and nonfinite_steps.item():
                raise self.skipped_error()
        finally:
            if on_device and hasattr(self.optimizer, "found_inf"):
                del self.optimizer.found_inf
        return meter.compute()

    @torch.no_grad()
    def evaluate(self, meter: Meter | None = None) -> dict:
        """Loss and accuracy (plus task metrics) of the model on the test set; `meter` counts
        more than the task's own (eval's confusion matrix, in one process: its sums are not
        added up across ranks)."""
        self.model.eval()
        self.emit("eval_start")
        if meter is None:
            meter = make_meter(self.task, self.num_classes, self.device)
        for X, y in self.test_loader:
            X, y = self.prepare(X, y)
            with self.autocast():
                outputs = self.model(X)
                loss = self.test_loss_fn(outputs.float(), y)
            meter.update(loss, outputs, y)
            self.emit("eval_batch_end")
        return meter.compute()
