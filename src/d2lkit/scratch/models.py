"""The book's from-scratch networks, registered in the model zoo so `d2lkit train` trains them.

Every layer is built from d2lkit.scratch ops (matmul, conv2d, pool2d, relu, dropout, batch_norm);
the models return class scores (logits), and the trainer's cross-entropy equals the scratch
cross_entropy (tests/scratch prove both against PyTorch).
"""

from __future__ import annotations

from torch import nn

from d2lkit.models.registry import register_model
from d2lkit.scratch.batchnorm import BatchNorm
from d2lkit.scratch.layers import Conv2d, Dropout, Linear, Pool2d, ReLU

PIXELS = 28 * 28
HIDDEN = 256
INIT_STD = 0.01  # the book's N(0, 0.01^2) initialisation of its scratch weights

# Default optimisers are the book's (DESIGN.md §7): SGD 0.1 for softmax regression, Adam 1e-3 for
# BN-LeNet. The book's scratch MLPs use lr 100 with an sgd that divides a mean loss by the batch
# size again (100 / 256 = 0.39 in truth); 0.5 is the book's lr for the same MLPs on a mean loss.


@register_model(optimizer="sgd", lr=0.1)
def softmax_scratch(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Softmax regression: (B, C, 28, 28) -> flatten (B, 784) @ W (784, classes) + b."""
    return nn.Sequential(Linear(in_channels * PIXELS, num_classes, init_std=INIT_STD))


@register_model(optimizer="sgd", lr=0.5)
def mlp_scratch(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """One hidden layer of 256 ReLU units: 784 -> 256 -> classes."""
    return nn.Sequential(
        Linear(in_channels * PIXELS, HIDDEN, init_std=INIT_STD),
        ReLU(),
        Linear(HIDDEN, num_classes, init_std=INIT_STD),
    )


@register_model(optimizer="sgd", lr=0.5)
def mlp_dropout_scratch(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Two hidden layers of 256 with dropout 0.2 after the first and 0.5 after the second."""
    return nn.Sequential(
        Linear(in_channels * PIXELS, HIDDEN, init_std=INIT_STD),
        ReLU(),
        Dropout(0.2),
        Linear(HIDDEN, HIDDEN, init_std=INIT_STD),
        ReLU(),
        Dropout(0.5),
        Linear(HIDDEN, num_classes, init_std=INIT_STD),
    )


@register_model(optimizer="adam", lr=1e-3)
def lenet_bn_scratch(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """LeNet with the scratch batch norm after every conv and hidden linear layer, before the
    sigmoid: (B, 1, 28, 28) -> conv (B, 6, 24, 24) -> pool (B, 6, 12, 12) -> conv (B, 16, 8, 8)
    -> pool (B, 16, 4, 4) -> 120 -> 84 -> classes."""
    return nn.Sequential(
        Conv2d(in_channels, 6, kernel_size=5),
        BatchNorm(6),
        nn.Sigmoid(),
        Pool2d(2, stride=2),
        Conv2d(6, 16, kernel_size=5),
        BatchNorm(16),
        nn.Sigmoid(),
        Pool2d(2, stride=2),
        Linear(16 * 4 * 4, 120),  # flattens (B, 16, 4, 4) -> (B, 256) first
        BatchNorm(120),
        nn.Sigmoid(),
        Linear(120, 84),
        BatchNorm(84),
        nn.Sigmoid(),
        Linear(84, num_classes),
    )
