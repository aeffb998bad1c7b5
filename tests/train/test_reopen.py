"""saved_config: a saved run's settings made to work where it is opened again."""

from __future__ import annotations

import unicodedata

import pytest

from d2lkit.errors import D2lkitError
from d2lkit.train.config import TrainConfig
from d2lkit.train.reopen import Reopen, check_same_classes, saved_config


def state_of(**settings) -> dict:
    return {"config": TrainConfig("softmax", **settings).to_dict()}


def test_a_data_dir_that_is_gone_falls_back_to_the_look_up(tmp_path):
    """Fashion-MNIST is checked against its SHA-256, so any copy found is the run's data."""
    gone = saved_config(state_of(data_dir=str(tmp_path / "moved-away")))
    assert gone.data_dir is None
    kept = saved_config(state_of(data_dir=str(tmp_path)))
    assert kept.data_dir == str(tmp_path)
    assert saved_config(
        state_of(data_dir=str(tmp_path)), Reopen(data_dir="elsewhere")
    ).data_dir == ("elsewhere")


def test_init_is_dropped_and_device_and_precision_follow_the_changes(tmp_path):
    config = saved_config(
        state_of(init=str(tmp_path / "deleted"), device="cuda", precision="bf16"),
        Reopen(device="cpu", precision="fp32"),
    )
    assert (config.init, config.device, config.precision) == (None, "cpu", "fp32")


def test_settings_of_the_wrong_type_are_one_line_not_a_traceback_later():
    """A hand-edited checkpoint with "ten" epochs reached validate() as a TypeError."""
    import pytest

    from d2lkit.errors import D2lkitError

    full = TrainConfig("lenet", classes=(0, 1), train_subset=5, grad_clip=1.0).to_dict()
    assert TrainConfig.from_dict(full).classes == (0, 1)  # every field's type is checked
    for name, value in [
        ("epochs", "ten"), ("epochs", True), ("lr", "abc"), ("data_dir", 5), ("model", [1, 2]),
        ("classes", [0, "a"]), ("augment", 1),
    ]:  # fmt: skip
        with pytest.raises(D2lkitError, match=f"setting {name} must be"):
            TrainConfig.from_dict({**full, name: value})
    assert TrainConfig.from_dict({**full, "lr": 1}).lr == 1  # an int where a float goes


def test_class_names_in_another_unicode_form_are_told_apart_on_screen():
    """The run trained on 'café' written composed; the folder spells it decomposed (macOS): the
    two lists printed alike, so the refusal read as nonsense."""
    state = {"class_names": [unicodedata.normalize("NFC", "café"), "tea"]}
    decomposed = [unicodedata.normalize("NFD", "café"), "tea"]
    with pytest.raises(D2lkitError) as err:
        check_same_classes(state, decomposed, "imagefolder:/menu")
    assert str(err.value).startswith(
        r"imagefolder:/menu spells its classes ['cafe\u0301', 'tea'], the run ['caf\xe9', 'tea']:"
        " the same names in two Unicode forms"
    )
    with pytest.raises(D2lkitError, match=r"has the classes \['tea', 'milk'\], the run trained"):
        check_same_classes(state, ["tea", "milk"], "imagefolder:/menu")
    check_same_classes(state, list(state["class_names"]), "imagefolder:/menu")  # the same: passes
