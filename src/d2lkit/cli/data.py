"""`d2lkit data info | show | check | download`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from d2lkit.cli.counts import check_image_count
from d2lkit.data import download, fashion_mnist
from d2lkit.data.datasets import expand_user
from d2lkit.errors import D2lkitError
from d2lkit.text import plural

GUIDE = "Guide: docs/basics.md (datasets and loaders)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data", help="find, verify, download and look at datasets", epilog=GUIDE
    )
    commands = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    info = commands.add_parser(
        "info", help="where each dataset was found and whether it verified", epilog=GUIDE
    )
    info.add_argument("--data-dir", help="look here first")
    info.set_defaults(handler=run_info)

    show = commands.add_parser("show", help="save a labelled grid of samples", epilog=GUIDE)
    show.add_argument(
        "dataset",
        nargs="?",
        default="fashion-mnist",
        help="fashion-mnist (default), imagefolder:PATH (your own images, drawn at random),"
        " fashion-scenes or voc:PATH (images beside their label masks)",
    )
    show.add_argument("--data-dir", help="look here first")
    show.add_argument("--out", required=True, help="PNG file to write")
    show.add_argument(
        "--count", type=int, default=18, help="number of samples (default 18, at most 144)"
    )
    show.add_argument("--split", choices=["train", "test"], default="train", help="(default train)")
    show.set_defaults(handler=run_show)

    check = commands.add_parser(
        "check",
        help="decode every image of imagefolder:PATH: class counts, sizes, unreadable files",
        epilog="Guide: docs/vision.md (your own image folders).",
    )
    check.add_argument("dataset", help="imagefolder:PATH, the folder to check")
    check.add_argument("--no-progress", action="store_true", help="no progress bar")
    check.set_defaults(handler=run_check)

    download_parser = commands.add_parser(
        "download",
        help="download Fashion-MNIST into ~/.cache/d2lkit/fashion-mnist unless a copy is found",
        epilog=GUIDE,
    )
    download_parser.add_argument(
        "--data-dir", help="download here instead of ~/.cache/d2lkit/fashion-mnist"
    )
    download_parser.set_defaults(handler=run_download)


def run_info(args: argparse.Namespace) -> int:
    from d2lkit.data.scenes import CANVAS, TEST_SCENES, TRAIN_SCENES

    directory = fashion_mnist.locate(args.data_dir)
    if directory is None:
        raise D2lkitError(fashion_mnist.missing_message(args.data_dir))
    start = time.perf_counter()
    data = fashion_mnist.load(directory, download=False)
    seconds = time.perf_counter() - start
    print(f"fashion-mnist: {directory} (SHA-256 verified, loaded in {seconds:.2f} s)")
    for split in ("train", "test"):
        part = getattr(data, split)
        counts = torch.bincount(part.labels, minlength=len(data.classes)).tolist()
        print(
            f"  {split:5s} images {tuple(part.images.shape)} uint8,"
            f" labels {tuple(part.labels.shape)}, per class {min(counts)}-{max(counts)}"
        )
    print(f"  classes: {', '.join(data.classes)}")
    print(
        f"fashion-scenes: composed on demand from the Fashion-MNIST above ({TRAIN_SCENES:,}"
        f" training scenes, or N with fashion-scenes:N, and {TEST_SCENES:,} test scenes of"
        f" {CANVAS}x{CANVAS}, labelled per pixel)"
    )
    print("synthetic-linear: generated on demand (y = 2 x1 - 3.4 x2 + 4.2 + noise 0.01)")
    print("imagefolder:PATH and voc:PATH: your own folders, checked when a command reads them")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from d2lkit.data.folder_check import check_image_folder, describe

    if args.dataset.partition(":")[0] != "imagefolder":
        raise D2lkitError(
            f"`data check` reads imagefolder:PATH, not {args.dataset!r}; `data info` verifies"
            " Fashion-MNIST"
        )
    root = image_folder_root(args.dataset, "check")
    checks = check_image_folder(root, progress=not args.no_progress)
    print(f"imagefolder:{root}")
    for check in checks:
        print("\n".join(describe(check)))
    problems = sum(len(check.problems) for check in checks)
    if problems:
        raise D2lkitError(
            f"{root}: {plural(problems, 'problem')} listed above, each of which would stop a"
            f" {'training' if len(checks) == 2 else 'test pass'}; fix them first"
        )
    if len(checks) == 2:
        print("every image decoded: ready to train on")
    else:
        print("every image decoded: ready for eval and predict (training needs train/ too)")
    return 0


def image_folder_root(dataset: str, command: str) -> Path:
    """The folder of `imagefolder:PATH`, `~` expanded (a shell leaves it after the colon)."""
    folder = dataset.partition(":")[2]
    if not folder:  # `imagefolder:$UNSET` must not read the working directory
        raise D2lkitError(f"imagefolder needs a folder: data {command} imagefolder:PATH")
    return Path(expand_user(folder))


def run_show(args: argparse.Namespace) -> int:
    from d2lkit.report.grids import save_image_grid

    check_image_count(args.count)
    kind = args.dataset.partition(":")[0]
    if kind == "imagefolder":
        return show_image_folder(args)
    if kind in SEGMENTATION_SETS:
        return show_segmentation(args)
    if args.dataset != "fashion-mnist":
        raise D2lkitError(
            f"`data show` draws fashion-mnist, imagefolder:PATH, fashion-scenes and voc:PATH,"
            f" not {args.dataset!r}"
        )
    data = fashion_mnist.load(args.data_dir)
    part = getattr(data, args.split)
    images, labels = part.images[: args.count], part.labels[: args.count]
    heading = f"Fashion-MNIST {args.split}: its first {len(labels)} of {len(part.labels)} images"
    names = [data.classes[i] for i in labels]
    out = save_image_grid(images, names, args.out, ncols=9, heading=heading)
    print(f"wrote {out}")
    return 0


def show_image_folder(args: argparse.Namespace) -> int:
    from d2lkit.data.imagefolder import sample_images
    from d2lkit.report.grids import save_image_grid

    root = image_folder_root(args.dataset, "show")
    if args.data_dir:
        raise D2lkitError("--data-dir is where Fashion-MNIST is; imagefolder:PATH names its own")
    if args.split == "train" and not (root / "train").exists() and (root / "test").is_dir():
        raise D2lkitError(f"{root / 'train'}: missing; `--split test` draws from test/ alone")
    images, names, total = sample_images(root, args.split, args.count)
    heading = f"{root / args.split}: {len(names)} of its {total} images, drawn at random"
    out = save_image_grid(images, names, args.out, ncols=9, heading=heading)
    print(f"wrote {out}")
    return 0


SEGMENTATION_SETS = ("fashion-scenes", "voc")


def show_segmentation(args: argparse.Namespace) -> int:
    """Images beside their label masks, as training gets them (VOC: the crops)."""
    from d2lkit.data.datasets import DataOptions, build_dataset
    from d2lkit.report.masks import save_labelled_masks

    # A batch of `count` from the split asked for; eval's test-only read needs no train list.
    options = DataOptions(args.count, args.data_dir, test_only=args.split == "test")
    data = build_dataset(args.dataset, options)
    images, labels = next(iter(data.test if args.split == "test" else data.train))
    images, labels = images[: args.count], labels[: args.count]  # test batches can be larger
    order = "its first" if args.split == "test" else "a random batch of"
    heading = f"{args.dataset} {args.split}: {order} {len(labels)} images and their labels"
    out = save_labelled_masks(images, labels, data, args.out, heading)
    print(f"wrote {out}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    target = Path(args.data_dir) if args.data_dir else fashion_mnist.cache_dir()
    # With --data-dir only that folder counts: the user asked for a copy there.
    existing = fashion_mnist.locate_in(target) if args.data_dir else fashion_mnist.locate()
    if existing is not None:
        bad = first_bad_file(existing)
        if bad is None:
            print(f"fashion-mnist already present in {existing} (SHA-256 verified)")
            return 0
        # The cache and the folder given to download into are d2lkit's to repair; a copy found
        # through $D2LKIT_DATA or the system package is someone else's, so say what to do.
        if not args.data_dir and not existing.is_relative_to(fashion_mnist.cache_dir()):
            raise D2lkitError(not_ours_message(existing, *bad))
        target = existing
    try:
        directory = download.download_to(target)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            "files already verified are kept, the one in progress is not; run the same command"
            " again to finish"
        ) from None
    print(f"fashion-mnist downloaded to {directory}")
    return 0


def first_bad_file(directory: Path) -> tuple[Path, str] | None:
    """The first Fashion-MNIST file in `directory` that does not verify, and why, or None."""
    for file in fashion_mnist.FASHION_MNIST.files:
        path = fashion_mnist.file_path(directory, file)
        problem = fashion_mnist.copy_problem(path, file)
        if problem is not None:
            return path, problem
    return None


def not_ours_message(directory: Path, path: Path, problem: str) -> str:
    cache = fashion_mnist.cache_dir()
    if directory.is_relative_to(fashion_mnist.SYSTEM_DIR):
        return (
            f"{path}: {problem}; d2lkit does not overwrite the system copy: reinstall it (`sudo"
            " apt-get install --reinstall dataset-fashion-mnist`) or download a copy into the"
            f" cache, which is looked up first: `d2lkit data download --data-dir {cache}`"
        )
    return (
        f"{path}: {problem}; d2lkit does not overwrite the copy $D2LKIT_DATA points to: fetch it"
        f" again there with `d2lkit data download --data-dir {directory}`, or unset D2LKIT_DATA"
    )
