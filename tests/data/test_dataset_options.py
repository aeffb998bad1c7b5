"""A dataset refuses the options it does not apply, in one line, instead of ignoring them."""

from __future__ import annotations

import pytest
import torch

from d2lkit.data.datasets import OPTIONAL_OPTIONS, DataOptions, build_dataset, register_dataset
from d2lkit.errors import D2lkitError


@pytest.mark.parametrize(
    "spec, options, words",
    [
        ("imagefolder:/nowhere", DataOptions(data_dir="/data"), "--data-dir; drop it"),
        ("voc:/nowhere", DataOptions(train_subset=100), "--train-subset; drop it"),
        ("imagefolder:/nowhere", DataOptions(test_subset=100), "--test-subset; drop it"),
        ("synthetic-linear", DataOptions(resize=32), "--resize; drop it"),
        ("voc:/nowhere", DataOptions(augment=True), "--augment; drop it"),  # crops always random
        ("fashion-scenes", DataOptions(classes=(0, 1)), "a class selection (classes); drop it"),
        ("voc:/nowhere", DataOptions(world_size=2), "(torchrun); run it as one process"),
    ],
)
def test_an_option_the_dataset_does_not_apply_is_refused(spec, options, words):
    name = spec.partition(":")[0]
    with pytest.raises(D2lkitError, match=rf"^the {name} dataset does not apply .*") as err:
        build_dataset(spec, options)
    assert str(err.value).endswith(words)


def test_the_options_a_dataset_applies_pass(monkeypatch):
    from d2lkit.data import datasets

    built = []
    monkeypatch.setitem(datasets._BUILDERS, "probe", (lambda a, o: built.append(o), ("resize",)))
    build_dataset("probe", DataOptions(resize=32, batch_size=7, seed=3, device="cpu"))
    assert built[0].resize == 32
    with pytest.raises(D2lkitError, match="probe dataset does not apply --train-subset"):
        build_dataset("probe", DataOptions(resize=32, train_subset=5))


def test_registering_an_unknown_option_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown options"):
        register_dataset("typo-set", applies=("train_sbuset",))
    assert "train_subset" in OPTIONAL_OPTIONS


def test_test_subset_keeps_the_first_test_images_and_all_training_ones(tiny_fashion):
    bundle = build_dataset("fashion-mnist", DataOptions(batch_size=16, test_subset=50))
    tested = torch.cat([y for _, y in bundle.test])
    assert torch.equal(tested.cpu(), tiny_fashion.test.labels[:50])
    assert sum(len(y) for _, y in bundle.train) == len(tiny_fashion.train.labels)


@pytest.mark.parametrize("classes", [(0, 99), (-1, 2), (3, 3)])
def test_a_class_selection_outside_the_data_is_one_line(tiny_fashion, classes):
    """Such a selection comes from a recipe or a hand-edited run: (0, 99) was an IndexError."""
    with pytest.raises(D2lkitError, match=r"each must be one of 0\.\.9, named once"):
        build_dataset("fashion-mnist", DataOptions(classes=classes))


def test_a_subset_beyond_the_scenes_is_refused_before_they_are_made():
    """fashion-scenes:8 with --train-subset 9 trained on 8 scenes and recorded 9."""
    with pytest.raises(D2lkitError, match="--train-subset 9 is more than the 8 training scenes"):
        build_dataset("fashion-scenes:8", DataOptions(train_subset=9))
