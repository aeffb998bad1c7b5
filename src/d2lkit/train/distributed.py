"""Data-parallel training on torch.distributed, launched by `torchrun`.

`torchrun --nproc-per-node N -m d2lkit train MODEL ...` starts N copies of d2lkit and tells each its
place through the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT,
TORCHELASTIC_RESTART_COUNT). The trainer (run.py) calls in here at a few points:

- `process_group()` joins the ranks (gloo carries CPU tensors, NCCL CUDA ones) with a timeout and
  leaves the group on the way out, so a lost rank ends the job instead of hanging it.
- `--batch-size B` is the global batch: each rank trains on its B/N-sample slice of the shared
  seeded permutation (d2lkit.data.sharding) and DDP averages the gradients, so N ranks follow the
  trajectory of one process with batch B, up to floating-point order. `wrap_model` and
  `ShardWeightedLoss` keep that true for BatchNorm on CUDA and for a short last batch.
- Metric sums are added up across ranks (`summed_across_ranks`); each rank tests its part of the
  test set.
- Only rank 0 touches the run directory; `on_main` runs a decision there and gives every rank the
  result (the run directory's name, the checkpoint to resume).
- With `torchrun --max-restarts K`, a dead rank makes torchrun restart every rank; the new attempt
  finds this launch's checkpoint (`continues_this_launch`) and resumes from it.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from d2lkit.errors import D2lkitError, TrainingFailed
from d2lkit.text import announce
from d2lkit.train.callbacks import Callback
from d2lkit.train.environment import seed_everything

if TYPE_CHECKING:  # for annotations only: importing it here would be circular
    from d2lkit.train.metrics import Meter
    from d2lkit.train.trainer import Trainer

TIMEOUT_VARIABLE = "D2LKIT_DIST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 600.0
JOIN_NOTICE_AFTER_S = 3.0

T = TypeVar("T")


@dataclass(frozen=True)
class Launch:
    """This process's place in a torchrun launch (the defaults: a single process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    restart_count: int = 0  # 0 on the first attempt, k after torchrun's k-th restart
    max_restarts: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """True in a process started by torchrun (or any launcher that sets RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def current_launch() -> Launch:
    if not launched():
        return Launch()
    launch = Launch(
        rank=integer_variable("RANK"),
        world_size=integer_variable("WORLD_SIZE"),
        local_rank=integer_variable("LOCAL_RANK", "0"),
        restart_count=integer_variable("TORCHELASTIC_RESTART_COUNT", "0"),
        max_restarts=integer_variable("TORCHELASTIC_MAX_RESTARTS", "0"),
    )
    # Out-of-range places would otherwise wait the whole timeout for ranks that cannot exist.
    if launch.world_size < 1:
        raise launch_error("WORLD_SIZE", "must be 1 or more")
    if not 0 <= launch.rank < launch.world_size:
        raise launch_error("RANK", f"must be from 0 to {launch.world_size - 1} (WORLD_SIZE - 1)")
    if not 0 <= launch.local_rank < launch.world_size:
        raise launch_error("LOCAL_RANK", f"must be from 0 to {launch.world_size - 1}")
    return launch


def launch_error(name: str, problem: str) -> D2lkitError:
    """A torchrun variable that no torchrun would set: most likely left over in the shell."""
    value = os.environ.get(name)
    setting = f"{name}={value!r}" if value is not None else f"{name} (not set)"
    return D2lkitError(
        f"{setting}: {problem}; start data-parallel runs with `torchrun --nproc-per-node N -m"
        " d2lkit train ...`, or unset RANK and WORLD_SIZE to run one process"
    )


def integer_variable(name: str, default: str | None = None) -> int:
    try:
        return int(os.environ.get(name, default))
    except (TypeError, ValueError):
        raise launch_error(name, "must be an integer") from None


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def active_launch() -> Launch:
    """The launch while the process group is up; a single process otherwise (e.g. `d2lkit eval`
    under torchrun evaluates on its own)."""
    return current_launch() if active() else Launch()


def group_timeout() -> timedelta:
    """How long a rank waits for the others in one collective before giving up."""
    text = os.environ.get(TIMEOUT_VARIABLE, str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise D2lkitError(
            f"{TIMEOUT_VARIABLE}={text!r}: give the seconds a rank waits for the others, e.g. 600"
        )
    return timedelta(seconds=seconds)


@contextlib.contextmanager
def process_group() -> Iterator[Launch]:
    """Join torchrun's ranks for the duration of a run (a no-op outside torchrun, or when an outer
    caller has joined them already) and leave the group at the end, whatever happens."""
    if not launched() or active():
        yield active_launch()
        return
    launch = current_launch()
    # One group, two transports: collectives on CPU tensors (decisions, CPU training) go through
    # gloo, those on CUDA tensors through NCCL, which is only set up if a CUDA tensor is reduced.
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    timeout = group_timeout()
    address = rendezvous_address()
    with joining(launch, address, timeout):
        store, rank, world_size = next(dist.rendezvous("env://", timeout=timeout))
        # torchrun's store outlives a restart, and with the default (static) rendezvous the keys
        # the dead attempt left in it (e.g. a dead rank's address) would be read again: each
        # attempt gets its own key space.
        store = dist.PrefixStore(f"d2lkit/attempt_{launch.restart_count}", store)
        dist.init_process_group(
            backend, store=store, rank=rank, world_size=world_size, timeout=timeout
        )
    try:
        yield launch
    except RuntimeError as err:
        if not lost_peer(err):
            raise
        raise TrainingFailed(
            f"rank {launch.rank}: lost contact with the other ranks ({first_line(err)}); the"
            " last checkpoint is kept: rerun with --resume, or let torchrun --max-restarts retry"
        ) from None
    finally:
        dist.destroy_process_group()
        # Free the group now, not in the interpreter's final garbage collection: there, gloo's
        # worker threads would release their last tensors without a Python to take them back
        # and abort the process ("terminate called without an active exception").
        gc.collect()


def rendezvous_address() -> str:
    """MASTER_ADDR:MASTER_PORT, where rank 0 waits for the others, checked before any rank waits
    there (torch would raise a traceback, or wait out the timeout for an unknown host)."""
    host = os.environ.get("MASTER_ADDR", "")
    if not host:
        raise launch_error("MASTER_ADDR", "give the host of rank 0")
    port = integer_variable("MASTER_PORT")
    if not 0 < port < 65536:
        raise launch_error("MASTER_PORT", "must be a port number from 1 to 65535")
    try:
        socket.getaddrinfo(host, port)
    except (socket.gaierror, UnicodeError):
        raise launch_error("MASTER_ADDR", "no such host") from None
    return f"{host}:{port}"


@contextlib.contextmanager
def joining(launch: Launch, address: str, timeout: timedelta) -> Iterator[None]:
    """Wait for the other ranks at `address`: say so if it takes long, and make a rank that never
    came (or an address torch refuses) one line instead of torch's traceback."""
    seconds = f"{timeout.total_seconds():g}"
    others = launch.world_size - 1
    ranks = "rank" if others == 1 else f"{others} ranks"
    # Ranks that torchrun started together meet within moments: only a longer wait is announced.
    notice = threading.Timer(
        JOIN_NOTICE_AFTER_S,
        announce,
        [f"rank {launch.rank}: waiting up to {seconds} s for the other {ranks} at {address}"],
    )
    notice.daemon = True
    notice.start()
    try:
        yield
    except dist.DistError as err:
        if "timed out" not in str(err).lower():
            raise TrainingFailed(
                f"rank {launch.rank}: could not join the other ranks at {address}"
                f" ({first_line(err)}); check MASTER_ADDR and MASTER_PORT"
            ) from None
        raise TrainingFailed(
            f"rank {launch.rank}: the other {ranks} did not join within {seconds} s at {address};"
            f" start all {launch.world_size} ranks together with `torchrun --nproc-per-node"
            f" {launch.world_size} -m d2lkit train ...`"
        ) from None
    except ValueError as err:
        raise D2lkitError(
            f"torch refused the torchrun environment ({first_line(err)}); start data-parallel"
            " runs with `torchrun --nproc-per-node N -m d2lkit train ...`"
        ) from None
    finally:
        notice.cancel()


def first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def lost_peer(err: RuntimeError) -> bool:
    """A collective failed because another rank died or stopped answering."""
    if isinstance(err, dist.DistError):
        return True
    # gloo reports a dead peer as a plain RuntimeError.
    text = str(err)
    return "gloo" in text or "Connection closed by peer" in text or "NCCL" in text


def on_main(make: Callable[[], T]) -> T:
    """`make()` computed on rank 0 and handed to every rank, so all ranks agree on it (a run
    directory named after the clock, a checkpoint only rank 0 can read). A `D2lkitError` raised on
    rank 0 is raised on every rank, so they all stop with the same message."""
    if not active():
        return make()
    box: list = [None]
    if dist.get_rank() == 0:
        try:
            box[0] = (make(), None)
        except D2lkitError as err:
            box[0] = (None, str(err))
    dist.broadcast_object_list(box, src=0, device=torch.device("cpu"))
    value, error = box[0]
    if error is not None:
        raise D2lkitError(error)
    return value


def is_main() -> bool:
    """Whether this process speaks for the run: writes files, prints results."""
    return current_launch().is_main


def rank_batch_size(batch_size: int) -> int:
    """`--batch-size` is the global batch; each of the N ranks takes batch_size / N per step."""
    world_size = active_launch().world_size
    if batch_size % world_size:
        raise D2lkitError(
            f"--batch-size {batch_size} is the global batch and must split evenly over"
            f" {world_size} ranks; pass a multiple of {world_size}"
        )
    return batch_size // world_size


def require_out_for_restarts(out: str | None) -> None:
    if current_launch().max_restarts > 0 and out is None:
        raise D2lkitError(
            "torchrun --max-restarts: pass --out DIR, so that restarted ranks find the checkpoint"
            " to continue from (the default run directory is named after the clock)"
        )


def launch_id() -> str | None:
    """A name for this torchrun launch: the same in every restart of it, different for the next.

    torchrun's run id when it has one (`--rdzv-id`, or a fresh one under `--standalone`), else the
    torchrun agent this rank runs under (host, process id, start time); None outside torchrun.
    """
    if not launched():
        return None
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    if run_id not in ("", "none"):
        return run_id
    agent = os.getppid()
    try:
        # Field 22 of /proc/PID/stat, the start time, is the 20th after the ")" ending the name.
        started = Path(f"/proc/{agent}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "unknown"
    return f"{socket.gethostname()}:{agent}:{started}"


def continues_this_launch(checkpoint: dict) -> bool:
    """After a torchrun restart, a checkpoint this launch wrote is continued, not refused."""
    launch = current_launch()
    return launch.restart_count > 0 and checkpoint.get("launch") == launch_id()


def facts() -> dict:
    """What env.json records about the launch."""
    if not active():
        return {}
    launch = active_launch()
    return {"world_size": launch.world_size, "backend": str(dist.get_backend())}


# -- the model and the loss ----------------------------------------------------------------------


# Buffers are not synced at every forward pass (the flag's name changed in recent torch releases).
NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else {"broadcast_buffers": False}
)


class DataParallel(DistributedDataParallel):
    """DDP that evaluates without collectives, with the buffers of rank 0.

    Buffers (BatchNorm running statistics) are not broadcast at every forward pass: ranks evaluate
    different numbers of batches, so an evaluation forward must not wait for the other ranks.
    Instead rank 0's buffers are copied to every rank once, when the model switches to
    evaluation, so all ranks test the model that rank 0 saves.
    """

    def train(self, mode: bool = True) -> DataParallel:
        if not mode and self.training:
            for buffer in self.module.buffers():
                dist.broadcast(buffer, src=0)
        return super().train(mode)


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """The model the trainer steps: `DataParallel(model)` while the group is up, else `model`.
    Its parameters are `model`'s, so optimisers and checkpoints keep using `model`."""
    if not active():
        return model
    if device.type == "cuda":
        torch.cuda.set_device(device)
        # Batch statistics over the global batch, as one process with batch B computes them
        # (in place: the root of a d2lkit model is never a BatchNorm layer itself). gloo has no
        # SyncBatchNorm, so on the CPU each rank normalises over its own B/N samples.
        nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DataParallel(model, device_ids=[device.index], **NO_FORWARD_BUFFER_SYNC)
    return DataParallel(model, **NO_FORWARD_BUFFER_SYNC)


def averaged_count(loss_fn: Callable, targets: torch.Tensor) -> torch.Tensor:
    """How many terms a mean loss averages over: targets, less those it ignores (VOC borders)."""
    ignore_index = getattr(loss_fn, "ignore_index", None)
    if ignore_index is not None and not targets.is_floating_point():
        return (targets != ignore_index).sum().double()
    return torch.tensor(float(targets.numel()), device=targets.device, dtype=torch.float64)


class ShardWeightedLoss(nn.Module):
    """A mean loss whose gradient counts for this rank's share of the global batch.

    DDP averages gradients: with n_r terms on rank r and n in the global batch it computes
    (1/N) sum_r grad(mean_r). That is grad(mean over n) only when every n_r = n/N. A short last
    batch split unevenly (or pixels ignored unevenly) breaks it, so each rank's gradient is scaled
    by N n_r / n: then (1/N) sum_r (N n_r / n) grad(mean_r) = (1/n) sum of all terms' gradients.
    The returned value stays the plain mean over this rank's terms, for the metrics.
    """

    def __init__(self, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.loss_fn = loss_fn

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fn(outputs, targets)
        if not torch.is_grad_enabled():  # evaluation: nothing is averaged across ranks
            return loss
        share = averaged_count(self.loss_fn, targets).to(loss.device)
        total = share.clone()
        dist.all_reduce(total)  # (one scalar per step) n, the global batch's terms
        scale = (share * dist.get_world_size() / total.clamp(min=1)).to(loss.dtype)
        # Value: loss exactly (the added term is zero). Gradient: scale times that of loss.
        return loss + (scale - 1) * (loss - loss.detach())


def shard_weighted(loss_fn: Callable) -> Callable:
    return ShardWeightedLoss(loss_fn) if active() else loss_fn


# -- metrics and callbacks -----------------------------------------------------------------------


class SummedAcrossRanks:
    """A metric meter whose sums are added up across ranks before it computes.

    A meter's tensors and its `count` are sums over batches (metrics.py); its other attributes
    (e.g. `num_classes`) are settings. At `compute` each sum is all-reduced in place (a few
    collectives per epoch), so every rank gets the metrics of the whole epoch or test set.
    """

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def update(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.meter.update(loss, outputs, targets)

    def compute(self) -> dict:
        sums = [value for value in vars(self.meter).values() if isinstance(value, torch.Tensor)]
        for value in sums:
            dist.all_reduce(value)  # in place; int64 counts stay exact
        count = torch.tensor(self.meter.count, dtype=torch.int64, device=sums[0].device)
        dist.all_reduce(count)
        self.meter.count = int(count)
        return self.meter.compute()


def summed_across_ranks(meter: Meter) -> Meter:
    return SummedAcrossRanks(meter) if active() else meter


class RankRandomStreams(Callback):
    """Each rank its own random stream (dropout, random layers), reseeded from (seed, epoch,
    rank) at every epoch: ranks must not draw the same dropout masks, and a resumed run draws
    the same numbers as an uninterrupted one without saving every rank's generator state."""

    def __init__(self, seed: int, rank: int) -> None:
        self.seed = seed
        self.rank = rank

    def on_epoch_start(self, trainer: Trainer) -> None:
        entropy = np.random.SeedSequence([self.seed, trainer.epoch, self.rank])
        seed_everything(int(entropy.generate_state(1)[0]))


class GlobalThroughput(Callback):
    """train_images_per_s of the whole job, not of one rank."""

    def on_eval_end(self, trainer: Trainer) -> None:
        images = torch.tensor([float(trainer.images_in_epoch)], dtype=torch.float64)
        dist.all_reduce(images)
        trainer.epoch_metrics["train_images_per_s"] = (
            images.item() / trainer.epoch_metrics["train_s"]
        )


def rank_callbacks(seed: int) -> list[Callback]:
    """The callbacks every rank runs under data-parallel training (rank 0 adds the writers)."""
    if not active():
        return []
    return [RankRandomStreams(seed, dist.get_rank()), GlobalThroughput()]
