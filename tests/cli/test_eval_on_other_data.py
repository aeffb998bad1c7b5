"""`d2lkit eval|predict RUN --dataset ...`: a run whose image folder moved, or a new test folder,
is evaluated only when it has the run's classes, in the run's order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli, write_tree


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory) -> tuple[Path, Path]:
    """A LeNet run on an image folder, after the folder moved: (run, the folder's new place)."""
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training

    base = tmp_path_factory.mktemp("moved")
    folder = write_tree(base / "shapes", ("red", "blue"))
    run = base / "run"
    config = TrainConfig(
        model="lenet",
        dataset=f"imagefolder:{folder}",
        resize=28,
        epochs=1,
        batch_size=4,
        out=str(run),
        progress=False,
    )
    run_training(config)
    return run, Path(shutil.move(folder, base / "moved-shapes"))


def test_a_moved_folder_is_named_and_the_new_place_evaluates_as_recorded(moved_run, capsys):
    run, new_place = moved_run
    code, _, err = run_cli(["eval", str(run)], capsys)
    assert_one_line_error(
        code,
        err,
        "shapes: the run's imagefolder data is no longer here",
        "--dataset imagefolder:NEW_PATH",
    )

    code, out, _ = run_cli(["eval", str(run), "--dataset", f"imagefolder:{new_place}"], capsys)
    assert code == 0
    recorded = json.loads((run / "summary.json").read_text())["test_acc"]
    assert f"test_acc {recorded:.4f}" in out  # the same images, the same weights
    assert "recorded test_acc" not in out  # that line is for the run's own data

    grid = run.parent / "grid.png"
    code, _, _ = run_cli(
        ["predict", str(run), "--dataset", f"imagefolder:{new_place}", "--out", str(grid)], capsys
    )
    assert code == 0 and grid.stat().st_size > 0


def test_a_folder_of_test_images_only_is_evaluated_and_predicted(moved_run, tmp_path, capsys):
    """docs/vision.md: eval and predict test a run on another folder once it holds the run's
    classes; they read only test/, so neither a missing train/ nor a broken link in one stops
    them."""
    run, new_place = moved_run
    recorded = json.loads((run / "summary.json").read_text())["test_acc"]
    only_test = tmp_path / "only-test"
    shutil.copytree(new_place / "test", only_test / "test")
    broken_train = tmp_path / "broken-train"
    shutil.copytree(new_place, broken_train)
    (broken_train / "train" / "red" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    for folder in (only_test, broken_train):
        code, out, err = run_cli(["eval", str(run), "--dataset", f"imagefolder:{folder}"], capsys)
        assert code == 0, err
        assert f"test_acc {recorded:.4f}" in out
    grid = tmp_path / "grid.png"
    argv = ["predict", str(run), "--dataset", f"imagefolder:{only_test}", "--out", str(grid)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and grid.stat().st_size > 0, err
    swapped = write_tree(tmp_path / "swapped", ("green", "red"))
    shutil.rmtree(swapped / "train")
    code, _, err = run_cli(["eval", str(run), "--dataset", f"imagefolder:{swapped}"], capsys)
    assert_one_line_error(code, err, "['green', 'red']", "['blue', 'red']")  # classes still checked


def test_other_classes_are_refused_with_both_lists(moved_run, tmp_path, capsys):
    run, _ = moved_run
    swapped = write_tree(tmp_path / "swapped", ("green", "red"))
    code, _, err = run_cli(["eval", str(run), "--dataset", f"imagefolder:{swapped}"], capsys)
    assert_one_line_error(code, err, "['green', 'red']", "['blue', 'red']")


def test_another_kind_of_data_is_refused(moved_run, capsys):
    run, _ = moved_run
    code, _, err = run_cli(["eval", str(run), "--dataset", "fashion-mnist"], capsys)
    assert_one_line_error(code, err, "another kind of data", "imagefolder")


def test_a_checkpoint_without_class_names_still_refuses_a_head_of_another_size(
    moved_run, tmp_path, capsys
):
    run, _ = moved_run
    old = tmp_path / "old-run"
    shutil.copytree(run, old)
    state = torch.load(old / "checkpoint.pt", weights_only=True)
    del state["class_names"]  # as written before class names were kept
    torch.save(state, old / "checkpoint.pt")
    three = write_tree(tmp_path / "three", ("red", "blue", "green"))
    code, _, err = run_cli(["eval", str(old), "--dataset", f"imagefolder:{three}"], capsys)
    assert_one_line_error(code, err, "do not fit lenet", "the run's classes")
    resume = ["train", "--resume", str(old), "--epochs", "2", "--dataset", f"imagefolder:{three}"]
    code, _, err = run_cli(resume, capsys)  # the same check, not a size-mismatch traceback
    assert_one_line_error(code, err, "do not fit lenet", "the run's classes")


def test_a_relative_folder_is_recorded_absolute(tmp_path, monkeypatch, capsys):
    """Else eval from another working directory reads whatever folder has that name there."""
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "shapes", ("red", "blue"))
    argv = ["train", "lenet", "--dataset", "imagefolder:shapes", "--resize", "28", "--epochs", "1"]
    code, out, _ = run_cli([*argv, "--batch-size", "4", "--no-progress", "--out", "run"], capsys)
    assert "data: 12 training and 8 test images\n" in out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert code == 0 and config["dataset"] == f"imagefolder:{tmp_path / 'shapes'}"
    monkeypatch.chdir(tmp_path / "run")
    code, out, _ = run_cli(["eval", "."], capsys)
    assert code == 0 and "recorded test_acc" in out


def test_a_moved_run_resumes_from_its_new_place_and_without_its_init_file(
    moved_run, tmp_path, capsys
):
    """The folder moved and the --init source is gone: --resume takes --dataset and needs no
    init file (the checkpoint holds the weights)."""
    run, new_place = moved_run
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    state = torch.load(copy / "checkpoint.pt", weights_only=True)
    state["config"]["init"] = str(tmp_path / "deleted-run")
    torch.save(state, copy / "checkpoint.pt")
    argv = ["train", "--resume", str(copy), "--epochs", "2", "--no-progress"]
    code, _, err = run_cli([*argv, "--dataset", f"imagefolder:{new_place}"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (copy / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    swapped = write_tree(tmp_path / "swapped", ("green", "red"))
    argv[4] = "3"  # --epochs 3
    code, _, err = run_cli([*argv, "--dataset", f"imagefolder:{swapped}"], capsys)
    assert_one_line_error(code, err, "the run trained on ['blue', 'red']")


def test_a_gpu_run_is_evaluated_on_a_machine_without_one(moved_run, tmp_path, capsys):
    run, new_place = moved_run
    copy = tmp_path / "gpu-run"
    shutil.copytree(run, copy)
    state = torch.load(copy / "checkpoint.pt", weights_only=True)
    state["config"].update(device="cuda", precision="bf16")  # as a GPU records them
    torch.save(state, copy / "checkpoint.pt")
    code, out, err = run_cli(["eval", str(copy), "--dataset", f"imagefolder:{new_place}"], capsys)
    assert code == 0, err
    recorded = json.loads((run / "summary.json").read_text())["test_acc"]
    assert f"test_acc {recorded:.4f}" in out  # evaluated in fp32 on the CPU: the same figure


def test_an_empty_folder_name_is_not_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(write_tree(tmp_path / "here", ("red", "blue")))  # `imagefolder:$UNSET`
    argv = ["train", "lenet", "--dataset", "imagefolder:", "--resize", "28", "--epochs", "1"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "run")], capsys)
    assert_one_line_error(code, err, "imagefolder needs a folder")


def test_a_test_folder_without_a_rare_class_is_evaluated_on_the_classes_it_holds(tmp_path, capsys):
    """A new test folder lacking one of the run's classes was refused ('has the classes ...');
    its images keep the run's labels, so the accuracy is over the classes present."""
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.reopen import Reopen
    from d2lkit.train.run import run_training
    from d2lkit.train.trained import load_trained

    folder = write_tree(tmp_path / "shapes", ("red", "blue", "green"))
    run = tmp_path / "run"
    config = TrainConfig(
        "lenet", f"imagefolder:{folder}", resize=28, epochs=2, batch_size=6, lr=0.01,
        out=str(run), progress=False,
    )  # fmt: skip
    run_training(config)
    fewer = tmp_path / "fewer"
    for name in ("green", "red"):  # blue is the rare class here
        shutil.copytree(folder / "test" / name, fewer / "test" / name)
    code, out, err = run_cli(["eval", str(run), "--dataset", f"imagefolder:{fewer}"], capsys)
    assert code == 0, err
    trained, _ = load_trained(run, Reopen(dataset=f"imagefolder:{fewer}"))
    assert trained.data.class_names == ["blue", "green", "red"]  # the run's order, blue absent
    test_set = trained.data.test.dataset.dataset
    assert sorted(set(test_set.targets)) == [1, 2]  # green and red keep the run's labels
    with torch.no_grad():
        right = sum(
            int(trained.model(x[None]).argmax()) == label
            for x, label in (test_set[i] for i in range(len(test_set)))
        )
    assert f"test_acc {right / 8:.4f}" in out
    per_class = next(line for line in out.splitlines() if line.startswith("per class"))
    assert "green" in per_class and "red" in per_class and "blue" not in per_class
    grid = tmp_path / "grid.png"
    argv = ["predict", str(run), "--dataset", f"imagefolder:{fewer}", "--out", str(grid)]
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and grid.stat().st_size > 0, err
    (fewer / "test" / "purple").mkdir()
    shutil.copy(folder / "test" / "red" / "0.png", fewer / "test" / "purple" / "0.png")
    code, _, err = run_cli(["eval", str(run), "--dataset", f"imagefolder:{fewer}"], capsys)
    assert_one_line_error(code, err, "['green', 'purple', 'red']", "['blue', 'green', 'red']")
