"""LeNet-5 as the book builds it: sigmoid activations and max-pooling."""

from torch import nn

from d2lkit.models.registry import register_model


@register_model
def lenet(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """LeNet on (B, 1, 28, 28): conv 5x5 -> (B, 6, 24, 24) -> pool (B, 6, 12, 12)
    -> conv 5x5 (B, 16, 8, 8) -> pool (B, 16, 4, 4) -> 120 -> 84 -> classes."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )


@register_model
def lenet_bn(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """LeNet with batch norm after each conv and hidden linear layer, before the sigmoid.

    Same shapes as `lenet`; BatchNorm2d normalises per channel, BatchNorm1d per feature.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5),  # (B, 6, 24, 24)
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # (B, 6, 12, 12)
        nn.Conv2d(6, 16, kernel_size=5),  # (B, 16, 8, 8)
        nn.BatchNorm2d(16),
        nn.Sigmoid(),
        nn.MaxPool2d(kernel_size=2, stride=2),  # (B, 16, 4, 4)
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 120),
        nn.BatchNorm1d(120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.BatchNorm1d(84),
        nn.Sigmoid(),
        nn.Linear(84, num_classes),
    )
