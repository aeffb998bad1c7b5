"""`d2lkit models list [PATTERN]` and `d2lkit models summary NAME [--input-size C H W]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from d2lkit.errors import D2lkitError
from d2lkit.train.config import MAX_SIDE

GUIDE = "Guide: docs/cnn.md (the model zoo)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list the model zoo and show a model's layers", epilog=GUIDE
    )
    commands = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    listing = commands.add_parser(
        "list", help="registered models with family, task, parameters and input size", epilog=GUIDE
    )
    listing.add_argument(
        "pattern",
        nargs="?",
        default="*",
        help="part of a name, e.g. resnet, or a shell-style wildcard, e.g. 'res*' (default: all)",
    )
    listing.set_defaults(handler=run_list)

    summary = commands.add_parser(
        "summary",
        help="feed one image through a model: each layer's output shape, parameters, FLOPs",
        epilog=GUIDE,
    )
    summary.add_argument("name", help="model name (see `d2lkit models list`)")
    summary.add_argument(
        "--input-size",
        nargs=3,
        type=int,
        metavar=("C", "H", "W"),
        help="channels, height, width of one image (default: the model's own)",
    )
    summary.add_argument(
        "--num-classes", type=int, help="number of classes (default: the model's own)"
    )
    summary.add_argument(
        "--depth",
        type=int,
        default=1,
        help="1 = the model's top-level blocks (default); larger values open the blocks",
    )
    summary.set_defaults(handler=run_summary)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; the columns in `right` are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _size(shape: Sequence[int]) -> str:
    return "x".join(str(dim) for dim in shape)


def run_list(args: argparse.Namespace) -> int:
    from d2lkit.models.registry import get_entry, list_models
    from d2lkit.models.summary import count_params

    names = list_models(args.pattern)
    if not names:
        raise D2lkitError(f"no model matches {args.pattern!r}; `d2lkit models list` shows all")
    rows = []
    for name in names:
        entry = get_entry(name)
        # Built on the meta device: shapes only, no memory, no initialisation cost.
        with torch.device("meta"):
            model = entry.builder()
        rows.append(
            [name, entry.family, entry.task, f"{count_params(model):,}", _size(entry.input_size)]
        )
    print(format_table(["name", "family", "task", "params", "input"], rows, right={3}))
    return 0


MAX_CLASSES = 100_000  # ImageNet-21k has 21,841; a billion made a head of 84 billion weights


def run_summary(args: argparse.Namespace) -> int:
    from d2lkit.models.registry import create_model, get_entry
    from d2lkit.models.summary import summarize

    entry = get_entry(args.name)
    input_size = tuple(args.input_size) if args.input_size else entry.input_size
    if not all(1 <= side <= MAX_SIDE for side in input_size):
        raise D2lkitError(
            f"--input-size needs three numbers from 1 to {MAX_SIDE}, got {_size(input_size)}"
        )
    if args.depth < 1:
        raise D2lkitError(f"--depth must be at least 1, got {args.depth}")
    kwargs = {"in_channels": input_size[0]}
    if args.num_classes is not None:
        if not 1 <= args.num_classes <= MAX_CLASSES:
            raise D2lkitError(f"--num-classes must be 1 to {MAX_CLASSES:,}, got {args.num_classes}")
        kwargs["num_classes"] = args.num_classes
    model = create_model(args.name, **kwargs)
    try:
        summary = summarize(model, input_size, depth=args.depth)
    except (RuntimeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise D2lkitError(
            f"{args.name} cannot take a {_size(input_size)} input ({reason}); its default is"
            f" --input-size {' '.join(map(str, entry.input_size))}"
        ) from None
    rows = [
        [row.name, row.kind, _size(row.output_shape), f"{row.params:,}"] for row in summary.rows
    ]
    print(f"{args.name} ({entry.family}, {entry.task}), one image of {_size(input_size)}")
    print(format_table(["layer", "type", "output shape", "params"], rows, right={3}))
    print(f"output: {_size(summary.output_shape)}")
    print(f"total params: {summary.total_params:,}", end="")
    if summary.trainable_params != summary.total_params:
        print(f" ({summary.trainable_params:,} trainable)", end="")
    print()
    print(
        f"FLOPs per image (forward): {summary.flops_per_image:,}"
        f" ({summary.flops_per_image / 1e9:.3f} GFLOP)"
    )
    return 0
