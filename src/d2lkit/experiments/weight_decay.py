"""The book's weight-decay experiment (3.12): high-dimensional linear regression on 20 training
rows, trained without and with the L2 penalty, which should shrink ||w|| and lower the test
loss."""

from __future__ import annotations

import time
from pathlib import Path

from d2lkit.jsonfile import write_json_atomic


def run_weight_decay_experiment(out: Path, seed: int, epochs: int, penalty: float) -> dict:
    """Train with lambda 0 and lambda `penalty`; write curves.png and summary.json into `out` and
    return the summary."""
    from d2lkit.report.weight_decay import plot_weight_decay
    from d2lkit.scratch.weight_decay import WeightDecaySettings, train_with_weight_decay

    settings = WeightDecaySettings(seed=seed, epochs=epochs)
    started = time.perf_counter()
    plain = train_with_weight_decay(0.0, settings)
    decayed = train_with_weight_decay(penalty, settings)
    wall_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    plot_weight_decay({"lambda 0": plain, f"lambda {penalty:g}": decayed}, out / "curves.png")
    summary = {
        "model": "linreg (scratch), 200 inputs",
        "dataset": f"synthetic, {settings.n_train} training rows",
        "epochs": settings.epochs,
        "wall_s": wall_s,
        "train_images_per_s": 2 * settings.epochs * settings.n_train / wall_s,
        "device": "cpu",
        "precision": "fp32",
        "penalty": penalty,
        "w_norm_plain": plain.w_norm,
        "w_norm_decay": decayed.w_norm,
        "test_loss_plain": plain.test_loss,
        "test_loss_decay": decayed.test_loss,
        "train_loss_plain": plain.train_loss,
        "train_loss_decay": decayed.train_loss,
        "w_norm_shrink": plain.w_norm / decayed.w_norm,
        "checks": {"test loss falls with the penalty": decayed.test_loss < plain.test_loss},
        "details": f"||w|| {plain.w_norm:.4g} -> {decayed.w_norm:.4g}, test loss"
        f" {plain.test_loss:.4g} -> {decayed.test_loss:.4g} with lambda {penalty:g}",
    }
    write_json_atomic(out / "summary.json", summary)
    return summary
