"""Data-parallel training under torchrun, on the CPU with gloo: 2 ranks, real Fashion-MNIST.

Each launch is a real `torch.distributed.run` with 2 worker processes, a fresh port and a timeout,
through tests/train/ddp_entry.py (d2lkit's CLI plus test hooks: weight dumps, fault injection).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).with_name("ddp_entry.py")
TIMEOUT_S = 120
# 965 = 10 global batches of 96 and a last one of 5, which two ranks split 3 + 2: the uneven case.
TRAIN = ["train", "mlp", "--train-subset", "965", "--batch-size", "96", "--epochs", "2"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # two ranks on two cores
    env["D2LKIT_DIST_TIMEOUT_S"] = "60"
    env.update(extra)
    return env


def single(args: list[str], **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ENTRY), *args, "--no-progress"]
    return subprocess.run(
        command, env=environment(**env), capture_output=True, text=True, timeout=TIMEOUT_S
    )


def torchrun(
    args: list[str], *launcher: str, rendezvous: str = "static", ranks: int = 2, **env: str
) -> subprocess.CompletedProcess:
    """Ranks on this machine; `rendezvous="c10d"` uses the multi-node form of the launch."""
    port = str(free_port())
    if rendezvous == "c10d":
        where = ["--nnodes", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}"]
    else:
        where = ["--master-addr", "127.0.0.1", "--master-port", port]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks), *where,
        *launcher, str(ENTRY), *args, "--no-progress",
    ]  # fmt: skip
    return subprocess.run(
        command, env=environment(**env), capture_output=True, text=True, timeout=TIMEOUT_S
    )


def check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("model", state)


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def attempts(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "attempts.jsonl").read_text().splitlines()]


def assert_close(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.fixture(scope="module")
def single_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "run"
    check(single([*TRAIN, "--out", str(out)]))
    return out


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> tuple[Path, Path]:
    dump = tmp_path_factory.mktemp("ddp")
    out = dump / "run"
    check(torchrun([*TRAIN, "--out", str(out)], D2LKIT_TEST_DUMP=str(dump)))
    return out, dump


def test_two_ranks_follow_one_process_with_the_global_batch(single_run, ddp_run):
    out, dump = ddp_run
    rank0, rank1 = weights(dump / "rank0.pt"), weights(dump / "rank1.pt")
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), f"{name} differs between the ranks"
    assert_close(weights(out / "checkpoint.pt"), weights(single_run / "checkpoint.pt"))
    # One run directory, written once: rank 1 adds no second row per epoch.
    ours, theirs = metrics(out), metrics(single_run)
    assert [row["epoch"] for row in ours] == [1, 2]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-5)
        # Sums over both ranks' shares: the whole training and test set.
        assert mine["train_acc"] == pytest.approx(reference["train_acc"], abs=1e-3)
        assert abs(mine["test_acc"] - reference["test_acc"]) <= 0.01
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads((out / "config.json").read_text())["batch_size"] == 96
    assert json.loads((out / "env.json").read_text())["world_size"] == 2
    assert summary["test_acc"] == ours[-1]["test_acc"]


def test_dataloader_path_shards_like_the_fast_loader(single_run, tmp_path):
    out = tmp_path / "run"
    check(torchrun([*TRAIN, "--dataset", "fashion-mnist-dataloader", "--out", str(out)]))
    assert_close(weights(out / "checkpoint.pt"), weights(single_run / "checkpoint.pt"))


def test_segmentation_ranks_share_the_test_scenes_and_report_one_processs_figures(tmp_path):
    """Each rank tests on its half of the scenes; the summed pixel counts give the figures of one
    process (before, every rank tested on every scene)."""
    scenes = ["train", "fcn_small", "--dataset", "fashion-scenes:96", "--batch-size", "32"]
    runs = {"one": tmp_path / "one", "two": tmp_path / "two"}
    check(single([*scenes, "--epochs", "1", "--out", str(runs["one"])]))
    check(torchrun([*scenes, "--epochs", "1", "--out", str(runs["two"])]))
    (one,), (two,) = metrics(runs["one"]), metrics(runs["two"])
    # The two trainings differ by float rounding only; mIoU moves most (its rare classes).
    for key, tolerance in (("test_loss", 1e-3), ("test_acc", 1e-3), ("test_miou", 1e-2)):
        assert two[key] == pytest.approx(one[key], rel=tolerance), key


def test_a_killed_rank_restarts_from_the_checkpoint_and_ends_where_an_uninterrupted_run_does(
    ddp_run, tmp_path
):
    out = tmp_path / "run"
    kill = f"1:2:{tmp_path / 'killed'}"  # rank 1, after the first step of epoch 2, once
    result = torchrun(
        [*TRAIN, "--out", str(out)], "--max-restarts", "1", rendezvous="c10d",
        D2LKIT_TEST_DUMP=str(tmp_path), D2LKIT_TEST_KILL=kill,
    )  # fmt: skip
    check(result)
    assert (tmp_path / "killed").exists()
    # The second attempt of both ranks started at epoch 2, from the epoch-1 checkpoint.
    assert sorted((a["restart"], a["first_epoch"]) for a in attempts(tmp_path)) == [
        (0, 1), (0, 1), (1, 2), (1, 2),
    ]  # fmt: skip
    uninterrupted, _ = ddp_run
    resumed, expected = weights(out / "checkpoint.pt"), weights(uninterrupted / "checkpoint.pt")
    for name in expected:
        assert torch.equal(resumed[name], expected[name]), name
    assert [row["epoch"] for row in metrics(out)] == [1, 2]


def test_a_killed_rank_without_restarts_ends_the_job_with_an_error(tmp_path):
    out = tmp_path / "run"
    kill = f"1:2:{tmp_path / 'killed'}"
    result = torchrun([*TRAIN, "--out", str(out)], "--max-restarts", "0", D2LKIT_TEST_KILL=kill)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Signal 9 (SIGKILL)" in output  # torchrun names the rank that died and how
    assert "lost contact with the other ranks" in output or "SIGTERM" in output
    assert (out / "checkpoint.pt").exists()  # epoch 1 is kept for --resume


def test_a_run_directory_that_holds_a_run_is_refused_by_every_attempt(single_run):
    before = (single_run / "checkpoint.pt").read_bytes()
    result = torchrun([*TRAIN, "--out", str(single_run)], "--max-restarts", "1")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    # The first attempt refuses; torchrun's restart must not take the old run for its own.
    assert output.count("already holds a run") == 4  # 2 attempts x 2 ranks
    assert (single_run / "checkpoint.pt").read_bytes() == before


def test_resume_a_single_process_run_on_two_ranks(single_run, tmp_path):
    out = tmp_path / "run"
    first_epoch = [*TRAIN[:-1], "1", "--out", str(out)]
    check(single(first_epoch))
    check(torchrun(["train", "--resume", str(out), "--epochs", "2"]))
    assert_close(weights(out / "checkpoint.pt"), weights(single_run / "checkpoint.pt"))
    assert [row["epoch"] for row in metrics(out)] == [1, 2]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_ranks_train_on_their_own_gpus_with_nccl(tmp_path):
    ranks = min(2, torch.cuda.device_count())
    gpu = ["train", "lenet_bn", *TRAIN[2:], "--device", "cuda"]  # BatchNorm: SyncBatchNorm
    check(single([*gpu, "--out", str(tmp_path / "single")]))
    out = tmp_path / "ddp"
    check(torchrun([*gpu, "--out", str(out)], ranks=ranks, D2LKIT_TEST_DUMP=str(tmp_path)))
    env = json.loads((out / "env.json").read_text())
    assert "nccl" in env["backend"] and env["world_size"] == ranks
    dumps = [weights(tmp_path / f"rank{r}.pt") for r in range(ranks)]
    for name in dumps[0]:
        assert all(torch.equal(d[name], dumps[0][name]) for d in dumps), name
    reference = metrics(tmp_path / "single")[-1]["test_acc"]
    assert abs(metrics(out)[-1]["test_acc"] - reference) <= 0.02
