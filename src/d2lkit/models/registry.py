"""A small model registry: `@register_model`, `create_model(name)`, `list_models("res*")`.

Every builder takes `num_classes` and `in_channels` as keyword arguments, so the trainer can build
any model for any dataset.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from d2lkit.errors import unknown_name


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    family: str  # the module that defines it, e.g. "resnet"
    input_size: tuple[int, int, int]  # default (C, H, W) the book feeds it
    task: str  # "classification", "segmentation" or "regression"
    optimizer: str  # the optimiser the book trains it with ...
    lr: float  # ... and its learning rate (used when `d2lkit train` is given none)


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    fn: Callable[..., nn.Module] | None = None,
    *,
    input_size: tuple[int, int, int] = (1, 28, 28),
    task: str = "classification",
    optimizer: str = "adam",
    lr: float = 1e-3,
):
    """Register a builder under its function name; usable bare or with keyword arguments."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        # The defining module names the family ("d2lkit.models.resnet" -> "resnet"); a package's
        # `models` module takes the package name ("d2lkit.scratch.models" -> "scratch").
        *package, module = builder.__module__.split(".")
        family = package[-1] if module == "models" and package else module
        _REGISTRY[name] = ModelEntry(name, builder, family, tuple(input_size), task, optimizer, lr)
        return builder

    return decorate(fn) if fn is not None else decorate


def _load_zoo() -> None:
    # Importing the package registers every model it defines.
    import d2lkit.models  # noqa: F401


def get_entry(name: str) -> ModelEntry:
    _load_zoo()
    if name not in _REGISTRY:
        raise unknown_name("model", name, _REGISTRY, "d2lkit models list")
    return _REGISTRY[name]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model, e.g. `create_model("lenet", num_classes=10, in_channels=1)`."""
    return get_entry(name).builder(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names matching a shell-style wildcard pattern, in any case (`LeNet` finds lenet);
    one without wildcards matches the names that contain it (`resnet` lists resnet18 and
    fcn_resnet18)."""
    _load_zoo()
    if not any(char in pattern for char in "*?["):
        pattern = f"*{pattern}*"
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern.lower()))
