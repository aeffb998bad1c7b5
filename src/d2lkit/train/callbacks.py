"""Small callbacks the trainer calls on its named events."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from d2lkit.atomic import write_text_atomic
from d2lkit.errors import D2lkitError
from d2lkit.train.checkpoint import save_checkpoint

if TYPE_CHECKING:  # for annotations only: importing it here would be circular
    from d2lkit.train.trainer import Trainer


class Callback:
    """Override the events you need; each receives the trainer."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_epoch_start(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer) -> None: ...
    def on_eval_start(self, trainer: Trainer) -> None: ...
    def on_eval_batch_end(self, trainer: Trainer) -> None: ...
    def on_eval_end(self, trainer: Trainer) -> None: ...
    def on_epoch_end(self, trainer: Trainer) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


def format_metric(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


TABLE_COLUMNS = ("epoch", "train_loss", "train_acc", "test_acc", "train_s", "eval_s")
REGRESSION_COLUMNS = ("epoch", "train_loss", "test_loss", "train_s", "eval_s")  # no accuracy
# Pixel accuracy is mostly background: mIoU is what says whether the objects are found.
SEGMENTATION_COLUMNS = (*TABLE_COLUMNS[:4], "test_miou", *TABLE_COLUMNS[4:])
COLUMNS = {"regression": REGRESSION_COLUMNS, "segmentation": SEGMENTATION_COLUMNS}


class ProgressBar(Callback):
    """A `headline` (what is trained, and how), a tqdm bar per epoch with live loss and images/s
    and one while it tests, and one table row per finished epoch."""

    # Seconds between updates of the bar's loss and images/s. Reading the loss waits for the
    # GPU, which the CUDA loop otherwise does every 50 steps only: on a fast GPU a read every
    # few steps would stall its queue, on a slow CPU a count of steps would freeze the figures.
    POSTFIX_EVERY_S = 0.5

    def __init__(self, enabled: bool = True, headline: str = "") -> None:
        self.enabled = enabled
        self.headline = headline
        self.bar = None
        self.columns = TABLE_COLUMNS

    def on_fit_start(self, trainer: Trainer) -> None:
        self.columns = COLUMNS.get(trainer.task, TABLE_COLUMNS)
        if self.headline:
            tqdm.write(self.headline)
        tqdm.write("  ".join(f"{c:>10s}" for c in self.columns))

    def new_bar(self, total: int, desc: str) -> tqdm:
        return tqdm(
            total=total,
            desc=desc,
            leave=False,
            # None: tqdm shows the bar on a terminal only, so logs piped to a file keep just the
            # table rows instead of thousands of carriage-return updates.
            disable=None if self.enabled else True,
            unit="batch",
        )

    def on_epoch_start(self, trainer: Trainer) -> None:
        self.start = self.last_postfix = time.perf_counter()
        self.bar = self.new_bar(
            len(trainer.train_loader), f"epoch {trainer.epoch}/{trainer.epochs}"
        )

    def on_batch_end(self, trainer: Trainer) -> None:
        self.bar.update(1)
        now = time.perf_counter()
        if now - self.last_postfix >= self.POSTFIX_EVERY_S and not self.bar.disable:
            self.last_postfix = now
            rate = trainer.images_in_epoch / (now - self.start)
            self.bar.set_postfix(loss=f"{trainer.batch_loss.item():.4f}", img_s=f"{rate:.0f}")

    def on_eval_start(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()  # the epoch's training bar
        # `d2lkit eval` tests a saved run: no epoch is in progress.
        desc = f"testing after epoch {trainer.epoch}" if trainer.epoch else "testing"
        self.bar = self.new_bar(len(trainer.test_loader), desc)

    def on_eval_batch_end(self, trainer: Trainer) -> None:
        self.bar.update(1)

    def on_epoch_end(self, trainer: Trainer) -> None:
        self.bar.close()
        row = trainer.epoch_metrics
        tqdm.write("  ".join(f"{format_metric(row.get(c)):>10s}" for c in self.columns))


def metrics_line(row: dict) -> str:
    """One epoch's row as a line of metrics.jsonl."""
    return json.dumps(row) + "\n"


class MetricsWriter(Callback):
    """Appends one JSON object per epoch to metrics.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, trainer: Trainer) -> None:
        with open(self.path, "a") as f:
            f.write(metrics_line(trainer.epoch_metrics))


def write_metrics(path: Path, rows: list[dict]) -> None:
    """Replace `path` with these rows, atomically (a run whose epochs were not logged by
    MetricsWriter, or a resumed run's history cut back to its checkpoint)."""
    write_text_atomic(path, "".join(metrics_line(row) for row in rows))


# The log is the run's history, which a resume continues: deleted, it cannot be written anew.
DAMAGED_LOG_FIX = (
    "restore it from a copy to resume the run, or train it again into a new --out (eval and"
    " predict need only its checkpoint)"
)


def read_metrics(path: Path) -> list[dict]:
    """The rows MetricsWriter appended to `path`, one per epoch; [] when there is no file."""
    try:
        text = path.read_text() if path.is_file() else ""
    except UnicodeDecodeError:
        raise D2lkitError(f"{path}: damaged (not UTF-8 text); {DAMAGED_LOG_FIX}") from None
    # A last line without its newline is an append cut off by a crash: that epoch was never
    # checkpointed (the checkpoint is written after the row), so a resume redoes it.
    lines = text.split("\n")[:-1]
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise D2lkitError(
                f"{path}: line {number} is damaged ({err}); {DAMAGED_LOG_FIX}"
            ) from None
        if not isinstance(row, dict) or type(row.get("epoch")) is not int:
            raise D2lkitError(f"{path}: line {number} is no epoch's row; {DAMAGED_LOG_FIX}")
        rows.append(row)
    return rows


def readable_metrics(path: Path) -> list[dict]:
    """`read_metrics`' rows, or [] when the log is missing or damaged: for what only adds to a
    run's checkpoint (a recorded figure, a better message), never for a resume."""
    try:
        return read_metrics(path)
    except (OSError, D2lkitError):
        return []


class CheckpointSaver(Callback):
    """Writes checkpoint.pt atomically after every epoch."""

    def __init__(self, path: Path, make_state: Callable[[], dict]) -> None:
        self.path = path
        self.make_state = make_state

    def on_epoch_end(self, trainer: Trainer) -> None:
        save_checkpoint(self.make_state(), self.path)


class CurvePlotter(Callback):
    """curves.png, redrawn after every epoch (the book's Animator, headless)."""

    def __init__(self, path: Path, title: str = "") -> None:
        self.path = path
        self.title = title

    def on_epoch_end(self, trainer: Trainer) -> None:
        from d2lkit.report.curves import plot_curves

        plot_curves(trainer.history, self.path, self.title)


def check_tensorboard() -> None:
    """Before a run writes anything: without the package, the writer failed with a traceback
    after config.json and env.json were written."""
    if importlib.util.find_spec("tensorboard") is None:
        raise D2lkitError(
            "--tensorboard needs the tensorboard package: pip install tensorboard, or train"
            " without --tensorboard"
        )


class TensorBoardWriter(Callback):
    """Epoch metrics as TensorBoard scalars (needs the `tensorboard` extra)."""

    def __init__(self, log_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_epoch_end(self, trainer: Trainer) -> None:
        for key, value in trainer.epoch_metrics.items():
            if key != "epoch" and isinstance(value, int | float):
                self.writer.add_scalar(key, value, trainer.epoch)
        self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        self.writer.close()
