"""Dataset names -> train and test loaders (DESIGN.md §2 names: `fashion-mnist`,
`imagefolder:PATH`, `voc:PATH`, `fashion-scenes`, `synthetic-linear`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from d2lkit.data import fashion_mnist
from d2lkit.data.loader import BatchAugment, TensorLoader
from d2lkit.data.sharding import evaluation_slice
from d2lkit.data.synthetic import synthetic_linear
from d2lkit.errors import D2lkitError


@dataclass(frozen=True)
class DataOptions:
    """What the trainer asks of a dataset; each builder uses the fields that apply to it."""

    batch_size: int = 256
    data_dir: str | None = None
    resize: int | None = None
    augment: bool = False
    seed: int = 0
    device: str = "cpu"
    # Data-parallel training: this process's rank among world_size; batch_size is then per
    # rank, and each rank tests on its part of the test set.
    rank: int = 0
    world_size: int = 1
    train_subset: int | None = None  # keep only the first N training samples (smoke runs)
    test_subset: int | None = None  # keep only the first N test samples (smoke runs)
    classes: tuple[int, ...] | None = None  # keep only these classes, relabelled 0..k-1
    train_per_class: int | None = None  # keep only the first N training images of each class
    # eval and predict read the test split only: a builder may then skip the training split (an
    # image folder of new test images needs no train/).
    test_only: bool = False
    # eval and predict of a trained run: the classes it knows, in its order; an image folder's
    # test split may then hold some of them only (a rare class without test images).
    known_classes: tuple[str, ...] | None = None


@dataclass
class DataBundle:
    train: Iterable  # yields (inputs, targets) batches; has __len__
    test: Iterable
    num_classes: int
    in_channels: int
    class_names: list[str]
    task: str = "classification"  # or "segmentation", "regression"
    extra: dict = field(default_factory=dict)  # facts worth a line in summary.json (counts)
    # (mean, std) per channel the inputs were normalised with; figures undo it to show them.
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None


def check_subset(flag: str, count: int | None, available: int, what: str) -> None:
    """A --train-subset or --test-subset beyond the data would be recorded (config.json, the
    headline, eval's line) as a size the run never had."""
    if count is not None and count > available:
        raise D2lkitError(
            f"{flag} {count} is more than the {available} {what}; pass at most {available}, or"
            " leave it out"
        )


def random_indices(length: int, count: int, seed: int) -> list[int]:
    """`count` distinct indices of range(length), drawn at random and fixed by `seed`: folders
    list one class after another, so their first `count` items would be one class only."""
    return torch.randperm(length, generator=torch.Generator().manual_seed(seed))[:count].tolist()


# The datasets whose argument is a folder (`imagefolder:PATH`); fashion-scenes:N takes a count,
# and these none at all.
PATH_DATASETS = ("imagefolder", "voc")
ARGUMENT_FREE = ("fashion-mnist", "synthetic-linear")

# A segmentation label that counts nowhere, in the loss or the metrics: VOC's object borders.
IGNORE_INDEX = 255

DatasetBuilder = Callable[[str | None, DataOptions], DataBundle]
_BUILDERS: dict[str, tuple[DatasetBuilder, tuple[str, ...]]] = {}

# The DataOptions a dataset may have no use for, in the user's words. Each builder names those it
# applies; build_dataset refuses any other that was set, so that a flag is never silently ignored
# (an image folder given --train-subset would otherwise train on every image).
OPTIONAL_OPTIONS = {
    "data_dir": "--data-dir",
    "resize": "--resize",
    "augment": "--augment",
    "train_subset": "--train-subset",
    "test_subset": "--test-subset",
    "classes": "a class selection (classes)",
    "train_per_class": "a per-class limit (train_per_class)",
    "world_size": "data-parallel training (torchrun)",
}


def register_dataset(
    name: str, applies: tuple[str, ...]
) -> Callable[[DatasetBuilder], DatasetBuilder]:
    """`applies`: the OPTIONAL_OPTIONS the builder acts on."""
    unknown = set(applies) - set(OPTIONAL_OPTIONS)
    if unknown:
        raise ValueError(f"{name}: unknown options {sorted(unknown)}")

    def decorate(builder: DatasetBuilder) -> DatasetBuilder:
        _BUILDERS[name] = (builder, applies)
        return builder

    return decorate


def refuse_unused(name: str, applies: tuple[str, ...], options: DataOptions) -> None:
    defaults = DataOptions()
    for option, words in OPTIONAL_OPTIONS.items():
        if option not in applies and getattr(options, option) != getattr(defaults, option):
            remedy = "run it as one process" if option == "world_size" else "drop it"
            raise D2lkitError(f"the {name} dataset does not apply {words}; {remedy}")


def _load_sources() -> None:
    # Importing a source module registers its datasets; they import this module, so not at the top.
    from d2lkit.data import imagefolder, scenes, voc  # noqa: F401


def dataset_names() -> list[str]:
    _load_sources()
    return sorted(_BUILDERS)


def takes_option(spec: str, option: str) -> bool:
    """Whether the dataset `spec` (a name or name:ARGUMENT) applies `option` of OPTIONAL_OPTIONS;
    e.g. `reproduce --data-dir` reaches the recipes on Fashion-MNIST, not synthetic-linear's."""
    _load_sources()
    entry = _BUILDERS.get(spec.partition(":")[0])
    return entry is not None and option in entry[1]


def build_dataset(spec: str, options: DataOptions) -> DataBundle:
    """`spec` is a name or `name:ARGUMENT` (e.g. `imagefolder:/data/hotdog`)."""
    _load_sources()
    name, _, argument = spec.partition(":")
    if name not in _BUILDERS:
        known = ", ".join(n + (":PATH" if n in PATH_DATASETS else "") for n in dataset_names())
        raise D2lkitError(f"unknown dataset {spec!r}; known: {known}")
    builder, applies = _BUILDERS[name]
    if argument and name in ARGUMENT_FREE:
        raise D2lkitError(f"{name} takes no argument: pass --dataset {name}, not {spec!r}")
    refuse_unused(name, applies, options)
    if argument and name in PATH_DATASETS:
        argument = expand_user(argument)
    return builder(argument or None, options)


def expand_user(path: str) -> str:
    """`~/photos` as the home folder's: the shell leaves a `~` after `imagefolder:` as it is."""
    return os.path.expanduser(path)


def select_classes(
    images: torch.Tensor, labels: torch.Tensor, classes: tuple[int, ...], per_class: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep `classes` (relabelled 0..k-1 in the given order), at most `per_class` of each."""
    present = int(labels.max()) + 1
    outside = [c for c in classes if not 0 <= c < present]
    if outside or len(set(classes)) < len(classes):  # settings from a recipe or a saved run
        raise D2lkitError(
            f"classes {list(classes)}: each must be one of 0..{present - 1}, named once"
        )
    keep = []
    for old_label in classes:
        index = (labels == old_label).nonzero().flatten()
        keep.append(index[:per_class] if per_class else index)
    index = torch.cat(keep).sort().values
    remap = torch.full((int(labels.max()) + 1,), -1, dtype=torch.long)
    remap[list(classes)] = torch.arange(len(classes))
    return images[index], remap[labels[index]]


def fashion_augment(enabled: bool) -> BatchAugment | None:
    if not enabled:
        return None
    from d2lkit.data.augment import crop_flip  # the batched augmentations

    return crop_flip


@register_dataset("fashion-mnist", applies=tuple(OPTIONAL_OPTIONS))
def fashion_mnist_dataset(argument: str | None, options: DataOptions) -> DataBundle:
    data = fashion_mnist.load(options.data_dir)
    train_x, train_y = data.train.images, data.train.labels
    test_x, test_y = data.test.images, data.test.labels
    names = list(data.classes)
    if options.classes is not None:
        train_x, train_y = select_classes(
            train_x, train_y, options.classes, options.train_per_class
        )
        test_x, test_y = select_classes(test_x, test_y, options.classes, None)
        names = [names[c] for c in options.classes]
    elif options.train_per_class is not None:
        all_classes = tuple(range(len(names)))
        train_x, train_y = select_classes(train_x, train_y, all_classes, options.train_per_class)
    check_subset("--train-subset", options.train_subset, len(train_x), "training images")
    check_subset("--test-subset", options.test_subset, len(test_x), "test images")
    if options.train_subset is not None:
        train_x, train_y = train_x[: options.train_subset], train_y[: options.train_subset]
    if options.test_subset is not None:  # Fashion-MNIST's test set is in shuffled class order
        test_x, test_y = test_x[: options.test_subset], test_y[: options.test_subset]
    common = dict(resize=options.resize, device=options.device)
    train = TensorLoader(
        train_x, train_y, options.batch_size, shuffle=True, seed=options.seed,
        augment=fashion_augment(options.augment), rank=options.rank,
        world_size=options.world_size, **common,
    )  # fmt: skip
    part = evaluation_slice(len(test_x), options.rank, options.world_size)
    test = TensorLoader(test_x[part], test_y[part], 4 * options.batch_size, **common)
    # Which copy was read: --data-dir, $D2LKIT_DATA, the cache and the system copy are searched
    # in turn, and an empty --data-dir falls through to the next.
    extra = {"data_source": str(data.root.resolve())}
    return DataBundle(
        train, test, num_classes=len(names), in_channels=1, class_names=names, extra=extra
    )


@register_dataset("synthetic-linear", applies=("world_size",))
def synthetic_linear_dataset(argument: str | None, options: DataOptions) -> DataBundle:
    """The book's 1000 training examples (plus 1000 held out) of y = 2 x1 - 3.4 x2 + 4.2."""
    X, y = synthetic_linear(2000, seed=options.seed)
    train = TensorLoader(
        X[:1000], y[:1000], options.batch_size, shuffle=True, seed=options.seed,
        scale=1.0, device=options.device, rank=options.rank, world_size=options.world_size,
    )  # fmt: skip
    part = evaluation_slice(1000, options.rank, options.world_size)
    test = TensorLoader(X[1000:][part], y[1000:][part], 1000, scale=1.0, device=options.device)
    return DataBundle(train, test, num_classes=1, in_channels=2, class_names=[], task="regression")
