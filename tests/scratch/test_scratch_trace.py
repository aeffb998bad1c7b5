"""Optimiser trajectories on f(x) = 0.1 x1^2 + 2 x2^2 and the real-task loss curves."""

import pytest
import torch
from PIL import Image

from d2lkit.cli.optim import REAL_TASK_QUICK
from d2lkit.scratch import trace

SPECS = {spec.name: spec for spec in trace.TRACE_OPTIMIZERS}


def assert_valid_png(path):
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width > 100 and image.height > 100


def test_gradient_descent_converges_towards_the_minimum():
    points = trace.trajectory(SPECS["GD"], steps=100)
    values = torch.stack([trace.f_2d(p) for p in points])
    assert torch.all(values[1:] < values[:-1]), "GD on a convex quadratic with lr 0.4 must descend"
    assert points[-1].norm() < 0.02 * points[0].norm()
    assert values[20] < 0.02 * values[0]


def test_every_trajectory_starts_at_the_books_point_and_stays_finite():
    for spec in trace.TRACE_OPTIMIZERS:
        points = trace.trajectory(spec, steps=20)
        assert points.shape == (21, 2)
        assert points[0].tolist() == list(trace.START)
        assert torch.isfinite(points).all(), spec.name
        assert trace.f_2d(points[-1]) < trace.f_2d(points[0]), spec.name


def test_momentum_and_rmsprop_beat_plain_gd_on_the_ill_conditioned_quadratic():
    final = {name: trace.f_2d(trace.trajectory(SPECS[name])[-1]) for name in SPECS}
    assert final["Momentum"] < final["GD"] / 100
    assert final["RMSProp"] < final["GD"] / 100


def test_sgd_noise_follows_the_seed():
    a = trace.trajectory(SPECS["SGD"], seed=1)
    assert torch.equal(a, trace.trajectory(SPECS["SGD"], seed=1))
    assert not torch.equal(a, trace.trajectory(SPECS["SGD"], seed=2))
    assert torch.equal(trace.trajectory(SPECS["GD"], seed=1), trace.trajectory(SPECS["GD"], seed=2))


def test_plot_trajectories_draws_each_path_in_its_own_panel(tmp_path, saved_figures):
    trajectories = {spec.name: trace.trajectory(spec, steps=5) for spec in trace.TRACE_OPTIMIZERS}
    assert_valid_png(trace.plot_trajectories(trajectories, tmp_path / "t.png"))
    panels = saved_figures[0].axes
    for ax, (name, points) in zip(panels, trajectories.items(), strict=False):
        (path,) = ax.get_lines()
        assert ax.get_title().startswith(name)
        assert path.get_xdata().tolist() == points[:, 0].tolist()
        assert path.get_ydata().tolist() == points[:, 1].tolist()
    assert not any(ax.axison for ax in panels[len(trajectories) :])  # spare panels hidden


@pytest.fixture
def toy_images():
    """300 4x4 uint8 "images" of 3 classes, each class brighter in its own rows."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(300) % 3
    images = torch.randint(0, 100, (300, 4, 4), generator=generator)
    for c in range(3):
        images[labels == c, c] += 150
    return images.to(torch.uint8), labels


def test_every_optimiser_lowers_the_real_task_loss(tmp_path, toy_images):
    images, labels = toy_images
    curves = trace.real_task_curves(images, labels, epochs=4, batch_size=32, eval_every=3)
    assert list(curves) == [spec.name for spec in trace.REAL_TASK_OPTIMIZERS]
    for name, curve in curves.items():
        # 300 // 32 = 9 full batches per epoch (the short last one is dropped).
        assert curve.steps[0] == 0 and curve.steps[-1] == 36, name
        assert len(curve.steps) == len(curve.losses)
        assert curve.losses[-1] < 0.85 * curve.losses[0], name
    assert_valid_png(trace.plot_loss_curves(curves, tmp_path / "loss.png"))


def test_full_batch_gd_descends_at_every_step_on_fashion_mnist(fashion):
    """GD has no gradient noise: past its stable step its loss zigzags (lr 0.2 rose in 14 of these
    31 steps), and the picture would teach that GD is noisy. --quick's sizes, loss at every step."""
    (gd,) = [spec for spec in trace.REAL_TASK_OPTIMIZERS if spec.name == "GD"]
    size, epochs, batch_size = REAL_TASK_QUICK
    images, labels = fashion.train.images[:size], fashion.train.labels[:size]
    curve = trace.real_task_curves(
        images, labels, (gd,), epochs=epochs, batch_size=batch_size, eval_every=1
    )["GD"]
    assert len(curve.losses) == size // batch_size + 1
    rises = [b - a for a, b in zip(curve.losses, curve.losses[1:], strict=False) if b > a]
    assert rises == []
