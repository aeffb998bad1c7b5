"""`--precision auto`: bf16 only where the evidence says it is faster and costs no accuracy."""

from __future__ import annotations

import pytest
import torch

from d2lkit.errors import D2lkitError
from d2lkit.train import environment
from d2lkit.train.environment import resolve_precision

CPU = torch.device("cpu")


def test_auto_on_a_bf16_cpu_is_bf16_only_for_models_with_evidence(monkeypatch):
    monkeypatch.setattr(environment, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", CPU, "speednet") == "bf16"
    assert resolve_precision("auto", CPU, "lenet") == "fp32"
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("fp32", CPU, "speednet") == "fp32"


def test_auto_on_cuda_is_bf16_except_for_regression(monkeypatch):
    """Linear regression must recover w and b to 0.01; bf16 put seed 2 at 0.007."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    cuda = torch.device("cuda")
    assert resolve_precision("auto", cuda, "lenet") == "bf16"
    assert resolve_precision("auto", cuda, "linreg") == "fp32"
    assert resolve_precision("bf16", cuda, "linreg") == "bf16"  # asked for: given


def test_auto_without_bf16_instructions_is_fp32(monkeypatch):
    monkeypatch.setattr(environment, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", CPU, "speednet") == "fp32"
    with pytest.raises(D2lkitError, match="no AMX/AVX-512 BF16"):
        resolve_precision("bf16", CPU, "speednet")


def test_every_model_with_bf16_evidence_is_registered():
    from d2lkit.models import list_models

    assert set(environment.CPU_BF16_MODELS) <= set(list_models())


def test_cudnn_times_its_algorithms_on_cuda_only(monkeypatch):
    """Every batch of a run has one shape: on a GPU the fastest convolution is worth timing."""
    from d2lkit.train.environment import tune_backend

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    tune_backend(torch.device("cpu"))
    assert torch.backends.cudnn.benchmark is False
    tune_backend(torch.device("cuda", 0))
    assert torch.backends.cudnn.benchmark is True
