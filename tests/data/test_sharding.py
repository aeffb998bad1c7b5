"""How data-parallel ranks share the data: the fast loader and the DataLoader path agree, every
sample of a step is on exactly one rank, and the ranks' shared generators never drift apart."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from d2lkit.data.loader import TensorLoader
from d2lkit.data.sharding import (
    ShardedBatchSampler,
    ShardedDataLoader,
    evaluation_slice,
    num_global_batches,
)


def indexed(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 4, 4) uint8 images; the targets are the sample indices."""
    return torch.zeros(n, 4, 4, dtype=torch.uint8), torch.arange(n)


def epoch(loader) -> list[torch.Tensor]:
    return [y for _, y in loader]


@pytest.mark.parametrize("n", [40, 43, 41])  # full batches; a short last batch; one of 1 sample
def test_dataloader_path_gives_each_rank_what_the_fast_loader_gives_it(n):
    images, targets = indexed(n)
    dataset = TensorDataset(images.float(), targets)
    for rank in (0, 1):
        fast = TensorLoader(images, targets, 4, shuffle=True, seed=5, rank=rank, world_size=2)
        slow = ShardedDataLoader(dataset, 4, shuffle=True, seed=5, rank=rank, world_size=2)
        assert len(fast) == len(slow)
        for _ in range(2):
            for y_fast, y_slow in zip(epoch(fast), epoch(slow), strict=True):
                assert torch.equal(y_fast, y_slow)


def test_ranks_together_see_what_one_process_sees_step_by_step():
    n = 45  # 5 global batches of 8 and one of 5, split 3 + 2
    images, targets = indexed(n)
    single = ShardedBatchSampler(n, 8, shuffle=True, seed=2)
    ranks = [ShardedBatchSampler(n, 4, shuffle=True, seed=2, rank=r, world_size=2) for r in (0, 1)]
    for _ in range(3):
        steps = list(zip(single, *ranks, strict=True))
        assert len(steps) == 6
        for whole, part0, part1 in steps:
            assert part0 + part1 == whole
        assert sorted(i for whole, _, _ in steps for i in whole) == list(range(n))


def test_a_last_batch_leaving_a_rank_too_few_samples_is_skipped():
    """An empty batch has no mean loss; batch norm cannot train on a batch of one, so in
    training a last batch of one per rank is skipped too, while an evaluation keeps every
    sample."""
    assert num_global_batches(41, 8, world_size=2) == 5  # 1 left: one rank would get none
    assert num_global_batches(43, 8, world_size=2) == 6
    assert num_global_batches(43, 8, world_size=2, training=True) == 5  # 3 left: one rank gets 1
    assert num_global_batches(44, 8, world_size=2, training=True) == 6  # 4 left: 2 each
    assert num_global_batches(41, 8, world_size=1, training=True) == 5  # the 41st sits out
    assert num_global_batches(41, 8, world_size=1) == 6
    sampler = ShardedBatchSampler(43, 4, shuffle=True, rank=1, world_size=2)
    assert all(len(batch) == 4 for batch in sampler)


def test_sampler_state_dict_resumes_the_next_epoch():
    sampler = ShardedBatchSampler(30, 4, shuffle=True, seed=7, rank=1, world_size=2)
    list(sampler)
    state = sampler.state_dict()
    expected = list(sampler)
    resumed = ShardedBatchSampler(30, 4, shuffle=True, seed=0, rank=1, world_size=2)
    resumed.load_state_dict(state)
    assert list(resumed) == expected


def test_evaluation_slices_cover_the_set_once():
    for n, world in [(10, 3), (10_000, 2), (1, 2)]:
        parts = [range(n)[evaluation_slice(n, r, world)] for r in range(world)]
        assert [i for part in parts for i in part] == list(range(n))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def noisy_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draws as many numbers as the batch holds, like a real per-image augmentation."""
    return x + torch.rand(x.shape[0], 1, 1, 1, generator=generator)


def test_augmenting_ranks_keep_one_permutation_though_their_shares_differ():
    # 45 samples in global batches of 8: the last one is split 3 + 2, so rank 0 augments one
    # more image than rank 1. Drawing that from the shared generator would desynchronise the
    # next epoch's permutation and let the ranks' shards overlap.
    images, targets = indexed(45)
    ranks = [
        TensorLoader(
            images, targets, 4, shuffle=True, seed=1, augment=noisy_augment, rank=r, world_size=2
        )
        for r in (0, 1)
    ]
    for _ in range(3):
        batches = [list(loader) for loader in ranks]
        for (_, y0), (_, y1) in zip(*batches, strict=True):
            assert not set(y0.tolist()) & set(y1.tolist())
        covered = sorted(int(i) for b in batches for _, y in b for i in y)
        assert covered == list(range(45))
        assert torch.equal(ranks[0].generator.get_state(), ranks[1].generator.get_state())
    # Each rank augments with its own stream: the same images get different noise.
    (x0, _), (x1, _) = next(iter(ranks[0])), next(iter(ranks[1]))
    assert not torch.equal(x0, x1)


def test_per_image_seeds_touch_only_the_cpu_generator(monkeypatch):
    """torch.manual_seed reseeded every GPU's generator, which fork_rng(devices=[]) does not put
    back: in the training process (workers=0) a GPU run's dropout lost its stream."""
    from d2lkit.data.sharding import SeededItems

    def refuse(seed):
        raise AssertionError("a GPU generator was reseeded")

    monkeypatch.setattr(torch.cuda, "manual_seed_all", refuse)
    items = SeededItems([None] * 3)
    items.dataset = type("Draws", (), {"__getitem__": lambda self, i: torch.rand(2)})()
    before = torch.get_rng_state()
    assert torch.equal(items[(1, 7)], items[(2, 7)])  # the seed decides, not the index
    assert torch.equal(torch.get_rng_state(), before)
