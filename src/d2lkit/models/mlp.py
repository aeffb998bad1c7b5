"""Linear and multilayer-perceptron models of the book's "deep learning basics" chapter."""

from torch import nn

from d2lkit.models.registry import register_model


@register_model(input_size=(2, 1, 1), task="regression", optimizer="sgd", lr=0.03)
def linreg(num_classes: int = 1, in_channels: int = 2) -> nn.Module:
    """Linear regression y = Xw + b; `in_channels` is the number of features."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels, num_classes))


@register_model(optimizer="sgd", lr=0.1)
def softmax(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """Softmax regression: flatten (B, 784) then one linear layer to the class scores."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 28 * 28, num_classes))


@register_model(optimizer="sgd", lr=0.5)
def mlp(num_classes: int = 10, in_channels: int = 1, hidden: int = 256) -> nn.Module:
    """One hidden layer of 256 ReLU units."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_channels * 28 * 28, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


@register_model(optimizer="sgd", lr=0.5)
def mlp_dropout(num_classes: int = 10, in_channels: int = 1, hidden: int = 256) -> nn.Module:
    """Two hidden layers of 256 with dropout 0.2 after the first and 0.5 after the second."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_channels * 28 * 28, hidden),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(hidden, num_classes),
    )
