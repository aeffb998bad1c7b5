"""A finished (or half-finished) run rebuilt from its checkpoint, its weights loaded, for `d2lkit
eval` and `d2lkit predict`: on its own data, or on another dataset of the same kind and classes."""

from __future__ import annotations

from pathlib import Path

from d2lkit.data.datasets import PATH_DATASETS
from d2lkit.errors import D2lkitError
from d2lkit.train.config import TrainConfig
from d2lkit.train.run import Run, build_run, find_checkpoint, load_run_checkpoint


def load_trained(
    path: str | Path, dataset: str | None = None, data_dir: str | None = None
) -> tuple[Run, dict]:
    """Rebuild a saved run (model weights loaded, no training) for eval and predict. `dataset`
    and `data_dir` replace the run's own: its image folder moved, or another test folder with the
    same classes."""
    checkpoint_path = find_checkpoint(path)
    state = load_run_checkpoint(checkpoint_path)
    config = TrainConfig.from_dict(state["config"])
    config.init = None  # the weights come from the checkpoint
    if dataset is not None:
        config.dataset = same_kind_dataset(config.dataset, dataset)
    kind, _, data_path = config.dataset.partition(":")
    if dataset is None and kind in PATH_DATASETS and not Path(data_path).exists():
        raise D2lkitError(
            f"{data_path}: the run's {kind} data is no longer here; if it moved, pass"
            f" --dataset {kind}:NEW_PATH"
        )
    if data_dir is not None:
        config.data_dir = data_dir
    run = build_run(config, checkpoint_path.parent)
    check_same_classes(state, run.data.class_names, config.dataset)
    try:
        run.model.load_state_dict(state["model"])
    except RuntimeError as err:  # a checkpoint without class names, on data with more or fewer
        raise D2lkitError(
            f"{checkpoint_path}: its weights do not fit {config.model} built for {config.dataset}"
            f" ({str(err).splitlines()[-1].strip()[:120]}); pass data with the run's classes"
        ) from None
    return run, state


def same_kind_dataset(trained_on: str, replacement: str) -> str:
    """A run's model fits only data of the kind it trained on (fashion-mnist, imagefolder, ...)."""
    kind, new_kind = trained_on.partition(":")[0], replacement.partition(":")[0]
    if new_kind != kind:
        raise D2lkitError(
            f"the run trained on {trained_on}; --dataset {replacement} is another kind of data:"
            f" pass a {kind} dataset"
        )
    return replacement


def check_same_classes(state: dict, class_names: list[str], dataset: str) -> None:
    """The class names the checkpoint was trained with (absent in checkpoints from before they
    were kept) must be the data's, in the same order, or every prediction is mislabelled."""
    trained = state.get("class_names")
    if trained is not None and trained != class_names:
        raise D2lkitError(
            f"{dataset} has the classes {class_names}, the run trained on {trained}; pass data"
            " with the run's classes"
        )
