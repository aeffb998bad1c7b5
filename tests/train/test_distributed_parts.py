"""The pieces of data-parallel training that can be checked in one process: reading torchrun's
environment, the batch split, launch identity, the loss weighting and the metric sums (with a
fake all-reduce standing in for the other rank)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
import torch
from torch import nn

from d2lkit.cli import main
from d2lkit.errors import D2lkitError
from d2lkit.train import distributed
from d2lkit.train.metrics import ClassificationMeter

TORCHRUN_ENV = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}


@pytest.fixture
def torchrun_env(monkeypatch):
    for name, value in TORCHRUN_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_outside_torchrun_it_is_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.current_launch() == distributed.Launch()
    assert distributed.is_main() and distributed.launch_id() is None
    assert distributed.on_main(lambda: 41 + 1) == 42  # no group: just computed here
    with distributed.process_group() as launch:  # no group is created
        assert launch.world_size == 1 and not distributed.active()


def test_reads_torchrun_environment(torchrun_env):
    torchrun_env.setenv("TORCHELASTIC_RESTART_COUNT", "2")
    torchrun_env.setenv("TORCHELASTIC_MAX_RESTARTS", "3")
    assert distributed.current_launch() == distributed.Launch(1, 2, 1, 2, 3)
    assert not distributed.is_main()
    torchrun_env.setenv("RANK", "one")
    with pytest.raises(D2lkitError, match="RANK='one': must be an integer"):
        distributed.current_launch()


RENDEZVOUS_ENV = {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1"}


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.fixture
def rendezvous_env(monkeypatch):
    """Rank 0 of 2 with a free port and a short timeout: a test that reaches the rendezvous
    waits seconds, not the default 10 minutes, for a rank that never comes."""
    for name, value in RENDEZVOUS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_PORT", free_port())
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, "2")
    return monkeypatch


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE='0': must be 1 or more"),
        ({"WORLD_SIZE": "-1"}, "WORLD_SIZE='-1': must be 1 or more"),
        ({"RANK": "2"}, r"RANK='2': must be from 0 to 1"),
        ({"RANK": "-1"}, r"RANK='-1': must be from 0 to 1"),
        ({"LOCAL_RANK": "5"}, r"LOCAL_RANK='5': must be from 0 to 1"),
        ({"MASTER_ADDR": None}, r"MASTER_ADDR \(not set\): give the host of rank 0"),
        ({"MASTER_ADDR": "no-such-host.invalid"}, "MASTER_ADDR='no-such-host.invalid': no such"),
        ({"MASTER_PORT": "abc"}, "MASTER_PORT='abc': must be an integer"),
        ({"MASTER_PORT": "70000"}, "MASTER_PORT='70000': must be a port number"),
    ],
)
def test_a_launch_no_torchrun_would_make_is_refused_before_waiting(
    rendezvous_env, setting, message
):
    for name, value in setting.items():
        if value is None:
            rendezvous_env.delenv(name)
        else:
            rendezvous_env.setenv(name, value)
    with pytest.raises(D2lkitError, match=message) as refused, distributed.process_group():
        pass
    assert "torchrun --nproc-per-node N" in str(refused.value)
    assert not distributed.active()


def test_a_rank_whose_peers_never_come_fails_in_one_line(rendezvous_env, capsys, tmp_path):
    rendezvous_env.setattr(distributed, "JOIN_NOTICE_AFTER_S", 0.1)
    address = f"127.0.0.1:{os.environ['MASTER_PORT']}"
    out = tmp_path / "run"
    code = main(["train", "lenet", "--epochs", "1", "--no-progress", "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert lines == [
        f"d2lkit: rank 0: waiting up to 2 s for the other rank at {address}",
        f"d2lkit: failed: rank 0: the other rank did not join within 2 s at {address}; start all"
        " 2 ranks together with `torchrun --nproc-per-node 2 -m d2lkit train ...`",
    ]
    assert not distributed.active() and not out.exists()


def test_batch_size_is_global_and_must_split_evenly(monkeypatch):
    monkeypatch.setattr(distributed, "active_launch", lambda: distributed.Launch(0, 4))
    assert distributed.rank_batch_size(256) == 64
    with pytest.raises(D2lkitError, match="--batch-size 250 .* over 4 ranks; pass a multiple of 4"):
        distributed.rank_batch_size(250)


def test_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, "30")
    assert distributed.group_timeout() == timedelta(seconds=30)
    for bad in ("0", "soon"):
        monkeypatch.setenv(distributed.TIMEOUT_VARIABLE, bad)
        with pytest.raises(D2lkitError, match=distributed.TIMEOUT_VARIABLE):
            distributed.group_timeout()


def test_restarts_need_a_named_run_directory(torchrun_env):
    torchrun_env.setenv("TORCHELASTIC_MAX_RESTARTS", "1")
    with pytest.raises(D2lkitError, match="pass --out DIR"):
        distributed.require_out_for_restarts(None)
    distributed.require_out_for_restarts("runs/x")


def test_only_a_restart_of_the_same_launch_continues_its_checkpoint(torchrun_env):
    torchrun_env.setenv("TORCHELASTIC_RUN_ID", "none")  # torchrun's static rendezvous
    this_launch = distributed.launch_id()
    assert this_launch == distributed.launch_id() and this_launch.count(":") == 2
    torchrun_env.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    assert not distributed.continues_this_launch({"launch": this_launch})  # first attempt
    torchrun_env.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert distributed.continues_this_launch({"launch": this_launch})
    assert not distributed.continues_this_launch({"launch": "another-host:123:456"})
    assert not distributed.continues_this_launch({"launch": None})  # a run made without torchrun
    torchrun_env.setenv("TORCHELASTIC_RUN_ID", "job-17")  # --rdzv-id or --standalone
    assert distributed.launch_id() == "job-17"


class OtherRank:
    """A fake `dist.all_reduce` that adds what another rank holds."""

    def __init__(self, *values: torch.Tensor) -> None:
        self.values = list(values)

    def __call__(self, tensor: torch.Tensor, *args, **kwargs) -> None:
        tensor += self.values.pop(0).to(tensor.dtype)


def test_uneven_shares_weight_the_gradient_but_not_the_loss(monkeypatch):
    # This rank holds 1 of the global batch's 3 samples, the other rank 2: DDP's average over
    # 2 ranks must count this rank's gradient 2/3 as much as its plain mean loss would.
    monkeypatch.setattr(distributed.dist, "all_reduce", OtherRank(torch.tensor(2.0)))
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda *args: 2)
    torch.manual_seed(0)
    outputs = torch.randn(1, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([3])
    weighted = distributed.ShardWeightedLoss(nn.CrossEntropyLoss())(outputs, targets)
    (plain_grad,) = torch.autograd.grad(nn.functional.cross_entropy(outputs, targets), outputs)
    (grad,) = torch.autograd.grad(weighted, outputs)
    assert weighted.item() == nn.functional.cross_entropy(outputs, targets).item()
    torch.testing.assert_close(grad, plain_grad * 2 / 3)


def test_ignored_pixels_do_not_count_towards_a_share(monkeypatch):
    loss_fn = nn.CrossEntropyLoss(ignore_index=255)
    targets = torch.tensor([[0, 255], [255, 1]])
    assert distributed.averaged_count(loss_fn, targets).item() == 2
    assert distributed.averaged_count(nn.MSELoss(), torch.zeros(3, 1)).item() == 3


def test_evaluation_loss_is_left_alone(monkeypatch):
    monkeypatch.setattr(distributed.dist, "all_reduce", OtherRank())  # would fail if called
    outputs, targets = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        loss = distributed.ShardWeightedLoss(nn.CrossEntropyLoss())(outputs, targets)
    assert loss.item() == nn.functional.cross_entropy(outputs, targets).item()


def fill(meter, outputs: torch.Tensor, targets: torch.Tensor) -> None:
    for out, y in zip(outputs.split(3), targets.split(3), strict=True):
        meter.update(nn.functional.cross_entropy(out, y), out, y)


def test_metric_sums_add_up_to_those_of_the_whole_set(monkeypatch):
    torch.manual_seed(1)
    outputs, targets = torch.randn(12, 4), torch.randint(0, 4, (12,))
    whole = ClassificationMeter(torch.device("cpu"))
    fill(whole, outputs, targets)
    # What the other rank sends: its meter's sums over samples 6..11, in the same order.
    other = ClassificationMeter(torch.device("cpu"))
    fill(other, outputs[6:], targets[6:])
    captured = []
    monkeypatch.setattr(distributed.dist, "all_reduce", lambda t, *a, **k: captured.append(t + 0))
    distributed.SummedAcrossRanks(other).compute()
    mine = ClassificationMeter(torch.device("cpu"))
    fill(mine, outputs[:6], targets[:6])
    monkeypatch.setattr(distributed.dist, "all_reduce", OtherRank(*captured))
    mine.num_classes = 4  # a setting, like the segmentation meter's: not summed
    result = distributed.SummedAcrossRanks(mine).compute()
    expected = whole.compute()
    assert result["acc"] == expected["acc"]
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-12)
    assert mine.count == 12 and isinstance(mine.count, int)
    assert mine.num_classes == 4
