"""The model zoo. Importing a family module registers its models (see registry.py)."""

from d2lkit.models import (  # noqa: F401  (imported to register)
    alexnet,
    densenet,
    fcn,
    fcn_small,
    googlenet,
    lenet,
    mlp,
    nin,
    resnet,
    speednet,
    vgg,
)
from d2lkit.models.init import init_model
from d2lkit.models.registry import create_model, get_entry, list_models, register_model
from d2lkit.scratch import models as scratch_models  # noqa: F401  (imported to register)

__all__ = ["create_model", "get_entry", "init_model", "list_models", "register_model"]
