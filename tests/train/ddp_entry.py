"""Test-only entry point for torchrun: `d2lkit` plus hooks the distributed tests switch on.

- D2LKIT_TEST_DUMP=DIR: every rank saves its final weights to DIR/rank<R>.pt and logs, per attempt,
  the first epoch it trained to DIR/attempts.jsonl.
- D2LKIT_TEST_KILL=RANK:EPOCH:MARKER: that rank SIGKILLs itself after the first step of EPOCH,
  once (it creates MARKER first, so the restarted rank lives).
- Registers the dataset `fashion-mnist-dataloader`: Fashion-MNIST through a torch DataLoader with
  d2lkit's sharded sampler, so the DataLoader path runs under torchrun too.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from d2lkit.cli import main
from d2lkit.data import fashion_mnist
from d2lkit.data.datasets import DataBundle, DataOptions, register_dataset
from d2lkit.data.sharding import ShardedDataLoader, evaluation_slice
from d2lkit.train import resume, run
from d2lkit.train.callbacks import Callback


@register_dataset("fashion-mnist-dataloader", applies=("data_dir", "train_subset", "world_size"))
def fashion_dataloader(argument: str | None, options: DataOptions) -> DataBundle:
    data = fashion_mnist.load(options.data_dir)
    images, labels = data.train.images, data.train.labels
    if options.train_subset is not None:
        images, labels = images[: options.train_subset], labels[: options.train_subset]
    # The fast loader's transform: (N, 1, 28, 28) scaled to [0, 1].
    train = TensorDataset(images.unsqueeze(1).float() / 255, labels)
    part = evaluation_slice(len(data.test.labels), options.rank, options.world_size)
    test = TensorDataset(data.test.images[part].unsqueeze(1).float() / 255, data.test.labels[part])
    return DataBundle(
        ShardedDataLoader(
            train,
            options.batch_size,
            shuffle=True,
            seed=options.seed,
            rank=options.rank,
            world_size=options.world_size,
        ),  # fmt: skip
        ShardedDataLoader(test, 4 * options.batch_size),
        num_classes=10,
        in_channels=1,
        class_names=list(data.classes),
    )


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


class DumpWeights(Callback):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.first_epoch = None

    def on_epoch_start(self, trainer) -> None:
        if self.first_epoch is None:
            self.first_epoch = trainer.epoch
            record = {
                "rank": rank(),
                "restart": int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")),
                "first_epoch": trainer.epoch,
            }
            with open(self.folder / "attempts.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def on_fit_end(self, trainer) -> None:
        model = getattr(trainer.model, "module", trainer.model)
        torch.save(model.state_dict(), self.folder / f"rank{rank()}.pt")


class KillOnce(Callback):
    def __init__(self, spec: str) -> None:
        victim, epoch, marker = spec.split(":", 2)
        self.victim, self.epoch, self.marker = int(victim), int(epoch), Path(marker)

    def on_batch_end(self, trainer) -> None:
        # After this step's gradient exchange every rank has finished the previous epoch,
        # checkpoint included.
        hit = rank() == self.victim and trainer.epoch == self.epoch and trainer.step == 1
        if hit and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


def requested_callbacks() -> list[Callback]:
    callbacks = []
    if os.environ.get("D2LKIT_TEST_DUMP"):
        callbacks.append(DumpWeights(Path(os.environ["D2LKIT_TEST_DUMP"])))
    if os.environ.get("D2LKIT_TEST_KILL"):
        callbacks.append(KillOnce(os.environ["D2LKIT_TEST_KILL"]))
    return callbacks


def execute_with_test_callbacks(run_, start_epoch, wall_before, extra_callbacks):
    return plain_execute(run_, start_epoch, wall_before, [*extra_callbacks, *requested_callbacks()])


plain_execute = run.execute
# Both modules that call it: a fresh run's, and a torchrun restart's continuation of its checkpoint.
run.execute = resume.execute = execute_with_test_callbacks

if __name__ == "__main__":
    raise SystemExit(main())
