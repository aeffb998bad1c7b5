"""The loop can learn: one small batch of real images is fitted to 100 % train accuracy."""

from __future__ import annotations

import torch
from torch import nn

from d2lkit.data.loader import TensorLoader
from d2lkit.models import create_model
from d2lkit.train.trainer import Trainer


def test_overfit_one_batch(fashion):
    torch.manual_seed(0)
    images, labels = fashion.train.images[:64], fashion.train.labels[:64]
    batch = TensorLoader(images, labels, 64, shuffle=True, seed=0)
    model = create_model("mlp", num_classes=10, in_channels=1)
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=3e-3),
        nn.CrossEntropyLoss(),
        batch,
        batch,
    )
    history = trainer.fit(60)
    assert history[0]["train_acc"] < 0.5  # it starts out ignorant ...
    final = trainer.evaluate()
    assert final["acc"] == 1.0  # ... and ends knowing every image of the batch
    assert final["loss"] < 0.05
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 20
