"""AlexNet as the book adapts it to Fashion-MNIST: one input channel, 224x224, dropout 0.5."""

from torch import nn

from d2lkit.models.registry import register_model


@register_model(input_size=(1, 224, 224))
def alexnet(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> nn.Module:
    """Five convolutions (96, 256, 384, 384, 256 channels), three max-pools, two hidden
    layers of 4096. Feature maps on a 224x224 input: 54 -> 26 -> 12 -> 5."""
    return nn.Sequential(
        # A large 11x11 window with stride 4 shrinks the image fast; no padding, as in the book's
        # PyTorch port ((224 - 11) // 4 + 1 = 54).
        nn.Conv2d(in_channels, 96, kernel_size=11, stride=4),  # (B, 96, 54, 54)
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 96, 26, 26)
        nn.Conv2d(96, 256, kernel_size=5, padding=2),  # (B, 256, 26, 26)
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 12, 12)
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),  # (B, 256, 12, 12)
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # (B, 256, 5, 5)
        nn.Flatten(),  # (B, 6400)
        nn.Linear(256 * 5 * 5, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(4096, num_classes),
    )
