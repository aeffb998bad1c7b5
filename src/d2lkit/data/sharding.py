"""How data-parallel ranks share the data: one seeded permutation for all, each rank a slice.

Training: every rank draws the same permutation each epoch, cuts it into global batches of
`batch_size * world_size` samples, and takes the `rank`-th of `world_size` near-equal parts of each
global batch. Over all ranks, step k covers exactly the samples of step k of one process whose batch
is the global batch, so N ranks with batch B/N follow that process's trajectory. The fast loader
(loader.py) and the torchvision DataLoader path (`ShardedDataLoader`) share this code.

Evaluation: every sample counts once, in any order, so each rank takes one contiguous part of the
set (`evaluation_slice`) and the metric sums are added up across ranks.

Random transforms: `ShardedDataLoader` seeds torch's RNG for each sample from the sampler's own
seeded stream, so an image is transformed the same way whichever worker process loads it; a resumed
run, or a machine with another number of workers, sees the same training images as the first.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def num_global_batches(
    num_samples: int,
    global_batch_size: int,
    world_size: int = 1,
    drop_last: bool = False,
    training: bool = False,
) -> int:
    """Batches of an epoch. A short last batch that would leave some rank no sample sits the
    epoch out (an empty batch has no mean loss), and in `training` one that would leave a rank a
    single sample too (batch norm cannot train on one); an evaluation keeps every sample. One
    process keeps a last batch that N ranks leave out: the only case where they see different
    data."""
    full, rest = divmod(num_samples, global_batch_size)
    if drop_last or rest == 0:
        return full
    least = 2 if training else 1  # samples per rank
    return full + (rest >= least * world_size)


def rank_batches(
    order: torch.Tensor,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = False,
    training: bool = False,
) -> Iterator[torch.Tensor]:
    """This rank's index batches from `order` (N,): its part of each global batch."""
    global_batch_size = batch_size * world_size
    count = num_global_batches(len(order), global_batch_size, world_size, drop_last, training)
    for start in range(0, count * global_batch_size, global_batch_size):
        # A short last batch is split as evenly as possible (sizes differ by at most one).
        yield order[start : start + global_batch_size].tensor_split(world_size)[rank]


def evaluation_slice(num_samples: int, rank: int = 0, world_size: int = 1) -> slice:
    """The contiguous part of an evaluation set that `rank` evaluates."""
    bounds = torch.arange(num_samples).tensor_split(world_size)[rank]
    start = int(bounds[0]) if len(bounds) else num_samples
    return slice(start, start + len(bounds))


class ShardedBatchSampler(Sampler[list[int]]):
    """Index batches for a DataLoader: a seeded permutation per epoch, this rank's share of each
    global batch. `state_dict` holds the generator, so a resumed run draws the same orders.
    `item_seeds`: each index comes with a seed for its sample's random transforms, as a pair
    (index, seed), drawn from a second generator so the orders stay those without seeds."""

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        item_seeds: bool = False,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside a world of {world_size}")
        self.num_samples = num_samples
        self.batch_size = batch_size  # per rank
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        # Same seed on every rank -> same permutation on every rank.
        self.generator = torch.Generator().manual_seed(seed)
        self.item_seeds = torch.Generator().manual_seed(seed) if item_seeds else None

    def __len__(self) -> int:
        return num_global_batches(
            self.num_samples, self.batch_size * self.world_size, self.world_size, self.drop_last,
            training=self.shuffle,  # a shuffled loader is a training loader
        )  # fmt: skip

    def __iter__(self) -> Iterator[list[int] | list[tuple[int, int]]]:
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=self.generator)
        else:
            order = torch.arange(self.num_samples)
        seeds = None
        if self.item_seeds is not None:  # (N,) one per sample; torch.manual_seed keeps 32 bits
            seeds = torch.randint(2**32, (self.num_samples,), generator=self.item_seeds)
        for index in rank_batches(
            order, self.batch_size, self.rank, self.world_size, self.drop_last, self.shuffle
        ):
            if seeds is None:
                yield index.tolist()
            else:
                yield list(zip(index.tolist(), seeds[index].tolist(), strict=True))

    def state_dict(self) -> dict:
        state = {"generator": self.generator.get_state()}
        if self.item_seeds is not None:
            state["item_seeds"] = self.item_seeds.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        # A checkpoint from before per-image seeds has none: its images get new random draws.
        if self.item_seeds is not None and "item_seeds" in state:
            self.item_seeds.set_state(state["item_seeds"])


class SeededItems(Dataset):
    """`dataset`, indexed by (index, seed): the sample drawn with torch's RNG seeded by `seed`,
    whichever process draws it. The caller's RNG state is left as it was (workers=0 draws in the
    training process, whose dropout must not see the transforms' draws)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]):
        index, seed = item
        # The CPU generator only, which the transforms draw from: torch.manual_seed would also
        # reseed every GPU's (fork_rng restores the CPU's alone), and cost 40 times as much.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            return self.dataset[index]


class ShardedDataLoader(DataLoader):
    """A torchvision-style DataLoader (per-sample transforms, workers) whose batches come from a
    `ShardedBatchSampler`; with `rank=0, world_size=1` it is a plain seeded, resumable loader.
    Its random transforms draw from per-sample seeds the sampler's state keeps (`SeededItems`)."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
        **loader_options,
    ) -> None:
        sampler = ShardedBatchSampler(
            len(dataset), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last,
            rank=rank, world_size=world_size, item_seeds=True,
        )  # fmt: skip
        super().__init__(SeededItems(dataset), batch_sampler=sampler, **loader_options)

    def state_dict(self) -> dict:
        return self.batch_sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batch_sampler.load_state_dict(state)
