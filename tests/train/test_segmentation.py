"""Pixel accuracy and mIoU from a confusion matrix, checked against figures worked out by hand."""

from __future__ import annotations

import math

import torch

from d2lkit.train.metrics import make_meter
from d2lkit.train.segmentation import IGNORE_INDEX, confusion_matrix, scores_from_confusion

# 3 classes, 10 labelled pixels (and two ignored ones):
#   true:      0 0 0 0 1 1 1 2 2 2 | 255 255
#   predicted: 0 0 1 2 1 1 0 2 2 1 |   0   2
TRUE = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, IGNORE_INDEX, IGNORE_INDEX])
PREDICTED = torch.tensor([0, 0, 1, 2, 1, 1, 0, 2, 2, 1, 0, 2])
# Rows true, columns predicted.
EXPECTED = torch.tensor([[2, 1, 1], [1, 2, 0], [0, 1, 2]])
# Pixel accuracy (2 + 2 + 2) / 10. IoU per class: TP / (row + column - TP):
#   class 0: 2 / (4 + 3 - 2) = 2/5; class 1: 2 / (3 + 4 - 2) = 2/5; class 2: 2 / (3 + 3 - 2) = 1/2.
PIXEL_ACC = 0.6
MIOU = (2 / 5 + 2 / 5 + 1 / 2) / 3


def logits_for(predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Scores (1, K, 1, N) whose argmax over K is `predicted`."""
    return torch.nn.functional.one_hot(predicted, num_classes).T.float()[None, :, None, :]


def test_confusion_matrix_ignores_255_and_counts_true_by_predicted():
    assert torch.equal(confusion_matrix(PREDICTED, TRUE, 3), EXPECTED)


def test_scores_match_the_hand_computed_figures():
    scores = scores_from_confusion(EXPECTED)
    assert math.isclose(scores["pixel_acc"], PIXEL_ACC)
    assert math.isclose(scores["miou"], MIOU)
    assert [round(v, 6) for v in scores["iou"]] == [0.4, 0.4, 0.5]


def test_a_class_that_never_occurs_is_left_out_of_the_mean():
    confusion = torch.zeros(4, 4, dtype=torch.long)
    confusion[:3, :3] = EXPECTED
    scores = scores_from_confusion(confusion)
    assert math.isnan(scores["iou"][3])
    assert math.isclose(scores["miou"], MIOU)


def test_meter_accumulates_batches_and_reports_the_trainer_keys():
    meter = make_meter("segmentation", 3, torch.device("cpu"))
    # The same 12 pixels split into two batches of one image each (B, H, W) = (1, 1, 6).
    for part in (slice(0, 6), slice(6, 12)):
        outputs = logits_for(PREDICTED[part], 3)
        meter.update(torch.tensor(0.5 if part.start == 0 else 1.5), outputs, TRUE[part][None, None])
    result = meter.compute()
    assert set(result) == {"loss", "acc", "miou", "pixel_acc"}
    # Per labelled pixel: 6 in the first batch, 4 in the second (2 ignored), not per image.
    assert math.isclose(result["loss"], (0.5 * 6 + 1.5 * 4) / 10)
    assert math.isclose(result["pixel_acc"], PIXEL_ACC) and result["acc"] == result["pixel_acc"]
    assert math.isclose(result["miou"], MIOU)


def test_meter_loss_is_the_cross_entropy_over_every_labelled_pixel():
    """Batches with many ignored pixels (VOC borders) made the test loss depend on the batching."""
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 3, 5, 6, generator=generator)
    targets = torch.randint(0, 3, (4, 5, 6), generator=generator)
    targets[0, :4] = IGNORE_INDEX  # the first image mostly border
    meter = make_meter("segmentation", 3, torch.device("cpu"))
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    for batch in (slice(0, 1), slice(1, 4)):
        meter.update(loss_fn(scores[batch], targets[batch]), scores[batch], targets[batch])
    assert math.isclose(meter.compute()["loss"], loss_fn(scores, targets).item(), rel_tol=1e-6)


def test_perfect_prediction_scores_one():
    labels = torch.randint(0, 5, (2, 8, 8))
    meter = make_meter("segmentation", 5, torch.device("cpu"))
    outputs = torch.nn.functional.one_hot(labels, 5).permute(0, 3, 1, 2).float()
    meter.update(torch.tensor(0.0), outputs, labels)
    result = meter.compute()
    assert result["pixel_acc"] == 1.0 and result["miou"] == 1.0


def test_fcn_run_records_miou_and_predict_draws_masks(tmp_path, monkeypatch):
    """One tiny epoch of fcn_small on fashion-scenes through the trainer: the segmentation
    figures reach metrics.jsonl and summary.json, eval reproduces them, predict draws masks."""
    import json

    from d2lkit.data import scenes
    from d2lkit.report.predictions import save_predictions
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training
    from d2lkit.train.trained import load_trained

    monkeypatch.setattr(scenes, "TEST_SCENES", 48)
    out = tmp_path / "fcn"
    config = TrainConfig(
        "fcn_small", dataset="fashion-scenes:64", epochs=1, batch_size=16, out=str(out),
        progress=False,
    )  # fmt: skip
    summary = run_training(config)
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert 0 < row["test_miou"] < 1 and row["test_pixel_acc"] == row["test_acc"]
    assert summary["test_miou"] == row["test_miou"]
    run, _ = load_trained(out)
    again = run.trainer.evaluate()
    assert math.isclose(again["miou"], row["test_miou"], rel_tol=1e-6)
    from d2lkit.data.voc import labels_to_colors
    from d2lkit.report import grids
    from d2lkit.report import masks as masks_module

    drawn = {}
    real_grid = grids.save_image_grid

    def capture(cells, titles, out, **kwargs):
        drawn.update(cells=cells, titles=titles)
        return real_grid(cells, titles, out, **kwargs)

    monkeypatch.setattr(grids, "save_image_grid", capture)
    figure = save_predictions(run, tmp_path / "masks.png", 6)
    assert figure.stat().st_size > 10_000
    # Six test scenes drawn at random, each named by its place in the test set and followed by
    # its own true mask and the model's prediction for it.
    x, y = (torch.cat(parts) for parts in zip(*run.data.test, strict=True))
    indices = [int(title.split()[-1]) for title in drawn["titles"][::3]]
    assert len(set(indices)) == 6 and indices != list(range(6))
    run.model.eval()
    with torch.no_grad():
        predicted = run.model(x[indices]).argmax(dim=1)
    cells = drawn["cells"]
    colormap = masks_module.mask_colormap(run.data.class_names)
    assert torch.equal(cells[1::3], labels_to_colors(y[indices], colormap).float() / 255)
    assert torch.equal(cells[2::3], labels_to_colors(predicted, colormap).float() / 255)
    assert drawn["titles"][0].startswith("test image ") and drawn["titles"][1] == "true mask"
    assert drawn["titles"][2].startswith("predicted\nmIoU ")


def test_mask_colours_are_voc_for_voc_and_far_apart_for_other_data():
    """fashion-scenes drew in VOC's first colours: sneaker (64, 0, 0) all but vanished against
    the black background, and t-shirt, sneaker and bag were three shades of red."""
    from d2lkit.data import scenes
    from d2lkit.data.voc import VOC_CLASSES, VOC_COLORMAP
    from d2lkit.report.masks import mask_colormap

    assert mask_colormap(list(VOC_CLASSES)) == list(VOC_COLORMAP)
    colors = torch.tensor(mask_colormap(scenes.class_names()), dtype=torch.float)  # (11, 3)
    assert colors.shape == (11, 3) and colors[0].tolist() == [0, 0, 0]
    assert colors[1:].norm(dim=1).min() > 120  # every class far from the black background
    distances = torch.cdist(colors, colors) + torch.eye(11) * 1e9
    assert distances.min() > 60  # and from each other
