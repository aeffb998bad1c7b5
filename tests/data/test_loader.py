"""The fast in-memory loader: order, coverage, shapes, normalisation, shards, state."""

from __future__ import annotations

import pytest
import torch

from d2lkit.data.loader import TensorLoader

N = 103  # not a multiple of any batch size used here, so the last batch is short


def dataset(n: int = N, side: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose pixels encode their index; targets are the indices themselves."""
    images = (torch.arange(n) % 256).to(torch.uint8)[:, None, None].expand(n, side, side)
    return images.contiguous(), torch.arange(n)


def epoch_targets(loader: TensorLoader) -> list[torch.Tensor]:
    return [y for _, y in loader]


def test_same_seed_same_batches():
    images, targets = dataset()
    a = TensorLoader(images, targets, 16, shuffle=True, seed=3)
    b = TensorLoader(images, targets, 16, shuffle=True, seed=3)
    for _ in range(2):  # two epochs: the generator state advances identically
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_different_seeds_and_epochs_give_different_orders():
    images, targets = dataset()
    first = torch.cat(epoch_targets(TensorLoader(images, targets, 16, shuffle=True, seed=0)))
    other = torch.cat(epoch_targets(TensorLoader(images, targets, 16, shuffle=True, seed=1)))
    assert not torch.equal(first, other)
    loader = TensorLoader(images, targets, 16, shuffle=True, seed=0)
    epoch1, epoch2 = torch.cat(epoch_targets(loader)), torch.cat(epoch_targets(loader))
    assert torch.equal(epoch1, first)
    assert not torch.equal(epoch1, epoch2)


def test_unshuffled_order_is_the_data_order():
    images, targets = dataset()
    assert torch.equal(torch.cat(epoch_targets(TensorLoader(images, targets, 16))), targets)


@pytest.mark.parametrize("batch_size", [1, 10, 16, N, 200])
def test_an_epoch_covers_every_sample_exactly_once(batch_size):
    images, targets = dataset()
    loader = TensorLoader(images, targets, batch_size, shuffle=True, seed=5)
    batches = epoch_targets(loader)
    assert len(batches) == len(loader) == -(-N // batch_size)
    assert torch.equal(torch.cat(batches).sort().values, targets)
    assert all(len(b) == batch_size for b in batches[:-1])
    assert len(batches[-1]) == N - batch_size * (len(batches) - 1)


def test_drop_last_keeps_full_batches_only():
    images, targets = dataset()
    loader = TensorLoader(images, targets, 16, shuffle=True, seed=0, drop_last=True)
    batches = epoch_targets(loader)
    assert len(batches) == len(loader) == N // 16
    assert [len(b) for b in batches] == [16] * (N // 16)
    assert len(set(torch.cat(batches).tolist())) == 16 * (N // 16)  # still no repeats


def test_images_follow_their_targets():
    images, targets = dataset()
    for x, y in TensorLoader(images, targets, 16, shuffle=True, seed=2):
        # pixel value == index % 256 == the target; scaled to [0, 1].
        assert torch.allclose(x[:, 0, 0, 0], (y % 256).float() / 255)


@pytest.mark.parametrize("resize", [28, 96, 224])
@pytest.mark.parametrize("side", [(28, 28), (20, 28), (28, 20)], ids=["square", "wide", "tall"])
def test_resize_shape(resize, side):
    images = torch.randint(0, 256, (10, *side), dtype=torch.uint8)
    x, y = next(iter(TensorLoader(images, torch.zeros(10), 4, resize=resize)))
    assert x.shape == (4, 1, resize, resize)
    assert x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1


def test_resize_of_a_constant_image_stays_constant():
    images = torch.full((2, 28, 28), 51, dtype=torch.uint8)
    x, _ = next(iter(TensorLoader(images, torch.zeros(2), 2, resize=96)))
    assert torch.allclose(x, torch.full_like(x, 0.2))


def test_normalisation_per_channel():
    images = torch.randint(0, 256, (8, 3, 5, 5), dtype=torch.uint8)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    x, _ = next(iter(TensorLoader(images, torch.zeros(8), 8, mean=mean, std=std)))
    expected = (images.float() / 255 - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[
        :, None, None
    ]
    assert torch.allclose(x, expected, atol=1e-6)


@pytest.mark.parametrize("global_batch", [16, 15])
def test_two_ranks_split_each_global_batch(global_batch):
    """Ranks 0 and 1 with batch B/2 see disjoint halves of the batch one process sees with B."""
    images, targets = dataset()
    single = TensorLoader(images, targets, global_batch, shuffle=True, seed=4)
    per_rank = -(-global_batch // 2)
    ranks = [
        TensorLoader(images, targets, per_rank, shuffle=True, seed=4, rank=r, world_size=2)
        for r in (0, 1)
    ]
    if global_batch % 2:  # an odd global batch cannot be split; the per-rank size defines it
        single = TensorLoader(images, targets, 2 * per_rank, shuffle=True, seed=4)
    assert len(ranks[0]) == len(ranks[1]) == len(single)
    for (_, y), (x0, y0), (_, y1) in zip(single, ranks[0], ranks[1], strict=True):
        assert not set(y0.tolist()) & set(y1.tolist())
        assert torch.equal(torch.cat([y0, y1]), y)
        assert abs(len(y0) - len(y1)) <= 1
        assert torch.allclose(x0[:, 0, 0, 0], (y0 % 256).float() / 255)


def test_state_dict_restores_the_order_of_the_next_epoch():
    images, targets = dataset()
    loader = TensorLoader(images, targets, 16, shuffle=True, seed=9)
    epoch_targets(loader)
    state = loader.state_dict()
    expected = torch.cat(epoch_targets(loader))
    fresh = TensorLoader(images, targets, 16, shuffle=True, seed=123)
    fresh.load_state_dict(state)
    assert torch.equal(torch.cat(epoch_targets(fresh)), expected)


def test_augment_draws_from_the_loader_generator():
    images, targets = dataset()

    def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        return torch.where(flip[:, None, None, None], x.flip(-1), x) + torch.rand(
            x.shape[0], 1, 1, 1, generator=generator
        )

    a = TensorLoader(images, targets, 16, shuffle=True, seed=1, augment=random_flip)
    b = TensorLoader(images, targets, 16, shuffle=True, seed=1, augment=random_flip)
    xs_a = [x for x, _ in a]
    assert all(torch.equal(xa, xb) for xa, (xb, _) in zip(xs_a, b, strict=True))
    assert not torch.equal(xs_a[0], a.transform(images[:16].unsqueeze(1)))  # it did augment


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="10 images but 9 targets"):
        TensorLoader(torch.zeros(10, 4, 4, dtype=torch.uint8), torch.zeros(9), 2)


def test_float_images_are_not_divided_by_255_again_unasked():
    with pytest.raises(ValueError, match="pass scale=1"):
        TensorLoader(torch.rand(8, 1, 4, 4), torch.zeros(8), 2)
    x, _ = next(iter(TensorLoader(torch.full((8, 1, 4, 4), 0.5), torch.zeros(8), 2, scale=1.0)))
    assert torch.all(x == 0.5)


def test_statistics_for_another_channel_count_are_refused():
    gray = torch.zeros(8, 28, 28, dtype=torch.uint8)
    with pytest.raises(ValueError, match="mean has 3 values for 1-channel images"):
        TensorLoader(gray, torch.zeros(8), 2, mean=(0.5, 0.5, 0.5), std=0.5)


def test_real_data_batch(fashion):
    loader = TensorLoader(fashion.test.images, fashion.test.labels, 256)
    x, y = next(iter(loader))
    assert x.shape == (256, 1, 28, 28) and y.shape == (256,)
    assert torch.allclose(x[0, 0], fashion.test.images[0].float() / 255)
    assert len(loader) == 40  # 10000 / 256, the last batch short


def test_only_a_training_loader_leaves_out_a_last_batch_of_one():
    """Batch norm cannot train on one image; an evaluation set must still count every image."""
    images, targets = torch.zeros(9, 1, 2, 2, dtype=torch.uint8), torch.arange(9)
    training = TensorLoader(images, targets, 4, shuffle=True)
    evaluation = TensorLoader(images, targets, 4)
    assert [len(y) for _, y in training] == [4, 4] and len(training) == 2
    assert [len(y) for _, y in evaluation] == [4, 4, 1] and len(evaluation) == 3
    one = TensorLoader(images[:1], targets[:1], 4)
    assert [y.tolist() for _, y in one] == [[0]]


def test_one_dimensional_inputs_are_batched():
    x, _ = next(iter(TensorLoader(torch.arange(10.0), torch.zeros(10), 4, scale=1.0)))
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
