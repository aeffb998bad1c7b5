"""The book's optimiser comparison: the same network and data trained once per optimiser, each
with its own learning rate; the worst one's test accuracy is the figure the recipe checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from d2lkit.experiments.common import run_facts
from d2lkit.jsonfile import write_json_atomic
from d2lkit.train.config import TrainConfig
from d2lkit.train.rerun import train_or_reuse


def run_optimizers_experiment(
    config: TrainConfig, out: Path, optimizers: Sequence[tuple[str, float]]
) -> dict:
    """One run directory per (name, lr) of `optimizers` under `out`; a finished one is kept on a
    rerun. Writes and returns out/summary.json."""
    from d2lkit.report.optimizers import plot_optimizers  # matplotlib only when it runs
    from d2lkit.train.callbacks import read_metrics

    per_optimizer, histories, summaries = {}, {}, []
    for name, lr in optimizers:
        sub_out = out / name
        run_config = dataclasses.replace(config, optimizer=name, lr=float(lr))
        summary = train_or_reuse(run_config, sub_out)
        summaries.append(summary)
        histories[name] = read_metrics(sub_out / "metrics.jsonl")
        per_optimizer[name] = {
            key: summary[key] for key in ("test_acc", "train_loss", "wall_s", "train_images_per_s")
        } | {"lr": lr}
    plot_optimizers(histories, out / "curves.png")
    worst = min(per_optimizer, key=lambda n: per_optimizer[n]["test_acc"])
    summary = {
        "model": config.model,
        "dataset": config.dataset,
        "epochs": config.epochs,
        **run_facts(*summaries),
        "optimizers": per_optimizer,
        "min_test_acc": per_optimizer[worst]["test_acc"],
        "worst_optimizer": worst,
        "details": "test accuracy "
        + ", ".join(f"{name} {r['test_acc']:.4f}" for name, r in per_optimizer.items()),
    }
    write_json_atomic(out / "summary.json", summary)
    return summary
