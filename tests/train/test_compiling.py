"""A compiled run prints no CUDA-runtime notice into its epoch table, and nothing else is hidden."""

from __future__ import annotations

import logging

from d2lkit.train.config import TrainConfig
from d2lkit.train.run import build_run


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_compiling_a_run_silences_only_the_no_cuda_runtime_notice(
    tmp_path, tiny_fashion, monkeypatch
):
    logger = logging.getLogger("torch.utils.cpp_extension")
    monkeypatch.setattr(logger, "filters", [])  # as in a fresh process: nothing compiled yet
    recorder = Recorder()
    logger.addHandler(recorder)
    try:
        config = TrainConfig(model="softmax", compile=True, progress=False)
        build_run(config, tmp_path / "run")
        # The calls torch's own cpp_extension makes while inductor compiles.
        logger.warning("No CUDA runtime is found, using CUDA_HOME='%s'", "/usr/local")
        logger.warning("Error checking compiler version for %s", "c++")
    finally:
        logger.removeHandler(recorder)
    assert recorder.messages == ["Error checking compiler version for c++"]
