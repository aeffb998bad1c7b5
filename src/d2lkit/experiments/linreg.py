"""The book's linear regression, judged by the weights it recovers: the data is made with
y = 2 x1 - 3.4 x2 + 4.2 (plus noise), so how far the learned w and b are from those is the figure.

Two versions: the concise one (3.3) is one run of the trainer, whose summary gets the learned
weights added; the from-scratch one (3.2) is the book's hand-written loop, run here in full.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from d2lkit.jsonfile import write_json_atomic


def parameter_error(w: list[float], b: float) -> float:
    """max |w - true_w|, |b - true_b| against the book's y = 2 x1 - 3.4 x2 + 4.2."""
    from d2lkit.data.synthetic import TRUE_B, TRUE_W

    errors = [abs(learned - true) for learned, true in zip(w, TRUE_W, strict=True)]
    return max(*errors, abs(b - TRUE_B))


def _record_weights(summary: dict, w: list[float], b: float) -> dict:
    from d2lkit.data.synthetic import TRUE_B, TRUE_W

    return {
        **summary,
        "w": w,
        "b": b,
        "true_w": list(TRUE_W),
        "true_b": TRUE_B,
        "param_error": parameter_error(w, b),
        "details": f"learned w = [{', '.join(f'{v:.4f}' for v in w)}], b = {b:.4f}",
    }


def record_learned_weights(out: Path, summary: dict) -> dict:
    """Add the learned w, b and their error to the summary.json of the linreg run in `out`."""
    from torch import nn

    from d2lkit.train.trained import load_trained

    trained, _ = load_trained(out)
    linear = next(m for m in trained.model.modules() if isinstance(m, nn.Linear))
    summary = _record_weights(
        summary, linear.weight.detach().flatten().tolist(), linear.bias.item()
    )
    write_json_atomic(out / "summary.json", summary)
    return summary


def run_linreg_scratch_experiment(
    out: Path, seed: int, epochs: int, batch_size: int, lr: float, num_examples: int
) -> dict:
    """w ~ N(0, 0.01^2), b = 0, minibatch SGD on the summed squared loss (the book's 3.2)."""
    from d2lkit.data.synthetic import synthetic_linear
    from d2lkit.report.curves import plot_curves
    from d2lkit.scratch.linreg import data_iter, linreg, sgd, squared_loss
    from d2lkit.train.callbacks import write_metrics

    X, y = synthetic_linear(num_examples, seed=seed)  # X (N, 2), y (N, 1)
    generator = torch.Generator().manual_seed(seed)
    w = torch.normal(0.0, 0.01, (X.shape[1], 1), generator=generator).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    history = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        for X_batch, y_batch in data_iter(batch_size, X, y, generator):
            squared_loss(linreg(X_batch, w, b), y_batch).sum().backward()
            sgd([w, b], lr, X_batch.shape[0])
        with torch.no_grad():
            loss = squared_loss(linreg(X, w, b), y).mean().item()
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "train_acc": None,
                "test_loss": None,  # the book's section holds no examples out
                "train_s": time.perf_counter() - epoch_start,
            }  # fmt: skip
        )
    wall_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(out / "metrics.jsonl", history)
    plot_curves(history, out / "curves.png", "linear regression from scratch")
    summary = {
        **history[-1],
        "model": "linreg (scratch)",
        "dataset": "synthetic-linear",
        "epochs": epochs,
        "wall_s": wall_s,
        "train_images_per_s": epochs * num_examples / wall_s,
        "device": "cpu",
        "precision": "fp32",
    }
    summary = _record_weights(summary, w.detach().flatten().tolist(), b.item())
    write_json_atomic(out / "summary.json", summary)
    return summary
