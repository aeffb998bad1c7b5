"""Recipes of the book's CNN chapter (DESIGN.md §7), each with a `-tuned` twin: the same network
trained better (optimiser, schedule, label smoothing, initialisation), at the same epochs.

The `book` profile is the port's exact settings, meant for a GPU. The `cpu` profile keeps them for
the networks a 2-core CPU trains in seconds per epoch (LeNet, BN-LeNet) and shrinks the others to a
smoke-scale run (a training subset, one epoch, small batches), marked not comparable.
"""

from __future__ import annotations

from d2lkit.recipes.basics import accuracy_figure
from d2lkit.recipes.recipe import CpuProfile, Recipe
from d2lkit.recipes.registry import register_recipes

BOOK = {"dataset": "fashion-mnist", "epochs": 5, "optimizer": "adam", "lr": 1e-3}


# Smoke runs take batches of 32: on a few thousand images the book's batches of 128-256 give the
# network 8-32 steps, too few to leave chance level; 32 gives it 64-128 for the same images.
SMOKE_BATCH_SIZE = 32


# Deep networks without batch norm (VGG, GoogLeNet) start, under PyTorch's default init, with an
# output that barely depends on the input: the loss sits at ln 10 until the network leaves that
# plateau, after a number of steps that varies by seed. The book's run of 5 full epochs got there; a
# one-epoch smoke run often does not (VGG on 8192 images, seeds 0 / 1 / 2: test accuracy 0.10 /
# 0.49 / 0.77). Their smoke runs start from He init, which keeps the signal (models/init.py).
HE_INIT = "kaiming"


# At 224x224 a 2-core CPU evaluates ~100 images/s: all 10,000 test images would take longer than
# the smoke epoch itself (AlexNet: 100 s against 74 s). Their smoke runs test on the first 2,000
# (about 200 of each class; a standard error of ±0.011 on the accuracy).
SMOKE_TEST_SUBSET = 2000


def smoke(
    train_subset: int,
    resize: int | None = None,
    why: str = "",
    he_init: bool = False,
    test_subset: int | None = None,
) -> CpuProfile:
    """A cpu profile that only proves the pipeline end to end: one epoch on a training subset."""
    overrides = {"epochs": 1, "train_subset": train_subset, "batch_size": SMOKE_BATCH_SIZE}
    note = f"1 epoch on the first {train_subset} training images in batches of {SMOKE_BATCH_SIZE}"
    if test_subset is not None:
        overrides["test_subset"] = test_subset
        note += f", tested on the first {test_subset} test images"
    if resize is not None:
        overrides["resize"] = resize
        note += f", {resize}x{resize} input"
    if he_init:
        overrides["weight_init"] = HE_INIT
        note += ", He init so that one short epoch leaves chance level"
    return CpuProfile(overrides, note=note + (f" ({why})" if why else ""), comparable=False)


# Tuned twins. Networks with batch norm take large-step SGD; the others AdamW. All get a one-cycle
# schedule, label smoothing 0.1 and decoupled weight decay; epochs and batch size stay the book's.
TUNED_PLAIN = {
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 0.05,
    "scheduler": "onecycle",
    "label_smoothing": 0.1,
}
TUNED_BATCHNORM = {
    "optimizer": "nesterov",
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "scheduler": "onecycle",
    "label_smoothing": 0.1,
}
# What the tuned twin of each network changes (lenet's sigmoids want a larger step and Xavier init;
# VGG, deep without batch norm, He init: under the default init its tuned twin sits on the ln 10
# plateau too, 1 epoch on 2048 images giving 0.10 / 0.51 on seeds 0 / 1 against 0.73 / 0.69).
TUNED = {
    "lenet": {**TUNED_PLAIN, "lr": 1e-2, "weight_init": "xavier"},
    "alexnet": TUNED_PLAIN,
    "vgg": {**TUNED_PLAIN, "weight_init": HE_INIT},
    "nin": {**TUNED_PLAIN, "lr": 2e-3},
    "googlenet": TUNED_BATCHNORM,  # the book's GoogLeNet has no batch norm, but trains fine so
    "batchnorm": TUNED_BATCHNORM,
    "resnet": TUNED_BATCHNORM,
    "densenet": TUNED_BATCHNORM,
}


def describe_tuning(settings: dict) -> str:
    parts = [f"{settings['optimizer']} {settings['lr']:g}"]
    if settings.get("weight_decay"):
        parts.append(f"wd {settings['weight_decay']:g}")
    parts.append(f"{settings['scheduler']} schedule")
    parts.append(f"label smoothing {settings['label_smoothing']:g}")
    if settings.get("weight_init"):
        parts.append(f"{settings['weight_init']} init")
    return ", ".join(parts)


def book_network(
    name: str,
    description: str,
    settings: dict,
    figure: float,
    words: str,
    chapter: str,
    cpu: CpuProfile | None = None,
) -> None:
    """Register the book's recipe for a network and, when TUNED has one, its tuned twin."""
    cpu = cpu or CpuProfile()
    common = {"cpu": cpu, **accuracy_figure(figure, words, chapter)}
    register_recipes(
        Recipe(name=name, description=description, train={**BOOK, **settings}, **common)
    )
    if name in TUNED:
        tuning = TUNED[name]
        register_recipes(
            Recipe(
                name=f"{name}-tuned",
                description=f"{description}, tuned",
                train={**BOOK, **settings, **tuning},
                tuned_from=name,
                deviation=f"tuned on purpose: {describe_tuning(tuning)}",
                **common,
            )
        )


book_network(
    "lenet",
    "LeNet (sigmoid, max-pool)",
    {"model": "lenet", "batch_size": 256},
    0.759,
    "Adam 1e-3, bs 256, 5 ep",
    "5.5",
)
book_network(
    "alexnet",
    "AlexNet, 224x224",
    {"model": "alexnet", "batch_size": 128, "resize": 224},
    0.902,
    "Adam 1e-3, bs 128, resize 224, 5 ep",
    "5.6",
    smoke(
        2048,
        why="224x224 is fixed by its 6400-wide classifier; it trains ~30 images/s on 2 cores",
        test_subset=SMOKE_TEST_SUBSET,
    ),
)
book_network(
    "vgg",
    "VGG-11 with channels / 8, 224x224",
    {"model": "vgg11", "batch_size": 64, "resize": 224},
    0.918,
    "Adam 1e-3, bs 64, resize 224, 5 ep",
    "5.7",
    smoke(
        2048,
        why="224x224 is fixed by its 7x7 classifier input",
        he_init=True,
        test_subset=SMOKE_TEST_SUBSET,
    ),
)
book_network(
    "nin",
    "Network in Network, 224x224",
    {"model": "nin", "batch_size": 128, "resize": 224, "lr": 2e-3},
    0.831,
    "Adam 2e-3, bs 128, resize 224, 5 ep",
    "5.8",
    smoke(16384, resize=96, why="on 4096 it had not left chance level"),
)
book_network(
    "googlenet",
    "GoogLeNet, 96x96",
    {"model": "googlenet", "batch_size": 128, "resize": 96},
    0.896,
    "Adam 1e-3, bs 128, resize 96, 5 ep",
    "5.9",
    smoke(4096, resize=64, he_init=True),
)
book_network(
    "batchnorm-scratch",
    "LeNet with batch norm written from scratch",
    {"model": "lenet_bn_scratch", "batch_size": 256},
    0.859,
    "Adam 1e-3, bs 256, 5 ep",
    "5.10",
)
book_network(
    "batchnorm",
    "LeNet with nn.BatchNorm",
    {"model": "lenet_bn", "batch_size": 256},
    0.734,
    "Adam 1e-3, bs 256, 5 ep",
    "5.10",
)
book_network(
    "resnet",
    "ResNet-18, 96x96",
    {"model": "resnet18", "batch_size": 256, "resize": 96},
    0.926,
    "Adam 1e-3, bs 256, resize 96, 5 ep",
    "5.11",
    smoke(4096, resize=64),
)
book_network(
    "densenet",
    "DenseNet (growth 32, blocks 4-4-4-4), 96x96",
    {"model": "densenet", "batch_size": 256, "resize": 96},
    0.884,
    "Adam 1e-3, bs 256, resize 96, 5 ep",
    "5.12",
    smoke(4096, resize=64),
)
