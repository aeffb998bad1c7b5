"""The model zoo. Importing a family module registers its models (see registry.py)."""

from d2lkit.models import lenet, mlp, speednet  # noqa: F401  (imported to register)
from d2lkit.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
