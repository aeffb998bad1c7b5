"""`d2lkit augment [IMAGE] --out grid.png`: the book's augmentations side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from d2lkit.cli.counts import check_image_count, seed_number
from d2lkit.errors import D2lkitError
from d2lkit.text import plural

GUIDE = "Guide: docs/vision.md (image augmentation)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "augment",
        help="show an image and augmented versions of it, one row per method",
        description="Draw IMAGE (default: a Fashion-MNIST sample) and COUNT augmented copies per "
        "method of the book (flips, random resized crop, colour jitter, their composition). "
        "The same --seed gives the same images.",
        epilog=GUIDE,
    )
    parser.add_argument("image", nargs="?", help="an image file (default: a Fashion-MNIST sample)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument(
        "--count", type=int, default=4, help="augmented copies per method (default 4, at most 16)"
    )
    parser.add_argument("--seed", type=seed_number, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--methods", help="comma-separated subset of the methods (default: all of them)"
    )
    parser.add_argument("--data-dir", help="where to look for Fashion-MNIST first")
    parser.set_defaults(handler=run_augment)


def read_given_image(path: str) -> torch.Tensor:
    """The image the user named, as uint8 (3, H, W); a missing or unreadable file is one line."""
    from d2lkit.data.image_file import read_image
    from d2lkit.data.imagefolder import not_a_file

    if Path(path).is_dir():
        raise D2lkitError(f"{path}: a folder; name one image file in it")
    if (why := not_a_file(Path(path))) is not None:  # missing, a looping link, /dev/null
        raise D2lkitError(f"{path}: {why}; name an image file")
    return read_image(path, follow_exif=True)  # a phone photo, upright


def default_image(data_dir: str | None) -> tuple[torch.Tensor, str]:
    """The first Fashion-MNIST test image, as RGB uint8 (3, 28, 28), and its class."""
    from d2lkit.data import fashion_mnist

    data = fashion_mnist.load(data_dir)
    image = data.test.images[0].expand(3, -1, -1).contiguous()
    return image, data.classes[int(data.test.labels[0])]


# Augmenting a 12-megapixel photo at full size takes half a minute and gigabytes, to show it in a
# 200-pixel cell: the source is shrunk to this longer side first (the crops still choose from it).
LONGEST_SIDE = 400


def fitted(picture: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 (3, H, W) resized so its longer side is `side`, aspect kept (no side below one
    pixel: a 1x1000 strip stays one pixel high)."""
    from torchvision.transforms.v2.functional import resize

    height, width = picture.shape[-2:]
    scale = side / max(height, width)
    size = [max(1, round(height * scale)), max(1, round(width * scale))]
    return resize(picture, size, antialias=True)


def to_cell(picture: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 (3, H, W) -> float (3, side, side) in [0, 1]: fitted with its aspect kept, on
    white, so a flip or a crop is seen as it is, not squashed into a square."""
    image = fitted(picture, side).float() / 255
    cell = torch.ones(3, side, side)
    top, left = (side - image.shape[1]) // 2, (side - image.shape[2]) // 2
    cell[:, top : top + image.shape[1], left : left + image.shape[2]] = image
    return cell


def augmentation_grid(
    image: torch.Tensor, methods: list[str], count: int, seed: int
) -> tuple[list[torch.Tensor], list[str]]:
    """One row per method: the original, then `count` augmented copies (float (3, S, S), S the
    crop's side, so crops and originals sit in one grid). On a gray image the colour-only rows
    say that they change nothing."""
    from d2lkit.data.augment import COLOUR_ONLY, CROP_SIZE, apply_seeded, is_gray, pipeline

    gray = is_gray(image)
    cells, titles = [], []
    for method in methods:
        copies = apply_seeded(pipeline(method), image, count, seed)
        cells += [to_cell(picture, max(CROP_SIZE)) for picture in [image, *copies]]
        original = f"{method}\noriginal"
        if gray and method in COLOUR_ONLY:
            original += "\n(no effect on gray)"
        titles += [original] + [f"{method} {i + 1}" for i in range(count)]
    return cells, titles


def chosen_methods(text: str | None) -> list[str]:
    """--methods as a list: every method when it is not given."""
    from d2lkit.data.augment import PIPELINES

    if text is None:
        return list(PIPELINES)
    # dict.fromkeys: a method named twice is drawn once, in its first place
    methods = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not methods:
        raise D2lkitError(f"--methods names no method; pick from {', '.join(PIPELINES)}")
    unknown = [m for m in methods if m not in PIPELINES]
    if unknown:
        raise D2lkitError(
            f"unknown augmentation {', '.join(unknown)}; known: {', '.join(PIPELINES)}"
        )
    return methods


def run_augment(args: argparse.Namespace) -> int:
    from d2lkit.data.augment import COLOUR_ONLY, is_gray
    from d2lkit.report.figures import figure_path
    from d2lkit.report.grids import save_image_grid

    check_image_count(args.count, most=16)  # copies per method, one row each
    methods = chosen_methods(args.methods)
    out = figure_path(args.out)  # a folder or a looping link fails before the work
    if args.image:
        image, source = read_given_image(args.image), args.image
        if out.resolve() == Path(args.image).resolve():
            raise D2lkitError(
                f"--out {args.out} is the IMAGE itself; the grid would replace it: pick another"
                " --out"
            )
        if max(image.shape[-2:]) > LONGEST_SIDE:
            image = fitted(image, LONGEST_SIDE)
            source += f" (shrunk to {image.shape[2]}x{image.shape[1]})"
    else:
        image, label = default_image(args.data_dir)
        source = f"Fashion-MNIST test image 0 ({label})"
    cells, titles = augmentation_grid(image, methods, args.count, args.seed)
    shape = f"{plural(len(methods), 'method')} x {plural(args.count, 'copy', 'copies')}"
    # The figure names its source and seed too: it is looked at long after the command ran.
    heading = f"{source}: the original, then augmented copies, one row per method; seed {args.seed}"
    out = save_image_grid(torch.stack(cells), titles, out, ncols=args.count + 1, heading=heading)
    print(f"wrote {out}: {source}, {shape}, seed {args.seed}")
    unchanged = [method for method in methods if method in COLOUR_ONLY]
    if unchanged and is_gray(image):
        verb = "changes" if len(unchanged) == 1 else "change"
        print(
            f"note: {' and '.join(unchanged)} {verb} nothing on a gray image (it has no colour to"
            " shift); give a colour IMAGE to see them"
        )
    return 0
