"""The book's segmentation "predict" figure: image, true mask and predicted mask, side by side,
the masks drawn in the VOC palette."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from d2lkit.data.voc import labels_to_colors
from d2lkit.report.examples import examples_to_show, to_display
from d2lkit.report.grids import save_image_grid
from d2lkit.train.segmentation import confusion_matrix, scores_from_confusion

if TYPE_CHECKING:  # for annotations only: importing it here would be circular
    from d2lkit.train.run import Run

TRIPLETS_PER_ROW = 3


@torch.no_grad()
def save_mask_predictions(run: Run, out: str | Path, count: int) -> Path:
    """`count` test images, each followed by its true and its predicted mask, with the image's
    own mIoU in the title."""
    trainer = run.trainer
    trainer.model.eval()
    X, y = trainer.prepare(*examples_to_show(run.data, count))
    with trainer.autocast():
        predicted = trainer.model(X).argmax(dim=1)  # (B, H, W)
    images = to_display(X, run.data).expand(-1, 3, -1, -1)  # gray beside the RGB masks
    true_masks = labels_to_colors(y.cpu()).float() / 255  # (B, 3, H, W)
    predicted_masks = labels_to_colors(predicted.cpu()).float() / 255
    cells, titles = [], []
    for i in range(X.shape[0]):
        confusion = confusion_matrix(predicted[i], y[i], run.data.num_classes)
        miou = scores_from_confusion(confusion)["miou"]
        cells += [images[i], true_masks[i], predicted_masks[i]]
        titles += [f"test image {i}", "true mask", f"predicted\nmIoU {miou:.2f}"]
    shown = torch.cat([y.flatten(), predicted.flatten()]).unique().tolist()
    return save_image_grid(
        torch.stack(cells), titles, out, ncols=3 * TRIPLETS_PER_ROW, legend=legend(run, shown)
    )


def legend(run: Run, classes: list[int]) -> dict[str, tuple[float, float, float]]:
    """Class name -> its VOC palette colour, for the classes that appear in the figure."""
    names = run.data.class_names
    colors = labels_to_colors(torch.tensor(classes)[:, None, None])[:, :, 0, 0].float() / 255
    return {
        names[c] if c < len(names) else "ignored": tuple(color.tolist())
        for c, color in zip(classes, colors, strict=True)
    }
