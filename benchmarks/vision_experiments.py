"""Run the computer-vision experiments with their CPU settings and print one table.

    python benchmarks/vision_experiments.py [--only fcn,finetune,augmentation] [--out DIR]

Each experiment writes its run directories under DIR (default runs/vision); finished runs are
reused, so a second call only prints. The settings live in d2lkit.experiments.settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from d2lkit.experiments import settings
from d2lkit.experiments.augmentation import run_augmentation_experiment
from d2lkit.experiments.common import train_once
from d2lkit.experiments.finetune import run_finetune_experiment

EXPERIMENTS = ("fcn", "finetune", "augmentation")


def run_fcn(out: Path) -> list[str]:
    config = dataclasses.replace(settings.FCN, progress=False)
    summary = train_once(config, out)
    return [
        f"fcn ({config.model}, {config.epochs} epochs): mIoU {summary['test_miou']:.4f},"
        f" pixel acc {summary['test_pixel_acc']:.4f}, training {summary['wall_s']:.0f} s"
        f" ({summary['train_images_per_s']:.0f} images/s), run {out}"
    ]


def run_finetune(out: Path) -> list[str]:
    config = dataclasses.replace(settings.FINETUNE, progress=False)
    summary = run_finetune_experiment(config, out, settings.FINETUNE_OPTIONS)
    return [
        f"finetune ({config.model}): fine-tuned {summary['finetune_acc']:.4f} vs scratch"
        f" {summary['scratch_acc']:.4f} (gain {summary['gain']:+.4f}); pretrain acc"
        f" {summary['pretrain_acc']:.4f}; {summary['wall_s']:.0f} s in all, runs under {out}"
    ]


def run_augmentation(out: Path) -> list[str]:
    config = dataclasses.replace(settings.AUGMENTATION, progress=False)
    summary = run_augmentation_experiment(config, out)
    return [
        f"augmentation ({config.model}, {config.epochs} epochs): with {summary['test_acc']:.4f}"
        f" vs without {summary['plain_test_acc']:.4f} (gain {summary['gain']:+.4f}); train-test"
        f" gap {summary['generalisation_gap']:.4f} vs {summary['plain_generalisation_gap']:.4f};"
        f" {summary['wall_s']:.0f} s, runs under {out}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(EXPERIMENTS))
    parser.add_argument("--out", default="runs/vision")
    args = parser.parse_args()
    runners = {"fcn": run_fcn, "finetune": run_finetune, "augmentation": run_augmentation}
    lines = []
    for name in args.only.split(","):
        if name not in runners:
            parser.error(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
        start = time.perf_counter()
        lines += runners[name](Path(args.out) / name)
        lines.append(f"  ({name}: {time.perf_counter() - start:.0f} s wall for this call)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
