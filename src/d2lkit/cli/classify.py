"""`d2lkit classify RUN PHOTO...`: a classifier trained on an image folder, on new photos."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from d2lkit.atomic import write_atomic
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
        help="write path, predicted, probability and each class's probability (p_CLASS), one row"
        " per photo; - writes the table to stdout",
    )
    parser.add_argument(
        "--top", type=int, help="classes printed per photo, most likely first (default 1)"
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
    check_flags(args)
    to_stdout = args.csv == "-"  # the table itself on stdout, for a pipe; the rest on stderr
    if to_stdout and sys.stdout is None:  # started with stdout closed (`>&-`)
        raise D2lkitError("--csv -: stdout is closed; pass a file name")
    out = csv_file(args.csv) if args.csv is not None and not to_stdout else None
    photos = image_files(args.photos)
    classifier = load_classifier(args.run)
    result = classify_files(classifier, photos.files, args.batch_size, args.progress is not False)
    names = classifier.class_names
    if args.csv is None:
        print_top_classes(result.files, result.probabilities, names, args.top or 1)
    elif result.files:  # none read: nothing to write (an older table there is kept)
        table = csv_table(result.files, result.probabilities, names)
        if to_stdout:
            sys.stdout.buffer.write(table)
            sys.stdout.flush()
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(out, lambda tmp: tmp.write_bytes(table))
    counts = Counter(names[i] for i in result.probabilities.argmax(dim=1).tolist())
    tally = "; ".join(f"{name}: {n}" for name, n in counts.most_common())
    print(
        f"{classifier.description} classified {plural(len(result.files), 'photo')}"
        + (f" ({tally})" if tally else "")
        + left_out(photos.other_kinds, photos.repeated),
        file=sys.stderr if to_stdout else sys.stdout,
    )
    if out is not None and result.files:
        print(f"wrote {out}")
    refuse_unread(photos.problems + result.unreadable, len(result.files), out)
    return 0


def refuse_unread(unreadable: list[str], classified: int, out: Path | None) -> None:
    """Each photo that could not be read on a line of its own, then exit 2."""
    if not unreadable:
        return
    for message in unreadable:
        print(f"d2lkit: skipped {message}", file=sys.stderr)
    rest = "the others were classified" if classified else "none could be classified"
    where = f" (no row in {out})" if out is not None and classified else ""
    raise D2lkitError(
        f"{plural(len(unreadable), 'photo')} of {len(unreadable) + classified} could not be read,"
        f" listed above{where}; {rest}"
    )


def check_flags(args: argparse.Namespace) -> None:
    """Numbers out of range, and --top beside --csv (which writes every class), refused."""
    if args.top is not None and args.top < 1:
        raise D2lkitError(f"--top must be at least 1, got {args.top}")
    if args.top is not None and args.csv is not None:
        raise D2lkitError("--csv writes every class's probability; --top is for the printed lines")
    if args.batch_size < 1:
        raise D2lkitError(f"--batch-size must be at least 1, got {args.batch_size}")


def csv_file(given: str) -> Path:
    """--csv's file, checked before the work. A photo's name there is most likely a glob the
    shell expanded (`--csv photos/*.jpg`): writing the table would replace that photo."""
    from d2lkit.data.imagefolder import is_image

    out = output_file(given, "photos.csv")
    if is_image(out) or holds_binary_data(out):  # a .heic, a scan without a suffix, a checkpoint
        raise D2lkitError(
            f"--csv {given}: {'an image' if is_image(out) else 'a file that is not text'}; --csv"
            " writes a table there: name it FILE.csv (photos go before or after it)"
        )
    return out


def holds_binary_data(path: Path) -> bool:
    """Whether `path` exists and its start is not text: an image or a checkpoint, never a
    table this command wrote (they hold NUL bytes, or bytes that are not UTF-8, early on)."""
    try:
        with path.open("rb") as file:
            start = file.read(4096)
    except OSError:  # none there (or unreadable: the write will say so)
        return False
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(start) - 3  # a character cut at the end of the 4096 bytes is text
    return b"\0" in start


def print_top_classes(
    files: list[Path], probabilities: torch.Tensor, names: list[str], top: int
) -> None:
    """One line per photo: its `top` classes, most likely first, then its path."""
    top = min(top, len(names))
    for path, row in zip(files, probabilities, strict=True):
        chances, classes = row.topk(top)
        pairs = zip(chances.tolist(), classes.tolist(), strict=True)
        print(", ".join(f"{names[c]} {p:.3f}" for p, c in pairs) + f"  {path}")


def left_out(other_kinds: Counter[str], repeated: int) -> str:
    """What the folders held that was not classified, in words ("" for nothing)."""
    notes = []
    if other_kinds:
        kinds = ", ".join(f"{kind} x{n}" for kind, n in sorted(other_kinds.items()))
        notes.append(
            f"left out {plural(sum(other_kinds.values()), 'file')} of other kinds ({kinds})"
        )
    if repeated:
        notes.append(f"{plural(repeated, 'photo')} named twice, classified once")
    return "".join(f"; {note}" for note in notes)


def csv_table(files: list[Path], probabilities: torch.Tensor, names: list[str]) -> bytes:
    """One row per photo: its path, the most likely class and its probability, then each class's
    probability in a column p_CLASS (a class may be called `path`). File names that are not
    UTF-8 keep their bytes, as the file system has them."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["path", "predicted", "probability", *(f"p_{name}" for name in names)])
    for path, row in zip(files, probabilities, strict=True):
        best = int(row.argmax())
        writer.writerow([path, names[best], f"{row[best]:.4f}", *(f"{p:.4f}" for p in row)])
    return text.getvalue().encode("utf-8", "surrogateescape")
