"""The book's "predict" section: test images with their true and predicted labels (masks for
segmentation runs, see masks.py; predicted against true targets for regression, scatter.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from d2lkit.report.examples import examples_to_show, to_display
from d2lkit.report.grids import save_image_grid

if TYPE_CHECKING:  # for annotations only: importing it here would be circular
    from d2lkit.train.run import Run


@torch.no_grad()
def save_predictions(run: Run, out: str | Path, count: int, seed: int = 0) -> Path:
    """`count` test examples drawn at random (fixed by `seed`) and what the model makes of them."""
    if run.data.task == "segmentation":
        from d2lkit.report.masks import save_mask_predictions

        return save_mask_predictions(run, out, count, seed)
    trainer = run.trainer
    trainer.model.eval()
    X, y, _ = examples_to_show(run.data, count, seed)
    X, y = trainer.prepare(X, y)
    with trainer.autocast():
        scores = trainer.model(X)
    if run.data.task == "regression":
        from d2lkit.report.scatter import save_regression_scatter

        rmse = float((scores.flatten().float() - y.flatten().float()).pow(2).mean().sqrt())
        # The RMSE of the examples drawn; the run's own figure is over its whole test set.
        title = f"{run.config.model}: {len(y)} test examples drawn, their RMSE {rmse:.4g}"
        return save_regression_scatter(y, scores, title, out)
    predicted = scores.argmax(dim=1)
    names = run.data.class_names
    pairs = list(zip(y.tolist(), predicted.tolist(), strict=True))
    titles = [f"{names[t]}\n{names[p]}" for t, p in pairs]
    colors = ["black" if t == p else "red" for t, p in pairs]
    right = sum(t == p for t, p in pairs)
    heading = (
        f"{run.config.model}: true label above predicted, red where they differ;"
        f" {right} of {len(pairs)} right"
    )
    return save_image_grid(
        to_display(X, run.data), titles, out, ncols=9, title_colors=colors, heading=heading
    )
