"""The book's LeNet loop against `d2lkit train lenet`, same settings, side by side.

Both run as child processes of the bench, one after the other: the book's loop
(benchmarks/book_lenet.py: torchvision FashionMNIST + DataLoader(num_workers=4) + ToTensor) and
the real `d2lkit train lenet` command (Adam 1e-3, batch 256, fp32). The d2lkit child also reports
its peak resident memory (`getrusage` of its own process).

With a step limit (`--quick`) both train only that many steps of the epoch and the epoch's train
time is extrapolated: the book's from its per-step time after the first batch plus its measured
worker start-up; d2lkit's from its time per image. Evaluation on the full test set is measured.

Besides wall seconds, both report the CPU seconds of training (the book's including its workers):
on a machine shared with other work, wall times swell with the load while CPU seconds measure the
work each loop does.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

from d2lkit.child_process import run_python
from d2lkit.data import fashion_mnist
from d2lkit.errors import D2lkitError

BOOK_SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "book_lenet.py"
TRAIN_IMAGES = 60000
BATCH_SIZE = 256
# Batches the book's DataLoader has in flight ahead of the loop: num_workers 4 x prefetch_factor 2.
# A loop stopped after S steps has had its workers prepare up to S + 8 batches.
BOOK_PREFETCHED_BATCHES = 8


def torchvision_layout(root: Path, data_dir: str | None = None) -> Path:
    """Place d2lkit's located Fashion-MNIST files as torchvision expects them,
    `root/FashionMNIST/raw/<name>` decompressed, so torchvision never downloads; returns root."""
    directory = fashion_mnist.locate(data_dir)
    if directory is None:
        raise D2lkitError(fashion_mnist.missing_message(data_dir))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for file in fashion_mnist.FASHION_MNIST.files:
        _, data = fashion_mnist.verified_bytes(directory, file)
        (raw / file.stem).write_bytes(data)
    return root


def extrapolate_book(epoch: dict, images_per_epoch: int = TRAIN_IMAGES) -> float:
    """Train seconds for a whole epoch from a limited one: the worker start-up (time to the
    first batch) once, then the per-image time of the remaining steps."""
    if epoch["images"] >= images_per_epoch:
        return epoch["train_s"]
    first_images = min(BATCH_SIZE, epoch["images"])
    rest_images = epoch["images"] - first_images
    if rest_images <= 0:
        return epoch["train_s"] * images_per_epoch / epoch["images"]
    per_image = (epoch["train_s"] - epoch["first_batch_s"]) / rest_images
    return epoch["first_batch_s"] + per_image * (images_per_epoch - first_images)


def extrapolate_book_cpu(epoch: dict, images_per_epoch: int = TRAIN_IMAGES) -> float:
    """CPU seconds for a whole epoch (loop and workers) from a limited one, counting the batches
    the workers had prefetched when the loop stopped."""
    if epoch["images"] >= images_per_epoch:
        return epoch["train_cpu_s"]
    prepared = min(epoch["images"] + BOOK_PREFETCHED_BATCHES * BATCH_SIZE, images_per_epoch)
    return epoch["train_cpu_s"] * images_per_epoch / prepared


def run_book(steps: int | None, data_dir: str | None = None, timeout: float = 1800) -> dict:
    if not BOOK_SCRIPT.is_file():
        raise RuntimeError(f"{BOOK_SCRIPT} is missing (bench runs from a source checkout)")
    with tempfile.TemporaryDirectory(prefix="d2lkit-book-") as tmp:
        root = torchvision_layout(Path(tmp) / "data", data_dir)
        out = Path(tmp) / "book.json"
        command = [sys.executable, str(BOOK_SCRIPT), "--root", str(root), "--json", str(out)]
        if steps is not None:
            command += ["--steps", str(steps)]
        run_python(command, "the book's loop", RuntimeError, timeout)
        epoch = json.loads(out.read_text())["epochs"][0]
    train_s = extrapolate_book(epoch)
    return {
        "steps": epoch["steps"],
        "images": epoch["images"],
        "measured_train_s": epoch["train_s"],
        "worker_startup_s": epoch["first_batch_s"],
        "train_s_per_epoch": train_s,
        "train_cpu_s_per_epoch": extrapolate_book_cpu(epoch),
        "eval_s": epoch["eval_s"],
        "epoch_s": train_s + epoch["eval_s"],
        "extrapolated": epoch["images"] < TRAIN_IMAGES,
    }


def d2lkit_train_command(out: Path, steps: int | None, data_dir: str | None) -> list[str]:
    """`d2lkit train lenet` with the book's settings."""
    args = ["train", "lenet", "--epochs", "1", "--batch-size", str(BATCH_SIZE)]
    args += ["--optimizer", "adam", "--lr", "0.001", "--precision", "fp32", "--no-progress"]
    args += ["--out", str(out)]
    if steps is not None:
        args += ["--train-subset", str(steps * BATCH_SIZE)]
    if data_dir is not None:
        args += ["--data-dir", data_dir]
    return args


def run_d2lkit(steps: int | None, data_dir: str | None = None, timeout: float = 1800) -> dict:
    with tempfile.TemporaryDirectory(prefix="d2lkit-lenet-") as tmp:
        out = Path(tmp) / "run"
        rss = Path(tmp) / "rss.json"
        command = [sys.executable, "-m", "d2lkit.report.peak_memory", str(rss)]
        command += d2lkit_train_command(out, steps, data_dir)
        run_python(command, "d2lkit train lenet", RuntimeError, timeout)
        metrics = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
        peak_rss_mb = json.loads(rss.read_text())["peak_rss_mb"]
    images = min(steps * BATCH_SIZE, TRAIN_IMAGES) if steps is not None else TRAIN_IMAGES
    train_s = metrics["train_s"] * TRAIN_IMAGES / images
    train_cpu_s = metrics["train_cpu_s"] * TRAIN_IMAGES / images
    return {
        "steps": math.ceil(images / BATCH_SIZE),
        "images": images,
        "measured_train_s": metrics["train_s"],
        "train_s_per_epoch": train_s,
        "train_cpu_s_per_epoch": train_cpu_s,
        "eval_s": metrics["eval_s"],
        "epoch_s": train_s + metrics["eval_s"],
        "extrapolated": images < TRAIN_IMAGES,
        "test_acc": metrics["test_acc"],
        "peak_rss_mb": peak_rss_mb,
    }


def compare(book: dict, d2lkit: dict) -> dict:
    """Speed-ups of d2lkit over the book (> 1: d2lkit is faster)."""
    return {
        "train_speedup": book["train_s_per_epoch"] / d2lkit["train_s_per_epoch"],
        "epoch_speedup": book["epoch_s"] / d2lkit["epoch_s"],
        "train_cpu_ratio": book["train_cpu_s_per_epoch"] / d2lkit["train_cpu_s_per_epoch"],
    }
