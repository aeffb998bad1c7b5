"""`d2lkit classify RUN PHOTO...`: a classifier trained on an image folder, on new photos."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from d2lkit.errors import D2lkitError
from d2lkit.output_file import output_file
from d2lkit.text import plural

if TYPE_CHECKING:  # torch is imported when a command runs, so that --help is quick
    import torch


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="sort new photos (no labels needed) with a classifier trained on an image folder",
        description="Classify image files with a run trained on imagefolder:PATH, from its"
        " checkpoint alone (the folder it trained on need not be there). Each photo is resized"
        " and centre-cropped as the run's test images were. Prints one line per photo (class,"
        " probability, file) and a count per class; --csv writes every class's probability"
        " instead.",
        epilog="Guide: docs/vision.md (your own image folders).",
    )
    parser.add_argument("run", help="run directory or checkpoint file")
    parser.add_argument(
        "photos", nargs="+", metavar="PHOTO", help="image files, or folders of them (every depth)"
    )
    parser.add_argument(
        "--csv",
        metavar="FILE.csv",
        help="write path, predicted, probability and each class's probability, one row per photo",
    )
    parser.add_argument(
        "--top", type=int, default=1, help="classes shown per photo, most likely first (default 1)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="photos per batch (default 64)")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", default=None, help="no progress bar"
    )
    parser.set_defaults(handler=run_classify)


def run_classify(args: argparse.Namespace) -> int:
    from d2lkit.cli.train import refuse_several_processes
    from d2lkit.train.classify import classify_files, image_files, load_classifier

    refuse_several_processes("classify")
    if args.top < 1:
        raise D2lkitError(f"--top must be at least 1, got {args.top}")
    if args.batch_size < 1:
        raise D2lkitError(f"--batch-size must be at least 1, got {args.batch_size}")
    out = output_file(args.csv, "photos.csv") if args.csv is not None else None  # before the work
    files = image_files(args.photos)
    classifier = load_classifier(args.run)
    result = classify_files(classifier, files, args.batch_size, args.progress is not False)
    names = classifier.class_names
    if out is not None:
        write_csv(out, result.files, result.probabilities, names)
    else:
        top = min(args.top, len(names))
        for path, row in zip(result.files, result.probabilities, strict=True):
            chances, classes = row.topk(top)
            pairs = zip(chances.tolist(), classes.tolist(), strict=True)
            guesses = ", ".join(f"{names[c]} {p:.3f}" for p, c in pairs)
            print(f"{guesses}  {path}")
    counts = Counter(names[i] for i in result.probabilities.argmax(dim=1).tolist())
    tally = ", ".join(f"{name} {n}" for name, n in counts.most_common())
    print(
        f"{classifier.description} classified {plural(len(result.files), 'photo')}"
        + (f": {tally}" if tally else "")
    )
    if out is not None:
        print(f"wrote {out}")
    if result.unreadable:
        for message in result.unreadable:
            print(f"d2lkit: skipped {message}", file=sys.stderr)
        left = "" if out is None else f" (no row in {out})"
        raise D2lkitError(
            f"{plural(len(result.unreadable), 'photo')} of {len(files)} could not be read, listed"
            f" above{left}; the others were classified"
        )
    return 0


def write_csv(out: Path, files: list[Path], probabilities: torch.Tensor, names: list[str]) -> None:
    """One row per photo: its path, the most likely class and its probability, then each
    class's probability (columns named after the classes), written whole or not at all."""
    from d2lkit.atomic import write_text_atomic

    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["path", "predicted", "probability", *names])
    for path, row in zip(files, probabilities, strict=True):
        best = int(row.argmax())
        writer.writerow([path, names[best], f"{row[best]:.4f}", *(f"{p:.4f}" for p in row)])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text.getvalue())
