"""The epoch's train loss is the true mean over its samples, short last batch included."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.data.loader import TensorLoader
from d2lkit.train.metrics import ClassificationMeter, RegressionMeter, make_meter
from d2lkit.train.trainer import Trainer


def test_meter_weights_each_batch_mean_by_its_size():
    meter = ClassificationMeter(torch.device("cpu"))
    # Batches of 4, 4 and a short last batch of 2, with batch-mean losses 1, 1 and 4.
    for loss, n in ((1.0, 4), (1.0, 4), (4.0, 2)):
        outputs = torch.zeros(n, 3)
        outputs[:, 0] = 1.0  # always predicts class 0
        targets = torch.tensor([0, 1] * (n // 2))  # half right
        meter.update(torch.tensor(loss), outputs, targets)
    result = meter.compute()
    assert result["loss"] == (4 * 1.0 + 4 * 1.0 + 2 * 4.0) / 10  # 1.6, not the mean of means 2.0
    assert result["acc"] == 0.5


def test_regression_meter_has_no_accuracy():
    meter = make_meter("regression", 1, torch.device("cpu"))
    assert isinstance(meter, RegressionMeter)
    meter.update(torch.tensor(2.0), torch.zeros(3, 1), torch.zeros(3, 1))
    meter.update(torch.tensor(5.0), torch.zeros(1, 1), torch.zeros(1, 1))
    assert meter.compute() == {"loss": (3 * 2.0 + 5.0) / 4, "acc": None}


def test_trainer_reports_the_mean_over_the_epochs_samples():
    """With lr 0 the weights stay fixed, so the epoch's loss must equal the loss of the whole
    set at once; 10 samples in batches of 4 leave a last batch of 2."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (10, 4, 4), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    with torch.no_grad():  # make the last two samples far costlier than the rest
        model[1].weight.mul_(5)
    loader = TensorLoader(images, labels, 4, shuffle=True, seed=1)
    trainer = Trainer(
        model, torch.optim.SGD(model.parameters(), lr=0.0), nn.CrossEntropyLoss(), loader, loader
    )
    trainer.fit(1)
    x = images.float().unsqueeze(1) / 255
    per_sample = F.cross_entropy(model(x), labels, reduction="none").detach()
    row = trainer.history[0]
    assert abs(row["train_loss"] - per_sample.mean().item()) < 1e-6
    assert abs(row["test_loss"] - per_sample.mean().item()) < 1e-6
    # The book's mistake, a plain mean of the batch means, gives another figure here.
    batch_means = [
        F.cross_entropy(model(xb), yb).item() for xb, yb in TensorLoader(images, labels, 4)
    ]
    assert abs(sum(batch_means) / 3 - per_sample.mean().item()) > 1e-3
    accuracy = (model(x).argmax(1) == labels).sum().item() / 10
    assert row["train_acc"] == row["test_acc"] == accuracy
    assert trainer.images_in_epoch == 10
