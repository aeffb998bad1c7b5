"""Network in Network: convolutions followed by 1x1 convolutions, and no fully connected layer.

The last block outputs one channel per class; global average pooling turns each into a score.
"""

from torch import nn

from d2lkit.models.registry import register_model


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
) -> nn.Sequential:
    """One spatial convolution, then two 1x1 convolutions acting as a per-pixel MLP."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(),
    )


# The book trains NiN with Adam at 2e-3, twice the rate of its other CNNs.
@register_model(input_size=(1, 224, 224), lr=2e-3)
def nin(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> nn.Module:
    """NiN with AlexNet's channel counts; on 224x224: 54 -> 26 -> 12 -> 5 -> 1."""
    return nn.Sequential(
        nin_block(in_channels, 96, kernel_size=11, stride=4, padding=0),  # (B, 96, 54, 54)
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 96, 26, 26)
        nin_block(96, 256, kernel_size=5, stride=1, padding=2),  # (B, 256, 26, 26)
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 12, 12)
        nin_block(256, 384, kernel_size=3, stride=1, padding=1),  # (B, 384, 12, 12)
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 384, 5, 5)
        nn.Dropout(dropout),
        nin_block(384, num_classes, kernel_size=3, stride=1, padding=1),  # (B, classes, 5, 5)
        nn.AdaptiveAvgPool2d((1, 1)),  # (B, classes, 1, 1)
        nn.Flatten(),  # (B, classes)
    )
