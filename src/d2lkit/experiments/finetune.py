"""The book's fine-tuning experiment, with no download: transfer between Fashion-MNIST halves.

The book fine-tunes an ImageNet ResNet-18 on 2000 hotdog pictures and compares it with the same
network trained from scratch. Here the "large source dataset" is Fashion-MNIST classes 0-4
(t-shirt .. coat, 30000 images) and the small target task is classes 5-9 (sandal .. ankle boot)
with only 100 training images per class:

1. pretrain: the network on the source classes;
2. finetune: the same network started from the pretrained body with a fresh classifier
   (`--init`), the classifier at `head_lr_mult` times the learning rate (the book's recipe);
3. scratch: the same network, same data, epochs and batch size, from random weights, every
   layer at the classifier's learning rate (the book trains its scratch net at 10x the lr).

Both target runs are scored on the full test images of classes 5-9.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from d2lkit.errors import D2lkitError
from d2lkit.experiments.common import run_facts
from d2lkit.jsonfile import write_json_atomic
from d2lkit.train.config import TrainConfig
from d2lkit.train.rerun import train_or_reuse
from d2lkit.train.run import resolve


@dataclass(frozen=True)
class FinetuneOptions:
    source_classes: tuple[int, ...] = (0, 1, 2, 3, 4)
    target_classes: tuple[int, ...] = (5, 6, 7, 8, 9)
    train_per_class: int = 100  # target training images per class
    pretrain_epochs: int = 3
    pretrain_per_class: int | None = None  # None: every source image (6000 per class)
    pretrain_batch_size: int = 256
    pretrain_lr: float | None = None  # None: the model's book learning rate


def head_names(model: torch.nn.Module) -> set[str]:
    """State-dict names of the classifier (`head_module`)."""
    from d2lkit.train.optim import head_module

    name, head = head_module(model)
    return {f"{name}.{key}" for key in head.state_dict()}


def export_body(pretrain_dir: Path, out: Path) -> Path:
    """The pretrained weights without the classifier, as a plain state_dict file: what a
    published backbone is, and what makes `--init` start the target task with a fresh head."""
    from d2lkit.train.checkpoint import save_checkpoint
    from d2lkit.train.trained import load_trained

    trained, _ = load_trained(pretrain_dir)
    head = head_names(trained.model)
    body = {k: v for k, v in trained.model.state_dict().items() if k not in head}
    # Atomically: a rerun reuses the file when it exists, so a half-written one must never be.
    return save_checkpoint(body, out)


def options_problem(options: FinetuneOptions) -> str | None:
    """What is wrong with `options`, in one line, or None."""
    for key in ("source_classes", "target_classes"):
        value = getattr(options, key)
        if not value or not all(isinstance(c, int) and 0 <= c <= 9 for c in value):
            return f"option {key!r} must list Fashion-MNIST classes 0-9, got {value!r}"
    overlap = set(options.source_classes) & set(options.target_classes)
    if overlap:
        return f"source and target classes overlap ({sorted(overlap)}); keep them apart"
    for key in ("train_per_class", "pretrain_epochs", "pretrain_batch_size"):
        value = getattr(options, key)
        if not isinstance(value, int) or value < 1:
            return f"option {key!r} must be a positive integer, got {value!r}"
    return None


def run_finetune_experiment(
    config: TrainConfig, out: str | Path, options: FinetuneOptions = FinetuneOptions()
) -> dict:
    """Pretrain, fine-tune and train from scratch into out/{pretrain,finetune,scratch}; write
    and return out/summary.json with both target accuracies and the gain."""
    if problem := options_problem(options):
        raise D2lkitError(problem)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if config.head_lr_mult == 1.0:
        raise D2lkitError("set head_lr_mult (the book uses 10): the new classifier learns faster")
    pretrain = dataclasses.replace(
        config, classes=options.source_classes, train_per_class=options.pretrain_per_class,
        init=None,
        epochs=options.pretrain_epochs, batch_size=options.pretrain_batch_size,
        lr=options.pretrain_lr, optimizer=None, head_lr_mult=1.0, weight_decay=0.0,
        scheduler="none",
    )  # fmt: skip
    pretrained = train_or_reuse(pretrain, out / "pretrain")
    body = out / "pretrained-body.pt"
    if not body.is_file():
        export_body(out / "pretrain", body)
    target = dataclasses.replace(
        config, classes=options.target_classes, train_per_class=options.train_per_class
    )
    finetuned = train_or_reuse(dataclasses.replace(target, init=str(body)), out / "finetune")
    # The scratch net learns every layer at the rate the fine-tuned classifier got.
    scratch_lr = resolve(target).lr * target.head_lr_mult
    scratch = train_or_reuse(
        dataclasses.replace(target, init=None, lr=scratch_lr, head_lr_mult=1.0), out / "scratch"
    )
    summary = {
        "model": config.model,
        "finetune_acc": finetuned["test_acc"],
        "scratch_acc": scratch["test_acc"],
        "gain": finetuned["test_acc"] - scratch["test_acc"],
        "pretrain_acc": pretrained["test_acc"],
        "source_classes": list(options.source_classes),
        "target_classes": list(options.target_classes),
        "train_per_class": options.train_per_class,
        "pretrain_epochs": options.pretrain_epochs,
        "epochs": config.epochs,
        **run_facts(pretrained, finetuned, scratch),
        "checks": {"fine-tuned beats from scratch": finetuned["test_acc"] > scratch["test_acc"]},
        "runs": {name: str(out / name) for name in ("pretrain", "finetune", "scratch")},
    }
    summary["details"] = (
        f"fine-tuned {summary['finetune_acc']:.4f} vs from scratch {summary['scratch_acc']:.4f}"
        f" ({summary['gain']:+.4f}) on classes {options.target_classes[0]}-"
        f"{options.target_classes[-1]} with {options.train_per_class} training images per class;"
        f" pretrained on classes {options.source_classes[0]}-{options.source_classes[-1]}"
        f" (test acc {summary['pretrain_acc']:.4f})"
    )
    write_json_atomic(out / "summary.json", summary)
    return summary
