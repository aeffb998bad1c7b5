"""Images per second of the book's input pipeline against d2lkit's in-memory loader.

(a) torchvision `FashionMNIST` + `DataLoader(transform=ToTensor())`, the book's pipeline, with
    num_workers 0, 2 and 4: per-sample PIL -> tensor work in Python, collated per batch; and, for
    like-for-like sizes, the book's `Resize(96 | 224)` + `ToTensor` with num_workers 4;
(b) d2lkit's `TensorLoader` on the same data: one gather and one float conversion per batch, at
    28x28 and with the batched resize to 96 and 224; with torch's default thread count and with
    one thread (on a busy machine the per-op fork/join of intra-op threads dominates tiny ops).

Each measurement consumes batches for a fixed time after a warm-up (worker start-up excluded),
so the whole run takes under a minute. The ratio column is against the best 28x28 DataLoader.

    python benchmarks/data_throughput.py [--seconds 2.5] [--batch-size 256] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from d2lkit.data import fashion_mnist
from d2lkit.data.idx import read_bytes
from d2lkit.data.loader import TensorLoader

WARMUP_BATCHES = 3


def endless(loader: Iterable) -> Iterator:
    """Batches without end, starting a new epoch when one runs out."""
    while True:
        yield from loader


def images_per_second(loader: Iterable, seconds: float) -> float:
    """Consume batches for `seconds` after a warm-up; count the images that came out."""
    batches = endless(loader)
    for _ in range(WARMUP_BATCHES):
        next(batches)
    images = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        x, _ = next(batches)
        images += x.shape[0]
    batches.close()  # drops the DataLoader iterator, which stops its workers
    return images / elapsed


def torchvision_root(found: Path, root: Path) -> Path:
    """The folder layout torchvision's FashionMNIST reads (root/FashionMNIST/raw/*-ubyte),
    filled from the files d2lkit located: decompressed, never downloaded."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for file in fashion_mnist.FASHION_MNIST.files:
        (raw / file.stem).write_bytes(read_bytes(fashion_mnist.file_path(found, file)))
    return root


def measure_dataloaders(root: Path, args: argparse.Namespace) -> list[tuple[str, float]]:
    rows = []
    settings = [(None, 0), (None, 2), (None, 4), (96, 4), (224, 4)]
    for resize, workers in settings:
        steps = [transforms.Resize(resize)] if resize else []
        dataset = datasets.FashionMNIST(
            str(root), train=True, transform=transforms.Compose([*steps, transforms.ToTensor()])
        )
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers)
        size = resize or 28
        label = f"torchvision DataLoader, {size}x{size}, num_workers={workers}"
        rows.append((label, images_per_second(loader, args.seconds)))
        print(f"  measured {label}", flush=True)
    return rows


def measure_tensor_loaders(
    data: fashion_mnist.LoadedIdxDataset, args: argparse.Namespace
) -> list[tuple[str, float]]:
    rows = []
    threads = torch.get_num_threads()
    for resize in (None, 96, 224):
        loader = TensorLoader(
            data.train.images, data.train.labels, args.batch_size, shuffle=True, resize=resize
        )
        size = resize or 28
        label = f"d2lkit TensorLoader, {size}x{size}, {threads} thread{'s' * (threads > 1)}"
        rows.append((label, images_per_second(loader, args.seconds)))
        print(f"  measured {label}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="time per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data-dir", help="where Fashion-MNIST is (default: d2lkit's look-up)")
    args = parser.parse_args()
    # The book's num_workers=4 on a 2-CPU machine is part of what is measured: no warning.
    warnings.filterwarnings("ignore", message="This DataLoader will create")

    data = fashion_mnist.load(args.data_dir, download=False)
    default_threads = torch.get_num_threads()
    print(
        f"{os.cpu_count()} CPUs, torch {torch.__version__} ({default_threads} threads), load"
        f" average {os.getloadavg()[0]:.1f}; batch {args.batch_size}, {args.seconds:g} s each"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure_dataloaders(torchvision_root(data.root, Path(tmp)), args)
    rows += measure_tensor_loaders(data, args)
    if default_threads > 1:
        torch.set_num_threads(1)
        rows += measure_tensor_loaders(data, args)
        torch.set_num_threads(default_threads)

    best = max(rate for label, rate in rows if label.startswith("torchvision DataLoader, 28x28"))
    width = max(len(label) for label, _ in rows)
    print(f"\n{'pipeline':<{width}}  {'images/s':>10}  {'vs best 28x28 DataLoader':>24}")
    for label, rate in rows:
        print(f"{label:<{width}}  {rate:>10,.0f}  {rate / best:>23.2f}x")


if __name__ == "__main__":
    main()
