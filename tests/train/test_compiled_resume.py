"""A compiled run resumes exactly: each process compiles for the batch shapes it meets."""

from __future__ import annotations

import subprocess
import sys

import torch
from test_resume import ENV

from d2lkit.train.checkpoint import load_checkpoint


def test_a_compiled_run_with_a_short_last_batch_resumes_bit_identical(tmp_path, fashion):
    """600 images in batches of 256 end on a batch of 88. Compiled with dynamic shapes, the
    straight run met that batch and trained epoch 2 on a graph for any batch size, the resumed
    process on the graph for 256 alone: other arithmetic and other dropout masks (weights apart
    by up to 7e-3 on 6000 images). Compiled for each shape, both train epoch 2 alike."""
    flags = ["mlp_dropout", "--compile", "--train-subset", "600", "--test-subset", "200"]
    flags += ["--no-progress"]

    # The machine's own thread count, as a user runs it: the graphs' arithmetic differs by shape
    # where the threads split the work (on one thread, or with OMP_NUM_THREADS set, it did not).
    env = {k: v for k, v in ENV.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}

    def d2lkit(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "d2lkit", "train", *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr

    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    d2lkit(*flags, "--epochs", "2", "--out", str(straight))
    d2lkit(*flags, "--epochs", "1", "--out", str(resumed))
    d2lkit("--resume", str(resumed), "--epochs", "2", "--no-progress")
    a = load_checkpoint(straight / "checkpoint.pt")["model"]
    b = load_checkpoint(resumed / "checkpoint.pt")["model"]
    for name in a:
        assert torch.equal(a[name], b[name]), name
