"""Training options do what they say: label smoothing, weight decay, gradient clipping,
learning-rate schedules, per-group learning rates, optimisers by name, the book's defaults."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.data.loader import TensorLoader
from d2lkit.errors import D2lkitError
from d2lkit.models import create_model
from d2lkit.train.config import TrainConfig
from d2lkit.train.optim import (
    OPTIMIZERS,
    USUAL_LR,
    build_optimizer,
    build_scheduler,
    load_optimizer_state,
    param_groups,
)
from d2lkit.train.run import build_run
from d2lkit.train.trainer import Trainer


def make_run(tmp_path, **settings):
    config = TrainConfig(**{"model": "mlp", "batch_size": 64, "progress": False, **settings})
    return build_run(config, tmp_path / "run")


def test_book_defaults_fill_unset_optimizer_and_lr(tmp_path, tiny_fashion):
    mlp = make_run(tmp_path, model="mlp")
    assert mlp.config.optimizer == "sgd" and mlp.config.lr == 0.5
    assert isinstance(mlp.trainer.optimizer, torch.optim.SGD)
    lenet = make_run(tmp_path, model="lenet")
    assert lenet.config.optimizer == "adam" and lenet.config.lr == 1e-3
    assert isinstance(lenet.trainer.optimizer, torch.optim.Adam)
    chosen = make_run(tmp_path, model="lenet", optimizer="rmsprop", lr=0.01)
    assert isinstance(chosen.trainer.optimizer, torch.optim.RMSprop)
    assert chosen.trainer.optimizer.param_groups[0]["lr"] == 0.01


def test_label_smoothing(tmp_path, tiny_fashion):
    eps = 0.2
    loss_fn = make_run(tmp_path, label_smoothing=eps).trainer.loss_fn
    logits = torch.randn(6, 10, dtype=torch.float64)
    targets = torch.tensor([0, 3, 9, 2, 2, 5])
    log_p = F.log_softmax(logits, dim=1)
    nll = -log_p[torch.arange(6), targets]
    uniform = -log_p.mean(dim=1)  # cross-entropy against the uniform distribution
    expected = ((1 - eps) * nll + eps * uniform).mean()
    assert torch.allclose(loss_fn(logits, targets), expected, atol=1e-12)
    plain = make_run(tmp_path).trainer.loss_fn
    assert torch.allclose(plain(logits, targets), nll.mean(), atol=1e-12)


def test_label_smoothing_trains_but_the_test_loss_is_plain_cross_entropy(tmp_path, tiny_fashion):
    """The test loss of a smoothed run was the smoothed loss: no run compared with another."""
    run = make_run(tmp_path, label_smoothing=0.3)
    model = run.trainer.model.eval()
    with torch.no_grad():
        pairs = [(model(x), y) for x, y in run.data.test]
    scores, targets = torch.cat([s for s, _ in pairs]), torch.cat([y for _, y in pairs])
    expected = F.cross_entropy(scores, targets).item()
    assert math.isclose(run.trainer.evaluate()["loss"], expected, rel_tol=1e-5)
    assert not math.isclose(run.trainer.loss_fn(scores, targets).item(), expected, rel_tol=1e-3)


def test_another_optimizer_than_the_books_takes_its_own_usual_lr(tmp_path, tiny_fashion):
    """The book's lr belongs to the book's optimiser: lenet's Adam 0.001 left SGD at chance,
    and mlp's SGD 0.5 made Adam diverge."""
    assert make_run(tmp_path, model="lenet", optimizer="sgd").config.lr == 0.1
    assert make_run(tmp_path, model="lenet", optimizer="momentum").config.lr == 0.01
    assert make_run(tmp_path, model="mlp", optimizer="adam").config.lr == 1e-3
    assert make_run(tmp_path, model="mlp", optimizer="adadelta").config.lr == 1.0
    assert make_run(tmp_path, model="mlp", optimizer="sgd").config.lr == 0.5  # the book's
    assert make_run(tmp_path, model="mlp", optimizer="adam", lr=0.2).config.lr == 0.2
    assert set(USUAL_LR) == set(OPTIMIZERS)  # a new optimiser comes with its usual rate


def test_an_unknown_optimizer_from_the_api_is_one_line():
    """The CLI offers only known names; from Python, resolving the usual lr raised KeyError."""
    with pytest.raises(D2lkitError, match="--optimizer must be one of sgd, .* got 'lamb'"):
        TrainConfig(model="mlp", optimizer="lamb").validate()


def test_a_batch_norm_model_trains_when_one_image_would_be_left_for_the_last_batch(
    tmp_path, tiny_fashion
):
    """256 images in batches of 255: the last batch of one is left out, since batch norm
    cannot train on a single image (before, the epoch ended in a traceback)."""
    run = make_run(tmp_path, model="lenet_bn", batch_size=255, epochs=1)
    metrics = run.trainer.train_epoch()
    assert math.isfinite(metrics["loss"])
    assert (len(run.data.train), run.trainer.images_in_epoch) == (1, 255)


def test_weight_decay_shrinks_weights_when_the_gradient_is_zero(tmp_path, tiny_fashion):
    run = make_run(tmp_path, optimizer="sgd", lr=0.5, weight_decay=0.1)
    optimizer = run.trainer.optimizer
    assert all(group["weight_decay"] == 0.1 for group in optimizer.param_groups)
    before = [p.detach().clone() for p in run.model.parameters()]
    for p in run.model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for old, new in zip(before, run.model.parameters(), strict=True):
        assert torch.allclose(new, old * (1 - 0.5 * 0.1), atol=1e-7)


def one_step_change(grad_clip: float | None) -> float:
    """Norm of the weight change of one plain-SGD (lr 1) step on one batch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    images = torch.randint(0, 256, (8, 4, 4), dtype=torch.uint8)
    loader = TensorLoader(images, torch.arange(8) % 4, 8)
    trainer = Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=1.0),
        nn.CrossEntropyLoss(),
        loader,
        loader,
        grad_clip=grad_clip,
    )
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    trainer.train_epoch()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    return (after - before).norm().item()


def test_grad_clip_bounds_the_gradient_norm():
    assert one_step_change(None) > 0.1
    assert one_step_change(1e-3) == pytest.approx(1e-3, rel=1e-3)
    assert one_step_change(100.0) == pytest.approx(one_step_change(None), rel=1e-6)


def test_head_lr_mult_gives_the_last_layer_its_own_rate():
    model = create_model("lenet", num_classes=10, in_channels=1)
    groups = param_groups(model, 0.01, head_lr_mult=10)
    head = model[-1]  # Linear(84, 10)
    assert [g["lr"] for g in groups] == [0.01, pytest.approx(0.1)]
    assert {id(p) for p in groups[1]["params"]} == {id(head.weight), id(head.bias)}
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    assert param_groups(model, 0.01)[0]["lr"] == 0.01 and len(param_groups(model, 0.01)) == 1


def test_head_lr_mult_through_a_run(tmp_path, tiny_fashion):
    run = make_run(tmp_path, optimizer="sgd", lr=0.01, head_lr_mult=10, momentum=0.0)
    optimizer = run.trainer.optimizer
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, pytest.approx(0.1)]
    before = [p.detach().clone() for p in run.model.parameters()]
    for p in run.model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    changes = [
        (old - new).mean().item() for old, new in zip(before, run.model.parameters(), strict=True)
    ]
    head_weight, head_bias = changes[-2:]
    assert all(c == pytest.approx(0.01) for c in changes[:-2])
    assert head_weight == pytest.approx(0.1) and head_bias == pytest.approx(0.1)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_by_name(name):
    expected = {
        "sgd": (torch.optim.SGD, {"momentum": 0, "nesterov": False}),
        "momentum": (torch.optim.SGD, {"momentum": 0.8, "nesterov": False}),
        "nesterov": (torch.optim.SGD, {"momentum": 0.8, "nesterov": True}),
        "adam": (torch.optim.Adam, {}),
        "adamw": (torch.optim.AdamW, {}),
        "rmsprop": (torch.optim.RMSprop, {}),
        "adagrad": (torch.optim.Adagrad, {}),
        "adadelta": (torch.optim.Adadelta, {}),
    }[name]
    param = nn.Parameter(torch.zeros(3))
    optimizer = build_optimizer(name, [{"params": [param], "lr": 0.3}], 0.3, 0.8, 0.01)
    cls, settings = expected
    assert type(optimizer) is cls
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.3 and group["weight_decay"] == 0.01
    for key, value in settings.items():
        assert group[key] == value


def test_unknown_optimizer_and_scheduler_are_refused():
    param = nn.Parameter(torch.zeros(1))
    with pytest.raises(D2lkitError, match="unknown optimizer 'lbfgs'"):
        build_optimizer("lbfgs", [{"params": [param]}], 0.1)
    with pytest.raises(D2lkitError, match="unknown scheduler"):
        build_scheduler("linear", torch.optim.SGD([param], lr=0.1), 2, 3)


def lr_trace(name: str, epochs: int, steps: int, lrs=(1.0,)) -> list[list[float]]:
    """Per optimiser step, the learning rate of each group, stepping as the trainer does."""
    params = [nn.Parameter(torch.zeros(1)) for _ in lrs]
    optimizer = torch.optim.SGD(
        [{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)], lr=1
    )
    schedule, per_step = build_scheduler(name, optimizer, epochs, steps)
    trace = []
    for _ in range(epochs):
        for _ in range(steps):
            trace.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
            if per_step:
                schedule.step()
        if not per_step:
            schedule.step()
    return trace


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    trace = [lrs[0] for lrs in lr_trace("step", epochs=8, steps=2)]
    expected = [1.0] * 8 + [0.1] * 4 + [0.01] * 4
    assert trace == pytest.approx(expected)


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_step_schedule_never_lowers_the_first_epoch(epochs):
    trace = [lrs[0] for lrs in lr_trace("step", epochs=epochs, steps=2)]
    assert trace[:2] == [1.0, 1.0]


def test_cosine_schedule_per_step():
    trace = [lrs[0] for lrs in lr_trace("cosine", epochs=2, steps=5)]
    assert trace == pytest.approx([0.5 * (1 + math.cos(math.pi * t / 10)) for t in range(10)])


def test_onecycle_peaks_at_a_quarter_with_each_groups_max():
    trace = lr_trace("onecycle", epochs=4, steps=10, lrs=(0.1, 1.0))
    body = [lrs[0] for lrs in trace]
    head = [lrs[1] for lrs in trace]
    peak = max(range(40), key=body.__getitem__)
    assert 8 <= peak <= 10  # 25 % of 40 steps
    assert max(body) == pytest.approx(0.1, rel=1e-3) and max(head) == pytest.approx(1.0, rel=1e-3)
    assert body[0] == pytest.approx(0.1 / 25)  # OneCycle's default start: max / 25
    assert body[-1] < 1e-4


def test_scheduler_drives_the_recorded_lr(tmp_path, tiny_fashion):
    run = make_run(tmp_path, optimizer="sgd", lr=0.2, scheduler="cosine", epochs=2)
    history = run.trainer.fit(2)
    # 256 images in batches of 64: 4 steps per epoch, the cosine reaching 0 after 8.
    assert history[0]["lr"] == pytest.approx(0.1)
    assert history[1]["lr"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"task": "classifcation"}, "task must be one of"), ({"precision": "fp16"}, "precision")],
)
def test_a_trainer_refuses_a_task_or_precision_it_would_silently_replace(setting, message):
    """A misspelt task trained as classification; fp16 trained in fp32."""
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=message):
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), [], [], **setting)


@pytest.mark.parametrize("steps", [1, 4])
def test_onecycle_too_short_to_warm_up_is_one_line(steps):
    """Four steps divided by zero inside OneCycleLR; fewer warmed up for no step at all."""
    with pytest.raises(D2lkitError, match=f"needs at least 5 steps .* this run has {steps}"):
        lr_trace("onecycle", epochs=1, steps=steps)
    trace = [lrs[0] for lrs in lr_trace("onecycle", epochs=1, steps=5)]
    assert trace[0] < trace[1] and trace[1:] == sorted(trace[1:], reverse=True)  # up, then down


def test_a_resumed_optimiser_keeps_the_step_of_the_machine_it_resumes_on():
    """A run saved without the fused step (on the CPU) and resumed with it (on CUDA) lost it:
    load_state_dict copied the saved `fused=None` over the new optimiser's `fused=True`."""
    model = nn.Linear(3, 2)
    saved_by = build_optimizer("adam", [{"params": list(model.parameters())}], lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    saved_by.step()
    resumed = build_optimizer("adam", [{"params": list(model.parameters())}], lr=0.5, fused=True)
    load_optimizer_state(resumed, saved_by.state_dict())
    assert resumed.param_groups[0]["fused"] is True
    assert resumed.param_groups[0]["lr"] == 0.1  # the saved state, apart from how it steps
    first = model.weight
    assert torch.equal(resumed.state[first]["exp_avg"], saved_by.state[first]["exp_avg"])
    resumed.step()  # the fused step (torch has one on the CPU too) takes the loaded state
    assert resumed.state[first]["step"].item() == 2


def test_a_saved_state_with_other_groups_is_refused_not_cut_short():
    model = nn.Linear(3, 2)
    two_groups = [{"params": [model.weight]}, {"params": [model.bias]}]
    saved = build_optimizer("adam", two_groups, lr=0.1).state_dict()
    one_group = build_optimizer("adam", [{"params": list(model.parameters())}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        load_optimizer_state(one_group, saved)
