"""A saved run's settings, made to work where and when it is opened again (eval, predict,
--resume): its data may have moved, its --init file may be gone, the machine may differ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from d2lkit.data.datasets import PATH_DATASETS
from d2lkit.errors import D2lkitError
from d2lkit.text import composed
from d2lkit.train.config import TrainConfig


@dataclass(frozen=True)
class Reopen:
    """What the user changes on reopening a run; None keeps the run's own."""

    dataset: str | None = None  # the same kind of data, with the same classes
    data_dir: str | None = None
    device: str | None = None
    precision: str | None = None
    progress: bool | None = None  # a display choice of this session, not a setting of the run


UNCHANGED = Reopen()


def saved_config(state: dict, changes: Reopen = UNCHANGED) -> TrainConfig:
    config = TrainConfig.from_dict(state["config"])
    config.init = None  # the checkpoint holds the weights; the --init file may be gone
    if changes.dataset is not None:
        config.dataset = same_kind_dataset(config.dataset, changes.dataset)
    kind, _, data_path = config.dataset.partition(":")
    if changes.dataset is None and kind in PATH_DATASETS and not Path(data_path).exists():
        raise D2lkitError(
            f"{data_path}: the run's {kind} data is no longer here; if it moved, pass"
            f" --dataset {kind}:NEW_PATH"
        )
    if changes.data_dir is not None:
        config.data_dir = changes.data_dir
    elif config.data_dir is not None and not Path(config.data_dir).is_dir():
        # Fashion-MNIST's files are checked against their SHA-256: any copy found is the same.
        config.data_dir = None
    if changes.device is not None:
        config.device = changes.device
    if changes.precision is not None:
        config.precision = changes.precision
    if changes.progress is not None:
        config.progress = changes.progress
    return config


def same_kind_dataset(trained_on: str, replacement: str) -> str:
    """A run's model fits only data of the kind it trained on (fashion-mnist, imagefolder, ...)."""
    kind, new_kind = trained_on.partition(":")[0], replacement.partition(":")[0]
    if new_kind != kind:
        raise D2lkitError(
            f"the run trained on {trained_on}; --dataset {replacement} is another kind of data:"
            f" pass {kind} data"
        )
    return replacement


def check_same_classes(state: dict, class_names: list[str], dataset: str) -> None:
    """The class names the checkpoint was trained with (absent in checkpoints from before they
    were kept) must be the data's, in the same order, or every prediction is mislabelled."""
    trained = state.get("class_names")
    if trained is not None and trained != class_names:
        if composed(trained) == composed(class_names):  # the same names on screen, not in bytes
            raise D2lkitError(
                f"{dataset} spells its classes {ascii(class_names)}, the run {ascii(trained)}:"
                " the same names in two Unicode forms (macOS writes names decomposed, NFD);"
                " rename the folders as the run spells them"
            )
        raise D2lkitError(
            f"{dataset} has the classes {class_names}, the run trained on {trained}; pass data"
            " with the run's classes"
        )
