"""Labelled image grids (the book's `show_images`), drawn headless with matplotlib."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from d2lkit.report.figures import save_figure, subplots


def save_image_grid(
    images: torch.Tensor,
    titles: list[str],
    out: str | Path,
    ncols: int = 8,
    scale: float = 1.6,
    title_colors: list[str] | None = None,
    legend: dict[str, tuple[float, float, float]] | None = None,
    heading: str | None = None,
) -> Path:
    """Save images (N, H, W) or (N, C, H, W) in [0, 1] or uint8 as a grid with one title each;
    `legend` maps names to RGB colours in [0, 1] (e.g. the classes of segmentation masks);
    `heading` is one line above the grid that says how to read it."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        images = images.float() / 255
    if images.dim() == 4:
        images = images.permute(0, 2, 3, 1)  # (N, H, W, C) for imshow
        if images.shape[-1] == 1:
            images = images[..., 0]
    n = images.shape[0]
    nrows = (n + ncols - 1) // ncols
    # Room at the bottom for the legend's rows, if any (about a quarter inch each).
    legend_inches = 0.25 * ((len(legend) + 5) // 6) + 0.15 if legend else 0.0
    height = nrows * scale * 1.35 + legend_inches
    fig, axes = subplots(nrows, ncols, figsize=(ncols * scale, height), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].clamp(0, 1).numpy(), cmap="gray" if images[i].dim() == 2 else None)
            color = title_colors[i] if title_colors else "black"
            ax.set_title(titles[i], fontsize=8, color=color)
    if heading:
        # Wrapped to the figure's width (a 9-point character is about 1/14 inch): a grid of
        # four columns is 6.4 inches wide, and one line ran past both of its edges.
        lines = textwrap.fill(heading, width=int(ncols * scale * 14), break_on_hyphens=False)
        fig.suptitle(lines, fontsize=9)
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=color, label=name) for name, color in legend.items()]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=8)
    return save_figure(fig, out, layout_rect=(0, legend_inches / height, 1, 1))
