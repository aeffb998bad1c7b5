"""The computer-vision experiments' settings for a 2-core CPU, in one place (the recipes and
benchmarks/vision_experiments.py read them from here).

- fcn: `fcn_small` on fashion-scenes, judged by mIoU (target >= 0.60 in under 10 minutes).
- finetune: the book's ResNet-18 (7x7 stem, max-pool) on 28x28 images, pretrained on classes
  0-4, fine-tuned on 100 images per class of classes 5-9 with the book's SGD 0.01, weight decay
  1e-3 and a 10x head; the scratch twin learns at 0.1 everywhere.
- augmentation: LeNet with batch norm, with and without random crop + flip, equal epochs.
"""

from __future__ import annotations

from d2lkit.experiments.finetune import FinetuneOptions
from d2lkit.train.config import TrainConfig

FCN = TrainConfig(
    "fcn_small", dataset="fashion-scenes", epochs=3, batch_size=64, optimizer="adam", lr=3e-3,
    scheduler="onecycle",
)  # fmt: skip

FINETUNE = TrainConfig(
    "resnet18", resize=28, epochs=10, batch_size=32, optimizer="sgd", lr=0.01, weight_decay=1e-3,
    head_lr_mult=10,
)  # fmt: skip
FINETUNE_OPTIONS = FinetuneOptions(pretrain_epochs=2)

AUGMENTATION = TrainConfig("lenet_bn", epochs=10, batch_size=256, optimizer="adam", lr=1e-3)
