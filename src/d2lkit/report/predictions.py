"""The book's "predict" section: test images with their true and predicted labels (masks for
segmentation runs, see masks.py; predicted against true targets for regression, scatter.py)."""

from __future__ import annotations

from pathlib import Path

import torch

from d2lkit.report.grids import save_image_grid


def to_display(images: torch.Tensor) -> torch.Tensor:
    """Stretch each normalised image (B, C, H, W) back to [0, 1] for display."""
    flat = images.flatten(1)
    low, high = flat.min(1).values, flat.max(1).values
    return ((flat - low[:, None]) / (high - low).clamp_min(1e-8)[:, None]).reshape(images.shape)


@torch.no_grad()
def save_predictions(run, out: str | Path, count: int) -> Path:
    if run.data.task == "segmentation":
        from d2lkit.report.masks import save_mask_predictions

        return save_mask_predictions(run, out, count)
    trainer = run.trainer
    trainer.model.eval()
    X, y = next(iter(run.data.test))
    X, y = trainer.prepare(X[:count], y[:count])
    with trainer.autocast():
        scores = trainer.model(X)
    if run.data.task == "regression":
        from d2lkit.report.scatter import save_regression_scatter

        rmse = float((scores.flatten().float() - y.flatten().float()).pow(2).mean().sqrt())
        title = f"{run.config.model}: {len(y)} test examples, RMSE {rmse:.4g}"
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
        to_display(X.float()), titles, out, ncols=9, title_colors=colors, heading=heading
    )
