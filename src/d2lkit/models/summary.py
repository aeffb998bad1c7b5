"""The book's "feed a tensor through and print each layer's output shape", as data.

`summarize(model, (C, H, W))` runs one image through the model in eval mode, records the output
shape of every module at a chosen depth with forward hooks, and counts the forward FLOPs with
`torch.utils.flop_counter.FlopCounterMode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class LayerRow:
    name: str  # dotted path inside the model, e.g. "b3.0"
    kind: str  # the module's class name
    output_shape: tuple[int, ...]
    params: int  # parameters of this module and its children


@dataclass(frozen=True)
class ModelSummary:
    rows: list[LayerRow]
    input_shape: tuple[int, ...]  # (1, C, H, W)
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    flops_per_image: int  # forward pass only; a multiply-add counts as 2


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Parameters of `module`; a shared parameter is counted once."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _modules_at_depth(model: nn.Module, depth: int) -> list[tuple[str, nn.Module]]:
    """Modules `depth` levels below the model; a branch that ends earlier gives its leaf. A
    ModuleList or ModuleDict is no level of its own: it has no forward to hook, so its members
    stand in its place (fcn_small's `stages` would otherwise vanish from the table)."""
    found: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module, level: int) -> None:
        children = list(module.named_children())
        if isinstance(module, (nn.ModuleList, nn.ModuleDict)):
            level -= 1
        if level == depth or not children:
            found.append((prefix, module))
            return
        for name, child in children:
            visit(f"{prefix}.{name}" if prefix else name, child, level + 1)

    visit("", model, 0)
    return found


def _first_tensor(output) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    return None


def summarize(model: nn.Module, input_size: tuple[int, int, int], depth: int = 1) -> ModelSummary:
    """Rows in call order (a module called twice appears twice). Raises whatever the model
    raises when the input size does not fit it."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    rows: list[LayerRow] = []
    handles = []
    for name, module in _modules_at_depth(model, depth):
        if module is model:
            continue  # a model with no children: only the total line is meaningful

        def record(module: nn.Module, _inputs, output, name: str = name) -> None:
            tensor = _first_tensor(output)
            shape = tuple(tensor.shape) if tensor is not None else ()
            rows.append(LayerRow(name, type(module).__name__, shape, count_params(module)))

        handles.append(module.register_forward_hook(record))

    was_training = model.training
    model.eval()  # batch norm with a batch of one needs its running statistics
    weight = next(model.parameters(), None)  # the input must match its dtype and device
    x = torch.zeros(1, *input_size) if weight is None else weight.new_zeros(1, *input_size)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return ModelSummary(
        rows=rows,
        input_shape=tuple(x.shape),
        output_shape=tuple(output.shape),
        total_params=count_params(model),
        trainable_params=count_params(model, trainable_only=True),
        flops_per_image=int(counter.get_total_flops()),
    )
