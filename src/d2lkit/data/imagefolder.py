"""`imagefolder:PATH`: your own images, laid out like the book's hotdog set.

    PATH/train/CLASS/*.jpg   PATH/test/CLASS/*.jpg

read through torchvision's `ImageFolder` and `DataLoader` (PIL decoding and per-image transforms
are what worker processes are for), with the book's fine-tuning transforms (its random crops and
flips with --augment) and ImageNet's normalisation. Hidden names (.ipynb_checkpoints/,
._photo.jpg) are left out. The tree is checked before any training starts, so a missing split,
fewer than two classes, an empty class folder, an empty file or mismatched classes are one clear
error naming the path, not a crash in a worker halfway through an epoch. Images are decoded when a
batch needs them; `d2lkit data check` (folder_check.py) decodes them all up front.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms import v2

from d2lkit.data.datasets import (
    DataBundle,
    DataOptions,
    check_subset,
    random_indices,
    register_dataset,
)
from d2lkit.data.image_file import UnreadableImage, open_rgb
from d2lkit.data.sharding import ShardedDataLoader, evaluation_slice
from d2lkit.errors import D2lkitError
from d2lkit.output_file import leads_round
from d2lkit.text import composed

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SIZE = 224  # the book's crop; --resize R uses R (small images for CPU runs)
SPLITS = ("train", "test")
# torchvision's list leaves GIFs out, so a class of them looked empty; PIL reads their first frame.
IMAGE_SUFFIXES = (*IMG_EXTENSIONS, ".gif")


# Decoding and cropping a batch of photos keeps up with a GPU at about this many processes; each
# holds its own copy of the dataset's file list and Python (100-150 MB), and the test loader keeps
# a second pool, so one per CPU of a 64-core machine would hold some 15 GB for nothing.
MAX_WORKERS = 8


def default_workers() -> int:
    """One loader process per CPU this process may use, at most MAX_WORKERS."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cpus = len(usable) if usable is not None else os.cpu_count() or 1
    return min(cpus, MAX_WORKERS)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def kind_of(path: Path) -> str:
    """A file's kind, as data check and classify count the files of other kinds they leave out."""
    return path.suffix.lower() or "no suffix"


def is_hidden(relative: Path) -> bool:
    """Dot-names are other tools' files: .ipynb_checkpoints/, macOS's ._photo.jpg twins."""
    return any(part.startswith(".") for part in relative.parts)


def class_images(class_dir: Path) -> list[Path]:
    """The images of one class folder (ROOT/SPLIT/CLASS), in torchvision's ImageFolder order."""
    return [path for path in class_files(class_dir) if is_image(path)]


def class_files(class_dir: Path) -> list[Path]:
    """The files of one class folder, images or not: every depth, hidden names left out, linked
    folders followed where they hold this class's images (see `belongs_to_class`), and each real
    folder read once."""
    class_real, tree_real = class_dir.resolve(), class_dir.parent.parent.resolve()
    return files_under(class_dir, lambda real: belongs_to_class(real, class_real, tree_real))


def files_under(top: Path, follow: Callable[[Path], bool]) -> list[Path]:
    """Every file under `top`, folder by folder in name order (torchvision's ImageFolder order):
    hidden names left out, and each real folder read once, a linked one where `follow` (its
    real path) says so; a link to `.` would go round and round."""
    read = {top.resolve()}
    walked = []
    for folder, subfolders, names in os.walk(top, followlinks=True):
        kept = []
        for name in sorted(subfolders):
            real = Path(folder, name).resolve()
            # A hidden folder is not read: its files are left out, and it must not mark a
            # visible folder it links to as read.
            if not name.startswith(".") and real not in read and follow(real):
                read.add(real)
                kept.append(name)
        subfolders[:] = kept  # os.walk descends into these only
        walked.append((folder, names))
    return [
        Path(folder) / name
        for folder, names in sorted(walked)
        for name in sorted(names)
        if not is_hidden((Path(folder) / name).relative_to(top))
    ]


def belongs_to_class(real: Path, class_real: Path, tree_real: Path) -> bool:
    """Whether a (linked) folder's images are this class's: those inside the class folder are,
    and so are photos kept anywhere else but in the splits. The splits hold other classes, and a
    folder holding the tree holds all of them: a link to `..` would read every class as this one,
    around and around."""
    if real.is_relative_to(class_real):
        return True
    if tree_real.is_relative_to(real):
        return False
    return not any(real.is_relative_to((tree_real / split).resolve()) for split in SPLITS)


def visible_class_names(split_dir: Path) -> list[str]:
    return sorted(
        entry.name
        for entry in split_dir.iterdir()
        if entry.is_dir() and not is_hidden(Path(entry.name))
    )


class ClassFolders(ImageFolder):
    """ImageFolder reading each class folder's `class_images`, without hidden class folders, so
    that training reads exactly what `check_tree` checked. With `classes` (a trained run's), the
    labels are their places in that list, and a class may have no folder here."""

    def __init__(
        self, root: Path, transform: v2.Transform, classes: list[str] | None = None
    ) -> None:
        self.known = classes  # find_classes runs inside ImageFolder's __init__
        super().__init__(str(root), transform, loader=open_rgb)

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        present = visible_class_names(Path(directory))
        classes = self.known or present
        return classes, {name: classes.index(name) for name in present}

    @staticmethod
    def make_dataset(
        directory: str | Path, class_to_idx: dict[str, int], *args: object, **kwargs: object
    ) -> list[tuple[str, int]]:
        # `class_images`, not torchvision's walk, which follows a link to `..` round the tree.
        return [
            (str(path), index)
            for name, index in sorted(class_to_idx.items())
            for path in class_images(Path(directory) / name)
        ]


def check_tree(root: Path, splits: tuple[str, ...] = SPLITS, check_files: bool = True) -> list[str]:
    """The class names, after checking everything `ImageFolder` would trip over later in
    `splits` (eval and predict read test/ only); without `check_files`, the layout only (the
    splits and their classes), the class folders' files left to the caller."""
    if not root.is_dir():
        needs = " and ".join(f"PATH/{split}" for split in splits)
        what = "a file, not a folder" if root.exists() else "no such folder"
        raise D2lkitError(f"{root}: {what}; pass imagefolder:PATH with {needs}")
    classes = [check_split(root, split, check_files) for split in splits]
    if len(classes) == 2 and set(classes[0]) != set(classes[1]):
        train, test = map(set, classes)
        raise class_mismatch(root, sorted(train - test), sorted(test - train))
    return classes[0]


def class_mismatch(root: Path, only_train: list[str], only_test: list[str]) -> D2lkitError:
    """Names that look the same on screen may differ in bytes: macOS writes 'ö' as 'o' plus a
    combining diaeresis (Unicode NFD), most other tools as one character (NFC). Such names are
    shown escaped, so that the two lists no longer read alike."""
    twins = sorted(set(composed(only_train)) & set(composed(only_test)))
    if twins:
        return D2lkitError(
            f"{root}: train/ and test/ spell {', '.join(twins)} in two Unicode forms (only in"
            f" train: {ascii(only_train)}, only in test: {ascii(only_test)}; macOS writes names"
            " decomposed, NFD); rename the folder in one split so both are written alike"
        )
    return D2lkitError(
        f"{root}: train/ and test/ hold different classes (only in train: {only_train or '-'},"
        f" only in test: {only_test or '-'}); both need the same class folders"
    )


def check_split(root: Path, split: str, check_files: bool = True) -> list[str]:
    """The class names of `root/split`, each class folder holding readable files."""
    folder = root / split
    if not folder.is_dir():
        what = "missing"
        if folder.exists() or folder.is_symlink():  # a file, or a link to nothing
            what = "a file, not a folder" if folder.exists() else "a broken link"
        raise D2lkitError(
            f"{folder}: {what}; an image folder needs {split}/ with one sub-folder per class"
            + other_name_hint(root, split)
        )
    classes = visible_class_names(folder)
    if len(classes) < 2:
        raise D2lkitError(
            f"{folder}: {len(classes)} class folder(s); a classifier needs at least two, each"
            " class's images in its own folder"
        )
    for name in classes if check_files else ():
        check_class_folder(folder / name)
    return classes


# Where other tools keep the split d2lkit calls test/ (Kaggle sets and Keras's examples: val/).
TEST_SPLIT_NAMES = ("val", "valid", "validation")


def other_name_hint(root: Path, split: str) -> str:
    """For a missing split, what the user may have meant: the folder above, when PATH is a split
    itself; for test/, a split under another name, and how to make it test/."""
    real = root.resolve()  # `imagefolder:.` run inside train/ names no folder
    looks_like_a_split = real.name in (*SPLITS, *TEST_SPLIT_NAMES)
    if looks_like_a_split and not any((root / name).is_dir() for name in SPLITS):
        return f" ({root} is a split itself: pass imagefolder:{real.parent})"
    if split != "test":
        return ""
    found = [root / name for name in TEST_SPLIT_NAMES if (root / name).is_dir()]
    if not found:
        return ""
    link = f"ln -s {shlex.quote(found[0].name)} {shlex.quote(str(root / split))}"
    return f" ({found[0]} is there: rename it test, or link it: {link})"


def check_class_folder(class_dir: Path) -> None:
    problems = class_folder_problems(class_dir, class_images(class_dir))
    if problems:
        raise D2lkitError(problems[0])


def class_folder_problems(class_dir: Path, images: list[Path]) -> list[str]:
    """What ImageFolder would trip over in one class folder (its `images`), a message each."""
    if not images and not os.access(class_dir, os.R_OK | os.X_OK):  # os.walk lists nothing
        return [f"{class_dir}: no permission to read this folder; check its permissions (chmod)"]
    if not images:
        return [
            f"{class_dir}: empty class folder (no {' '.join(IMAGE_SUFFIXES)} files);"
            " add images or remove the folder"
        ]
    problems = []
    for path in images:
        if (why := not_a_file(path)) is not None:
            problems.append(f"{path}: {why}; replace or delete it")
        elif path.stat().st_size == 0:
            problems.append(f"{path}: empty file (0 bytes); replace or delete it")
    return problems


def not_a_file(path: Path) -> str | None:
    """Why `path` is no file to decode, in words, or None when it is one: missing, a broken
    link, or a pipe, socket or device (decoding a pipe would wait for a writer forever)."""
    if not path.exists():
        if not path.is_symlink():
            return "no such file or folder"
        return "a link that leads round in a loop" if leads_round(path) else "a broken link"
    if not path.is_file():
        return "not a regular file (a pipe, socket or device)"
    return None


def training_transform(size: int, augment: bool) -> v2.Transform:
    """With `augment`, the book's fine-tuning augmentation: a random crop of 8-100 % of the area
    resized to size x size, a random flip, then ImageNet normalisation. Without, the test
    images' transform."""
    if not augment:
        return eval_transform(size)
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def eval_transform(size: int) -> v2.Transform:
    """Resize the short side to 256/224 of the crop, then take the centre crop (the book's
    256 -> 224), normalised. Takes what the image folders give it: an RGB PIL image (open one
    with `d2lkit.data.image_file.open_rgb`) or a uint8 (3, H, W) tensor."""
    return v2.Compose(
        [
            v2.Resize(round(size * 256 / 224), antialias=True),
            v2.CenterCrop(size),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


class CheckedLoader:
    """A DataLoader (for training, a resumable ShardedDataLoader) whose unreadable-image errors
    reach the user as the one line they are.

    An exception raised in a worker comes back with the worker's traceback folded into its
    message; this keeps only the d2lkit message at the end, and says how to find the other bad
    files of `root` at once.
    """

    def __init__(self, loader: DataLoader, root: Path) -> None:
        self.loader = loader
        self.dataset = loader.dataset
        self.root = root

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        try:
            yield from self.loader
        except D2lkitError as err:
            last = str(err).strip().splitlines()[-1]  # "module.ClassName: message" from a worker
            message = last.rsplit(f"{type(err).__name__}: ", 1)[-1]
            if isinstance(err, UnreadableImage):
                check = shlex.quote(f"imagefolder:{self.root}")
                message += f" (`d2lkit data check {check}` lists every such file)"
            raise D2lkitError(message) from None

    # A resumed run continues the training loader's order (ShardedDataLoader keeps it).
    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)


def sample_images(
    root: Path, split: str, count: int, seed: int = 0, size: int = 96
) -> tuple[torch.Tensor, list[str], int]:
    """`count` images of `split` drawn at random, so classes mix (`d2lkit data show`): images
    (N, 3, size, size) in [0, 1], their class names, and how many images the split holds. Only
    that split is read: a folder of test images alone can be looked at."""
    classes = check_tree(root, (split,))
    to_grid = v2.Compose(
        [v2.Resize(size, antialias=True), v2.CenterCrop(size), v2.ToImage(),
         v2.ToDtype(torch.float32, scale=True)]
    )  # fmt: skip
    folder = ClassFolders(root / split, to_grid)
    chosen = random_indices(len(folder), count, seed)
    images = torch.stack([folder[i][0] for i in chosen])
    return images, [classes[folder.targets[i]] for i in chosen], len(folder)


def random_subset(dataset: ImageFolder, count: int | None, seed: int) -> Dataset:
    """`count` images drawn at random (fixed by `seed`), or all of them."""
    check_subset("--train-subset", count, len(dataset), "training images in the folder")
    if count is None or count == len(dataset):
        return dataset
    return Subset(dataset, random_indices(len(dataset), count, seed))


@register_dataset("imagefolder", applies=("resize", "augment", "train_subset", "world_size"))
def imagefolder_dataset(argument: str | None, options: DataOptions) -> DataBundle:
    if argument is None:
        raise D2lkitError("imagefolder needs a folder: --dataset imagefolder:PATH")
    root = Path(argument)
    classes = check_tree(root, ("test",) if options.test_only else SPLITS)
    if options.known_classes is not None and set(classes) <= set(options.known_classes):
        classes = list(options.known_classes)  # a rare class may have no test images here
    size = options.resize or DEFAULT_SIZE
    test_set = ClassFolders(root / "test", eval_transform(size), classes)
    part = evaluation_slice(len(test_set), options.rank, options.world_size)
    test_part = Subset(test_set, range(part.start, part.stop))
    test = DataLoader(test_part, options.batch_size, **loader_settings(options))
    train, extra = (), {}  # eval and predict: no training batches, train/ never opened
    if not options.test_only:
        train, extra["train_images"] = training_loader(root, size, options)
    return DataBundle(
        train, CheckedLoader(test, root), num_classes=len(classes), in_channels=3,
        class_names=classes, task="classification", extra={**extra, "test_images": len(test_set)},
        normalization=(IMAGENET_MEAN, IMAGENET_STD),
    )  # fmt: skip


def loader_settings(options: DataOptions) -> dict:
    workers = default_workers()
    return dict(
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=options.device.startswith("cuda"),
    )


def training_loader(root: Path, size: int, options: DataOptions) -> tuple[CheckedLoader, int]:
    """The training batches of `root/train`, and how many images they draw from."""
    train_set = ClassFolders(root / "train", training_transform(size, options.augment))
    train_set = random_subset(train_set, options.train_subset, options.seed)
    # The sampler fixes the order (and, with several ranks, gives each its share of every global
    # batch) and each image's seed for its random transforms; the generator gives the workers'
    # base seed without a draw from the global RNG.
    train = ShardedDataLoader(
        train_set, options.batch_size, shuffle=True, seed=options.seed, rank=options.rank,
        world_size=options.world_size, generator=torch.Generator().manual_seed(options.seed),
        **loader_settings(options),
    )  # fmt: skip
    return CheckedLoader(train, root), len(train_set)
