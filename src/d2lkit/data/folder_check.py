"""`d2lkit data check imagefolder:PATH`: every image of a folder decoded once, with a progress
bar, so that all the bad files are named before a training starts, not the first one an hour in.

Training checks the tree's layout and empty files up front but decodes an image only when a batch
needs it; decoding them all would cost every run minutes on a large folder.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from d2lkit.data.image_file import open_rgb
from d2lkit.data.imagefolder import (
    IMAGE_SUFFIXES,
    SPLITS,
    check_tree,
    class_files,
    class_folder_problems,
    default_workers,
    is_image,
    kind_of,
)
from d2lkit.errors import D2lkitError
from d2lkit.text import plural


@dataclass
class SplitCheck:
    """What one split (ROOT/train or ROOT/test) holds, every image decoded."""

    split: str
    per_class: dict[str, int]
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (width, height) of each image
    problems: list[str] = field(default_factory=list)  # one message per file training trips over
    other_kinds: Counter[str] = field(default_factory=Counter)  # suffixes ImageFolder leaves out

    @property
    def images(self) -> int:
        return sum(self.per_class.values())


class DecodedSizes(Dataset):
    """Item i: the (width, height) of image i after decoding it whole, or why it cannot be read.
    Decoding is the work, so it runs in the loader's worker processes."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[tuple[int, int] | None, str | None]:
        try:
            return open_rgb(self.paths[index]).size, None
        except D2lkitError as err:
            return None, str(err)


def as_they_are(item: object) -> object:
    """The loader's collate function: items stay (size, error) pairs, not tensors."""
    return item


def check_split(root: Path, split: str, classes: list[str], progress: bool) -> SplitCheck:
    """ROOT/SPLIT's files sorted out (images, other kinds, problems) and its images decoded."""
    files = {name: class_files(root / split / name) for name in classes}
    images = {name: [path for path in paths if is_image(path)] for name, paths in files.items()}
    result = SplitCheck(split, {name: len(paths) for name, paths in images.items()})
    for name, paths in files.items():
        result.other_kinds.update(kind_of(path) for path in paths if not is_image(path))
        result.problems += class_folder_problems(root / split / name, images[name])
    # Empty files and broken links are already problems; the rest are decoded.
    every = [path for paths in images.values() for path in paths if path.is_file()]
    every = [path for path in every if path.stat().st_size > 0]
    loader = DataLoader(
        DecodedSizes(every), batch_size=None, num_workers=default_workers(), collate_fn=as_they_are
    )
    # disable=None: a bar on a terminal only, not carriage returns in a log file.
    disable = None if progress else True
    bar = tqdm(loader, f"decoding {split}", len(every), leave=False, unit="image", disable=disable)
    for size, error in bar:
        if error is None:
            result.sizes.append(size)
        else:
            result.problems.append(error)
    return result


def check_image_folder(root: Path, progress: bool = True) -> list[SplitCheck]:
    """Each split's class counts, image sizes and problem files (layout errors raise). A folder
    of test images alone is checked too: eval and predict read nothing else."""
    train = root / "train"
    test_alone = (root / "test").is_dir() and not train.exists() and not train.is_symlink()
    splits = ("test",) if test_alone else SPLITS
    # Each file is checked here, not only the first of them.
    classes = check_tree(root, splits, check_files=False)
    return [check_split(root, split, classes, progress) for split in splits]


def describe(check: SplitCheck) -> list[str]:
    """A split's lines of `data check`'s report."""
    counts = check.per_class
    fewest, most = min(counts.values()), max(counts.values())
    line = f"  {check.split}: {plural(check.images, 'image')} in {len(counts)} classes, "
    if fewest == most:
        line += f"{fewest} per class"
    else:
        line += f"{fewest} to {most} per class (fewest: {min(counts, key=counts.get)})"
    if check.sizes:
        smallest = min(check.sizes, key=lambda size: size[0] * size[1])
        largest = max(check.sizes, key=lambda size: size[0] * size[1])
        line += f"; smallest {smallest[0]}x{smallest[1]}, largest {largest[0]}x{largest[1]} pixels"
    lines = [line]
    if check.other_kinds:
        counted = sorted(check.other_kinds.items(), key=lambda kind: (-kind[1], kind[0]))
        kinds = ", ".join(f"{kind} x{n}" for kind, n in counted)
        lines.append(
            f"    left out: {plural(sum(check.other_kinds.values()), 'file')} of other kinds"
            f" ({kinds}); imagefolder reads {' '.join(IMAGE_SUFFIXES)}"
        )
    lines += [f"    {message}" for message in check.problems]
    return lines
