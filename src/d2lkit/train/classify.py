"""`d2lkit classify`: a classifier trained on an image folder, run on new photos that have no
labels, such as next week's pictures to sort.

Everything it needs is in the checkpoint (the weights, the class names, the input size), so the
folder it trained on need not be there. Each photo goes through the run's test transform
(resize, centre crop, ImageNet normalisation), as its test images did.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from d2lkit.data.image_file import open_rgb
from d2lkit.data.imagefolder import (
    DEFAULT_SIZE,
    IMAGE_SUFFIXES,
    default_workers,
    eval_transform,
    files_under,
    is_image,
    kind_of,
    not_a_file,
)
from d2lkit.errors import D2lkitError
from d2lkit.models.registry import create_model
from d2lkit.train.config import TrainConfig
from d2lkit.train.environment import resolve_device, resolve_precision
from d2lkit.train.resume import find_checkpoint, load_run_checkpoint
from d2lkit.train.trained import runnable_here


@dataclass
class Classifier:
    """A trained image-folder classifier, ready for photos of any size."""

    model: nn.Module  # in eval mode, on `device`
    class_names: list[str]
    size: int  # the side of the square crop it was trained on
    device: torch.device
    precision: str  # fp32 or bf16
    description: str  # "resnet18 (epoch 5)"


def load_classifier(run: str | Path) -> Classifier:
    """The model of `run` (a run directory or checkpoint file) from its checkpoint alone."""
    checkpoint_path = find_checkpoint(run)
    state = load_run_checkpoint(checkpoint_path)
    config = TrainConfig.from_dict(state["config"])  # its data need not be here any more
    if config.dataset.partition(":")[0] != "imagefolder":
        raise D2lkitError(
            f"{checkpoint_path}: trained on {config.dataset}; `d2lkit classify` runs a classifier"
            " trained on an image folder (imagefolder:PATH) on new photos (`d2lkit predict` shows"
            " a run's own test images)"
        )
    names = state.get("class_names")
    if not isinstance(names, list) or not names:
        raise D2lkitError(
            f"{checkpoint_path}: holds no class names (written by an older d2lkit); train it again"
        )
    config = runnable_here(config)
    device = resolve_device(config.device)
    model = create_model(config.model, num_classes=len(names), in_channels=3)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise D2lkitError(
            f"{checkpoint_path}: its weights do not fit {config.model} with {len(names)} classes"
            f" ({textwrap.shorten(str(err).splitlines()[-1], 120)}); train it again"
        ) from None
    model.to(device).eval()
    precision = resolve_precision(config.precision, device, config.model)
    description = f"{config.model} (epoch {state['epoch']})"
    return Classifier(model, names, config.resize or DEFAULT_SIZE, device, precision, description)


@dataclass
class PhotoList:
    """The photos a command line names, each real file once, and what was left out."""

    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # broken links and pipes in the folders
    other_kinds: Counter[str] = field(default_factory=Counter)  # files of other suffixes
    repeated: int = 0  # files named twice (a folder and a file in it): classified once


def image_files(paths: list[str]) -> PhotoList:
    """The photos `paths` name: a file as it is (any suffix: it was asked for), a folder's
    images at every depth in name order, hidden names (.ipynb_checkpoints/) left out."""
    photos, seen = PhotoList(), set()
    for given in paths:
        path = Path(os.path.expanduser(given))
        if path.is_dir():
            problems_before = len(photos.problems)
            found = folder_photos(path, photos)
            if not found and len(photos.problems) == problems_before:
                raise D2lkitError(
                    f"{given}: no images in this folder (none of {' '.join(IMAGE_SUFFIXES)});"
                    " pass image files or folders of them"
                )
        elif (why := not_a_file(path)) is None:
            found = [path]
        else:
            raise D2lkitError(f"{given}: {why}; pass image files or folders of them")
        for file in found:
            real = file.resolve()
            photos.repeated += real in seen
            if real not in seen:
                seen.add(real)
                photos.files.append(file)
    return photos


def folder_photos(folder: Path, photos: PhotoList) -> list[Path]:
    """The images under `folder` in name order, each real sub-folder read once; its broken links
    and pipes go to `photos.problems`, other files to `photos.other_kinds`."""
    images = []
    for path in files_under(folder, follow=lambda real: True):
        if not is_image(path):
            photos.other_kinds[kind_of(path)] += 1
        elif (why := not_a_file(path)) is None:
            images.append(path)
        else:
            photos.problems.append(f"{path}: {why}; replace or delete it")
    return sorted(images)


class Photos(Dataset):
    """Item i: photo i as the model's input (3, size, size) and "", or zeros and why it cannot
    be read. Decoding is the work, so it runs in the loader's worker processes."""

    def __init__(self, files: list[Path], size: int) -> None:
        self.files, self.size = files, size
        self.transform = eval_transform(size)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        try:
            return self.transform(open_rgb(self.files[index])), ""
        except D2lkitError as err:
            return torch.zeros(3, self.size, self.size), str(err)


@dataclass
class Classified:
    """What became of the photos: each readable one's class probabilities, and the others."""

    files: list[Path]  # the photos read, in the order given
    probabilities: torch.Tensor  # (len(files), classes), each row summing to 1
    unreadable: list[str]  # one message per photo that could not be read


@torch.no_grad()
def classify_files(
    classifier: Classifier, files: list[Path], batch_size: int = 64, progress: bool = True
) -> Classified:
    """Every photo of `files` through `classifier`, `batch_size` at a time."""
    # Worker processes take a second to start: worth it for more than a few batches only.
    workers = default_workers() if len(files) > 4 * batch_size else 0
    loader = DataLoader(Photos(files, classifier.size), batch_size, num_workers=workers)
    read, rows, unreadable = [], [], []
    disable = None if progress else True  # None: a bar on a terminal only
    bar = tqdm(total=len(files), desc="classifying", unit="image", leave=False, disable=disable)
    with bar:
        start = 0
        for X, errors in loader:  # X: (B, 3, size, size)
            ok = torch.tensor([not error for error in errors])
            batch_files = files[start : start + len(errors)]
            start += len(errors)
            unreadable += [error for error in errors if error]
            if ok.any():
                rows.append(predict_probabilities(classifier, X[ok]))
                read += [path for path, fine in zip(batch_files, ok.tolist(), strict=True) if fine]
            bar.update(len(errors))
    empty = torch.zeros(0, len(classifier.class_names))
    return Classified(read, torch.cat(rows) if rows else empty, unreadable)


def predict_probabilities(classifier: Classifier, X: torch.Tensor) -> torch.Tensor:
    """The softmax of the model's scores for X (B, 3, size, size): (B, classes), float32 on the
    CPU."""
    X = X.to(classifier.device).contiguous(memory_format=torch.channels_last)
    bf16 = classifier.precision == "bf16"
    with torch.autocast(classifier.device.type, dtype=torch.bfloat16, enabled=bf16):
        scores = classifier.model(X)
    return scores.float().softmax(dim=1).cpu()
