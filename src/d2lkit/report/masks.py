"""The book's segmentation "predict" figure: image, true mask and predicted mask, side by side,
the masks drawn in the VOC palette for VOC, in clearly different colours for other data; and
`data show`'s image and label pairs in the same colours."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from d2lkit.data.voc import VOC_CLASSES, VOC_COLORMAP, labels_to_colors
from d2lkit.report import grids
from d2lkit.report.examples import examples_to_show, to_display
from d2lkit.train.segmentation import confusion_matrix, scores_from_confusion

if TYPE_CHECKING:  # for annotations only: importing it here would be circular
    from d2lkit.data.datasets import DataBundle
    from d2lkit.train.run import Run

TRIPLETS_PER_ROW = 3


@torch.no_grad()
def save_mask_predictions(run: Run, out: str | Path, count: int, seed: int = 0) -> Path:
    """`count` test images drawn at random (fixed by `seed`), each followed by its true and its
    predicted mask, with the image's own mIoU in the title."""
    trainer = run.trainer
    trainer.model.eval()
    X, y, indices = examples_to_show(run.data, count, seed)
    X, y = trainer.prepare(X, y)
    with trainer.autocast():
        predicted = trainer.model(X).argmax(dim=1)  # (B, H, W)
    images = to_display(X, run.data).expand(-1, 3, -1, -1)  # gray beside the RGB masks
    colormap = mask_colormap(run.data.class_names)
    true_masks = labels_to_colors(y.cpu(), colormap).float() / 255  # (B, 3, H, W)
    predicted_masks = labels_to_colors(predicted.cpu(), colormap).float() / 255
    cells, titles = [], []
    for i in range(X.shape[0]):
        confusion = confusion_matrix(predicted[i], y[i], run.data.num_classes)
        miou = scores_from_confusion(confusion)["miou"]
        cells += [images[i], true_masks[i], predicted_masks[i]]
        titles += [f"test image {indices[i]}", "true mask", f"predicted\nmIoU {miou:.2f}"]
    shown = torch.cat([y.flatten(), predicted.flatten()]).unique().tolist()
    return grids.save_image_grid(
        torch.stack(cells), titles, out, ncols=3 * TRIPLETS_PER_ROW,
        legend=legend(run.data.class_names, shown, colormap),
    )  # fmt: skip


def save_labelled_masks(
    images: torch.Tensor, labels: torch.Tensor, data: DataBundle, out: str | Path, heading: str
) -> Path:
    """A segmentation set's samples as `data show` draws them: each image (B, C, H, W), as the
    model gets it, followed by its label mask (B, H, W) in the colours predict uses."""
    shown_images = to_display(images, data).expand(-1, 3, -1, -1)
    colormap = mask_colormap(data.class_names)
    masks = labels_to_colors(labels, colormap).float() / 255  # (B, 3, H, W)
    cells, titles = [], []
    for i in range(images.shape[0]):
        cells += [shown_images[i], masks[i]]
        titles += [f"image {i}", "its labels"]
    shown = labels.unique().tolist()
    return grids.save_image_grid(
        torch.stack(cells), titles, out, ncols=2 * TRIPLETS_PER_ROW,
        legend=legend(data.class_names, shown, colormap), heading=heading,
    )  # fmt: skip


def mask_colormap(class_names: list[str]) -> list[tuple[int, int, int]]:
    """VOC's own palette for VOC; for other data, black background and matplotlib's tab10 (tab20
    beyond ten classes): the first VOC colours are shades of red, green and near-black, in which
    fashion-scenes' sneaker vanished against the background and t-shirt, sneaker and bag looked
    alike."""
    if tuple(class_names) == VOC_CLASSES:
        return list(VOC_COLORMAP)
    from matplotlib import colormaps

    table = colormaps["tab10" if len(class_names) <= 11 else "tab20"]
    colors = [table(i % table.N)[:3] for i in range(len(class_names) - 1)]
    return [(0, 0, 0)] + [tuple(round(255 * c) for c in color) for color in colors]


def legend(
    names: list[str], classes: list[int], colormap: list[tuple[int, int, int]]
) -> dict[str, tuple[float, float, float]]:
    """Class name -> its mask colour, for the classes that appear in the figure."""
    colors = labels_to_colors(torch.tensor(classes)[:, None, None], colormap)[:, :, 0, 0]
    colors = colors.float() / 255
    return {
        names[c] if c < len(names) else "ignored": tuple(color.tolist())
        for c, color in zip(classes, colors, strict=True)
    }
