"""torch.compile without the notice that leaks into the epoch table on a CPU-only machine, and
with the same graphs in a resumed process as in the run trained straight through."""

from __future__ import annotations

import logging

import torch
from torch import nn

# Inductor imports torch.utils.cpp_extension while it compiles; on a machine with the CUDA wheel
# and a CUDA toolkit but no GPU, that module warns "No CUDA runtime is found, using CUDA_HOME=..."
# to stderr, in the middle of the epoch table. Harmless: the CPU build needs no CUDA runtime.
CPP_EXTENSION_LOGGER = "torch.utils.cpp_extension"
NO_CUDA_RUNTIME = "No CUDA runtime is found"


class _DropNoCudaRuntimeNotice(logging.Filter):
    """Drops that one notice only: the same logger's other warnings (a compiler torch cannot use,
    an ABI mismatch) explain real failures and still reach the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(NO_CUDA_RUNTIME)


_DROP_NOTICE = _DropNoCudaRuntimeNotice()


def compile_model(model: nn.Module) -> nn.Module:
    """`torch.compile(model)`, with the CUDA-runtime notice of a GPU-less machine silenced.

    `dynamic=False`: one graph per batch shape. Left to itself, the compiler moves to a graph for
    any batch size after the short last batch, so a run resumed in a new process (back on the
    fixed-size graph) computed epoch 2 otherwise than the run trained straight through."""
    # A filter, not a level: torch._logging resets the levels of the loggers it knows, and
    # addFilter adds the same filter only once however many models are compiled.
    logging.getLogger(CPP_EXTENSION_LOGGER).addFilter(_DROP_NOTICE)
    return torch.compile(model, dynamic=False)
