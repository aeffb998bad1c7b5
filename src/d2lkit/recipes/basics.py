"""Recipes of the book's "deep learning basics" and optimisation chapters (DESIGN.md §7).

The settings and figures follow ShusenTang's PyTorch port of the book (Dive-into-DL-PyTorch).
Its from-scratch `sgd` divides the gradient of a mean loss by the batch size once more, so its
"lr 100" is lr 100 / 256 = 0.390625 on the mean loss our trainer uses: the same update.
"""

from __future__ import annotations

from d2lkit.recipes.recipe import Band, BookFigure, Recipe
from d2lkit.recipes.registry import register_recipes

PORT = "ShusenTang Dive-into-DL-PyTorch"
FASHION = {"dataset": "fashion-mnist", "epochs": 5, "batch_size": 256}
SCRATCH_LR = 100 / 256  # the port's "lr 100" with its double division by the batch size
ACCURACY = {"metric": "test_acc", "metric_label": "test accuracy"}
SCRATCH_LR_NOTE = "the port's lr 100 is 0.390625 on a mean loss (same update)"


def accuracy_figure(value: float, settings: str, chapter: str) -> dict:
    """The book figure and the band the issue sets: reach the reported accuracy minus 0.01."""
    return {
        **ACCURACY,
        "book": BookFigure(value, f"{value:.3f}", settings, f"{PORT} ch{chapter}"),
        "band": Band(minimum=round(value - 0.01, 4)),
    }


LINREG_FIGURE = {
    "metric": "param_error",
    "metric_label": "max |error| of learned w, b",
    "band": Band(maximum=0.01),
}

register_recipes(
    Recipe(
        name="linreg",
        description="linear regression, concise: nn.Linear trained by the trainer",
        kind="linreg",
        train={
            "model": "linreg",
            "dataset": "synthetic-linear",
            "epochs": 3,
            "batch_size": 10,
            "optimizer": "sgd",
            "lr": 0.03,
        },
        book=BookFigure(
            None, "recovers w = [2, -3.4], b = 4.2", "SGD 0.03, bs 10, 3 ep", f"{PORT} ch3.3"
        ),
        **LINREG_FIGURE,
    ),
    Recipe(
        name="linreg-scratch",
        description="linear regression from scratch: data_iter, squared_loss, sgd by hand",
        kind="linreg-scratch",
        options={"epochs": 3, "batch_size": 10, "lr": 0.03},
        book=BookFigure(
            None, "recovers w = [2, -3.4], b = 4.2", "SGD 0.03, bs 10, 3 ep", f"{PORT} ch3.2"
        ),
        **LINREG_FIGURE,
    ),
    Recipe(
        name="softmax-scratch",
        description="softmax regression from scratch",
        train={**FASHION, "model": "softmax_scratch", "optimizer": "sgd", "lr": 0.1},
        **accuracy_figure(0.815, "SGD 0.1, bs 256, 5 ep", "3.6"),
    ),
    Recipe(
        name="softmax",
        description="softmax regression, concise (nn.Linear, N(0, 0.01) init)",
        train={
            **FASHION,
            "model": "softmax",
            "optimizer": "sgd",
            "lr": 0.1,
            "weight_init": "normal",
        },
        **accuracy_figure(0.823, "SGD 0.1, bs 256, 5 ep", "3.7"),
    ),
    Recipe(
        name="mlp-scratch",
        description="MLP from scratch: one hidden layer of 256 ReLU units",
        train={**FASHION, "model": "mlp_scratch", "optimizer": "sgd", "lr": SCRATCH_LR},
        deviation=SCRATCH_LR_NOTE,
        **accuracy_figure(0.845, "256 hidden, lr 100 (sum-scaled), bs 256, 5 ep", "3.9"),
    ),
    Recipe(
        name="mlp",
        description="MLP, concise: one hidden layer of 256 ReLU units, N(0, 0.01) init",
        train={**FASHION, "model": "mlp", "optimizer": "sgd", "lr": 0.5, "weight_init": "normal"},
        **accuracy_figure(0.818, "256 hidden, SGD 0.5, bs 256, 5 ep", "3.10"),
    ),
    Recipe(
        name="weight-decay",
        description="high-dimensional linear regression (20 rows, 200 inputs), L2 penalty 0 vs 3",
        kind="weight-decay",
        options={"penalty": 3.0, "epochs": 100},
        metric="w_norm_shrink",
        metric_label="||w|| without / with the penalty",
        book=BookFigure(
            15.11 / 0.035,
            "||w|| 15.11 (lambda 0) vs 0.035 (lambda 3): x432",
            "20 train rows, 200 inputs, bs 1, lr 0.003, 100 ep",
            f"{PORT} ch3.12",
        ),
        # The book's point is orders of magnitude: the penalty must shrink ||w|| at least 100x
        # (and the test loss must fall, a check the runner records).
        band=Band(minimum=100.0),
    ),
    Recipe(
        name="dropout-scratch",
        description="MLP 256-256 with dropout 0.2 / 0.5, from scratch",
        train={**FASHION, "model": "mlp_dropout_scratch", "optimizer": "sgd", "lr": SCRATCH_LR},
        deviation=SCRATCH_LR_NOTE,
        **accuracy_figure(0.850, "p 0.2/0.5, 256-256, lr 100 (sum-scaled), bs 256, 5 ep", "3.13"),
    ),
    Recipe(
        name="dropout",
        description="MLP 256-256 with nn.Dropout 0.2 / 0.5, N(0, 0.01) init",
        train={
            **FASHION,
            "model": "mlp_dropout",
            "optimizer": "sgd",
            "lr": 0.5,
            "weight_init": "normal",
        },
        **accuracy_figure(0.839, "p 0.2/0.5, 256-256, SGD 0.5, bs 256, 5 ep", "3.13"),
    ),
    Recipe(
        name="optimizers",
        description="the MLP trained with each of the book's optimisers, 3 epochs each",
        kind="optimizers",
        train={**FASHION, "model": "mlp", "epochs": 3},
        options={
            "optimizers": (
                ("sgd", 0.5),
                ("momentum", 0.05),
                ("adagrad", 0.1),
                ("rmsprop", 0.001),
                ("adadelta", 1.0),
                ("adam", 0.001),
            )
        },
        metric="min_test_acc",
        metric_label="worst optimiser's test accuracy",
        book=BookFigure(
            None,
            "every optimiser trains the network",
            "SGD, momentum, AdaGrad, RMSProp, AdaDelta, Adam",
            f"{PORT} ch7.2-7.8",
        ),
        band=Band(minimum=0.80),
        deviation="the book compares them on the NASA airfoil set (not downloadable here); "
        "here on the Fashion-MNIST MLP",
    ),
)
