"""A from-scratch model trains through the normal trainer on the real Fashion-MNIST. (The full
5-epoch runs, softmax_scratch >= 0.815 and lenet_bn_scratch >= 0.859, are quoted in the issue's
closing note.)"""

import pytest

from d2lkit.train.config import TrainConfig
from d2lkit.train.run import run_training


@pytest.mark.slow
def test_softmax_scratch_one_epoch_on_fashion_mnist(tmp_path):
    config = TrainConfig(
        "softmax_scratch",
        epochs=1,
        batch_size=256,
        optimizer="sgd",
        lr=0.1,
        out=str(tmp_path / "run"),
        progress=False,
    )
    summary = run_training(config)
    assert summary["test_acc"] > 0.75, summary
    assert summary["train_loss"] < 1.0  # chance level is ln 10 = 2.30
