"""`d2lkit bench [--quick] [--out DIR]`: d2lkit against the book's loop and the machine's limit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from d2lkit.cli.counts import folder_name

GUIDE = "Guide: docs/performance.md (reading d2lkit bench: each figure, and the defaults it set)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time d2lkit against the book's loop and the machine's matmul peak",
        description="In one run: seconds per LeNet epoch of the book's loop (torchvision "
        "DataLoader) and of `d2lkit train lenet`; the measured fp32/bf16 matmul peak; per model "
        "(lenet, resnet18 at 96, alexnet at 224) images/s, GFLOP/s and utilisation in fp32, bf16, "
        "channels_last and torch.compile (with --quick, compiled only where it compiles in"
        " seconds: LeNet on a CPU, bf16 channels_last ResNet-18 on a GPU); peak memory of a LeNet"
        " run. Writes OUT/bench.json.",
        epilog=GUIDE,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="time a fixed number of steps and extrapolate per epoch (a few minutes)",
    )
    parser.add_argument(
        "--out",
        type=folder_name,
        default="runs/bench",
        help="folder for bench.json (default runs/bench)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="(default auto: CUDA when present)",
    )
    parser.add_argument("--data-dir", help="look for Fashion-MNIST here first")
    parser.set_defaults(handler=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    from d2lkit.report.bench import choose_plan, run_bench
    from d2lkit.report.bench_table import format_table
    from d2lkit.train.environment import resolve_device

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    from d2lkit.data.fashion_mnist import check_data_dir

    check_data_dir(args.data_dir)  # before any section runs and writes a partial bench.json
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # an --out that cannot be a folder fails first
    plan = choose_plan(args.quick, resolve_device(args.device))
    try:
        results = run_bench(plan, out, device=args.device, data_dir=args.data_dir, log=log)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            f"{out / 'bench.json'} holds the sections measured so far; run the same command"
            " again for all of them"
        ) from None
    print(format_table(results))
    print(f"wrote {out / 'bench.json'}")
    return 0
