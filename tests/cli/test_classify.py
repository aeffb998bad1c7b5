"""`d2lkit classify`: a run trained on an image folder sorts new photos, from its checkpoint alone,
exactly as its own test pass sees them."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli, write_tree
from PIL import Image

from d2lkit.train.classify import classify_files, image_files, load_classifier


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(a LeNet run on three flat colours, the folder it trained on, since moved away)."""
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training

    base = tmp_path_factory.mktemp("classify")
    folder = write_tree(base / "shapes", ("red", "blue", "green"))
    run = base / "run"
    config = TrainConfig(
        model="lenet",
        dataset=f"imagefolder:{folder}",
        resize=28,
        epochs=2,
        batch_size=6,
        lr=0.01,
        out=str(run),
        progress=False,
    )
    run_training(config)
    moved = base / "moved"
    folder.rename(moved)  # classify needs the checkpoint only
    return run, moved


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_the_probabilities_are_those_of_the_runs_own_test_pass(trained, tmp_path, capsys):
    from d2lkit.train.reopen import Reopen
    from d2lkit.train.trained import load_trained

    run_dir, folder = trained
    out = tmp_path / "sorted.csv"
    code, stdout, err = run_cli(
        ["classify", str(run_dir), str(folder / "test"), "--csv", str(out)], capsys
    )
    assert code == 0, err
    rows = {Path(row["path"]).resolve(): row for row in read_csv(out)}
    assert len(rows) == 12
    run, _ = load_trained(run_dir, Reopen(dataset=f"imagefolder:{folder}"))
    test_set = run.data.test.dataset.dataset  # Subset of ClassFolders
    with torch.no_grad():
        for index, (path, _) in enumerate(test_set.samples):
            x, _ = test_set[index]
            expected = run.model(x[None]).softmax(dim=1)[0]
            row = rows[Path(path).resolve()]
            got = torch.tensor([float(row[f"p_{name}"]) for name in run.data.class_names])
            assert torch.allclose(got, expected, atol=6e-5)  # the CSV's four decimals
            assert row["predicted"] == run.data.class_names[int(expected.argmax())]
    tally = re.search(r"classified 12 photos \((.*)\)$", stdout.splitlines()[0]).group(1)
    assert sum(int(n) for n in re.findall(r": (\d+)", tally)) == 12
    assert f"wrote {out}" in stdout


def test_each_photo_gets_a_line_with_its_top_classes(trained, tmp_path, capsys):
    run_dir, folder = trained
    photo = tmp_path / "big red.jpg"  # another size and format than the training images
    Image.new("RGB", (90, 60), (210, 40, 35)).save(photo)
    code, stdout, err = run_cli(["classify", str(run_dir), str(photo), "--top", "5"], capsys)
    assert code == 0, err
    line, summary = stdout.strip().splitlines()
    assert line.endswith(f"  {photo}")
    guesses = re.findall(r"(red|blue|green) ([\d.]+)", line)
    assert sorted(name for name, _ in guesses) == ["blue", "green", "red"]  # --top 5 of 3: all
    chances = [float(p) for _, p in guesses]
    assert chances == sorted(chances, reverse=True) and abs(sum(chances) - 1) < 2e-3
    assert summary == f"lenet (epoch 2) classified 1 photo ({guesses[0][0]}: 1)"


def test_an_unreadable_photo_is_named_and_the_others_still_classified(trained, tmp_path, capsys):
    run_dir, folder = trained
    photos = tmp_path / "photos"
    shutil.copytree(folder / "test" / "red", photos)
    (photos / "cut.png").write_bytes((photos / "0.png").read_bytes()[:30])
    (photos / "notes.txt").write_text("not a photo; left out")
    out = tmp_path / "sorted.csv"
    code, stdout, err = run_cli(["classify", str(run_dir), str(photos), "--csv", str(out)], capsys)
    assert code == 2
    skipped, error = err.strip().splitlines()
    assert skipped.startswith(f"d2lkit: skipped {photos / 'cut.png'}: not a readable image")
    assert error == (
        f"d2lkit: error: 1 photo of 5 could not be read, listed above (no row in {out}); the"
        " others were classified"
    )
    assert [Path(row["path"]).name for row in read_csv(out)] == ["0.png", "1.png", "2.png", "3.png"]


def test_batches_keep_each_photo_with_its_own_probabilities(trained, tmp_path):
    run_dir, folder = trained
    files = image_files([str(folder / "test")]).files
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    files.insert(5, broken)  # in the middle of the second batch of two
    classifier = load_classifier(run_dir)
    whole = classify_files(classifier, files, batch_size=64, progress=False)
    paired = classify_files(classifier, files, batch_size=2, progress=False)
    assert paired.files == whole.files == [path for path in files if path != broken]
    assert torch.allclose(paired.probabilities, whole.probabilities, atol=1e-6)
    assert len(paired.unreadable) == 1 and str(broken) in paired.unreadable[0]


def test_folders_are_read_at_every_depth_in_name_order_without_hidden_files(tmp_path):
    photos = tmp_path / "photos"
    for name in ("b/2.png", "a.jpg", "b/1.PNG", ".cache/x.png", "b/._1.png", "readme.md"):
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        (photos / name).touch()
    named = tmp_path / "scan.data"  # named by the user: read whatever its suffix
    named.touch()
    found = image_files([str(photos), str(named)])
    assert found.other_kinds == {".md": 1}
    assert [path.relative_to(tmp_path).as_posix() for path in found.files] == [
        "photos/a.jpg", "photos/b/1.PNG", "photos/b/2.png", "scan.data"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--top", "0"], ("--top must be at least 1",)),
        (["--batch-size", "0"], ("--batch-size must be at least 1",)),
        (["--csv", "FOLDER"], ("FOLDER: a folder; pass a file name such as", "FOLDER/photos.csv")),
        (["--csv", "FILE/sorted.csv"], ("a file stands where a folder is needed",)),
    ],
)
def test_bad_flags_are_refused_before_any_photo_is_read(
    trained, tmp_path, capsys, extra, fragments
):
    run_dir, folder = trained
    (tmp_path / "FILE").touch()
    (tmp_path / "FOLDER").mkdir()
    extra = [str(tmp_path / arg) if arg.isupper() or "/" in arg else arg for arg in extra]
    code, _, err = run_cli(["classify", str(run_dir), str(folder / "test"), *extra], capsys)
    assert_one_line_error(code, err, *fragments)


def test_missing_photos_and_empty_folders_are_refused(trained, tmp_path, capsys):
    run_dir, _ = trained
    code, _, err = run_cli(["classify", str(run_dir), str(tmp_path / "gone.jpg")], capsys)
    assert_one_line_error(code, err, "gone.jpg: no such file or folder")
    code, _, err = run_cli(["classify", str(run_dir), str(tmp_path)], capsys)
    assert_one_line_error(code, err, f"{tmp_path}: no images in this folder (none of .jpg")


def test_a_run_on_fashion_mnist_is_pointed_to_predict(tmp_path, capsys, tiny_fashion):
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training

    run = tmp_path / "softmax"
    run_training(TrainConfig(model="softmax", epochs=1, out=str(run), progress=False))
    photo = tmp_path / "shoe.png"
    Image.new("L", (28, 28)).save(photo)
    code, _, err = run_cli(["classify", str(run), str(photo)], capsys)
    assert_one_line_error(code, err, "trained on fashion-mnist", "`d2lkit predict`")


def test_a_device_or_pipe_is_never_replaced_by_a_written_file(trained, tmp_path, capsys):
    """The table is renamed into place: over /dev/null (as root) it replaced the device."""
    run_dir, folder = trained
    pipe = tmp_path / "table.csv"
    os.mkfifo(pipe)
    code, _, err = run_cli(["classify", str(run_dir), str(folder), "--csv", str(pipe)], capsys)
    assert_one_line_error(code, err, f"{pipe}: not a regular file (a device or pipe)")
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_linked_folders_and_names_given_twice_read_each_photo_once(trained, tmp_path, capsys):
    """A link to `.` made os.walk go round and round: 41 rows for one photo."""
    run_dir, folder = trained
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(folder / "test" / "red" / "0.png", photos / "a.png")
    (photos / "again").symlink_to(".")
    (photos / "loop").symlink_to(photos)
    given = [str(photos), str(photos / "a.png"), str(photos / "again" / "a.png")]
    code, stdout, err = run_cli(["classify", str(run_dir), *given, "--top", "1"], capsys)
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith(f"  {photos / 'a.png'}")
    assert lines[1].endswith("classified 1 photo (red: 1); 2 photos named twice, classified once")


def test_pipes_and_broken_links_in_a_folder_are_skipped_with_their_own_words(
    trained, tmp_path, capsys
):
    """Decoding a pipe waits for a writer forever; a broken link is no image to re-save."""
    run_dir, folder = trained
    photos = tmp_path / "photos"
    shutil.copytree(folder / "test" / "blue", photos)
    os.mkfifo(photos / "stream.png")
    (photos / "gone.png").symlink_to(tmp_path / "nowhere.png")
    code, stdout, err = run_cli(["classify", str(run_dir), str(photos)], capsys)
    assert code == 2
    assert err.splitlines()[:2] == [
        f"d2lkit: skipped {photos / 'gone.png'}: a broken link; replace or delete it",
        f"d2lkit: skipped {photos / 'stream.png'}: not a regular file (a pipe, socket or device);"
        " replace or delete it",
    ]
    assert "classified 4 photos" in stdout
    code, _, err = run_cli(["classify", str(run_dir), str(photos / "stream.png")], capsys)
    assert_one_line_error(code, err, "stream.png: not a regular file (a pipe, socket or device)")


def test_names_that_are_not_utf8_keep_their_bytes_and_print_escaped(trained, tmp_path):
    """A name from another system's encoding crashed the CSV writer, and print() on a terminal
    that is strictly UTF-8."""
    run_dir, folder = trained
    photos = tmp_path / "photos"
    photos.mkdir()
    raw = os.fsencode(photos) + b"/caf\xe9.png"
    shutil.copy(folder / "test" / "green" / "0.png", os.fsdecode(raw))
    command = [sys.executable, "-m", "d2lkit", "classify", str(run_dir), str(photos)]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    printed = subprocess.run(command, capture_output=True, env=env, check=False)
    assert printed.returncode == 0, printed.stderr.decode(errors="replace")
    assert printed.stdout.splitlines()[0].endswith(b"/caf\\udce9.png")
    table = tmp_path / "t.csv"
    written = subprocess.run([*command, "--csv", str(table)], env=env, check=False)
    assert written.returncode == 0
    assert table.read_bytes().splitlines()[1].startswith(raw + b",")


def test_the_table_goes_to_stdout_with_a_dash_and_the_summary_to_stderr(trained, capsys):
    run_dir, folder = trained
    code, stdout, err = run_cli(
        ["classify", str(run_dir), str(folder / "test"), "--csv", "-"], capsys
    )
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(stdout)))
    assert rows[0] == ["path", "predicted", "probability", "p_blue", "p_green", "p_red"]
    assert len(rows) == 13 and "classified 12 photos" in err


def test_when_no_photo_can_be_read_the_previous_table_is_kept(trained, tmp_path, capsys):
    run_dir, _ = trained
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    table = tmp_path / "sorted.csv"
    table.write_text("last week's table\n")
    code, _, err = run_cli(["classify", str(run_dir), str(broken), "--csv", str(table)], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "d2lkit: error: 1 photo of 1 could not be read, listed above; none could be classified"
    )
    assert table.read_text() == "last week's table\n"


def test_a_tilde_in_the_run_and_the_table_is_the_home_folder(
    trained, tmp_path, capsys, monkeypatch
):
    """Quoted, or after `--csv=`, the shell leaves `~` as it is."""
    run_dir, folder = trained
    monkeypatch.setenv("HOME", str(run_dir.parent))
    photo = str(folder / "test" / "red" / "0.png")
    code, _, err = run_cli(["classify", f"~/{run_dir.name}", photo, "--csv=~/t.csv"], capsys)
    assert code == 0, err
    assert (run_dir.parent / "t.csv").is_file()


def test_top_beside_csv_is_refused_and_memory_advice_names_the_batch(trained, capsys):
    import argparse

    from d2lkit.cli import memory_advice

    run_dir, folder = trained
    code, _, err = run_cli(
        ["classify", str(run_dir), str(folder), "--top", "3", "--csv", "t.csv"], capsys
    )
    assert_one_line_error(code, err, "--csv writes every class's probability; --top is for")
    assert memory_advice(argparse.Namespace(command="classify")) == "lower --batch-size"


@pytest.mark.parametrize(
    ("kind", "called"),
    [
        ("photo in the list", "an image"),
        ("scan without a suffix", "a file that is not text"),
        ("heic photo", "a file that is not text"),
        ("checkpoint", "a file that is not text"),
    ],
)
def test_csv_never_replaces_a_photo_or_a_file_that_is_not_text(
    trained, tmp_path, capsys, kind, called
):
    """`--csv photos/*` makes the shell's first photo the table's file, whatever its suffix."""
    run_dir, folder = trained
    photo = folder / "test" / "red" / "0.png"
    target = {
        "photo in the list": photo,
        "scan without a suffix": tmp_path / "scan1",
        "heic photo": tmp_path / "IMG_0001.heic",
        "checkpoint": run_dir / "checkpoint.pt",
    }[kind]
    if not target.exists():
        target.write_bytes(photo.read_bytes())
    before = target.read_bytes()
    code, _, err = run_cli(["classify", str(run_dir), "--csv", str(target), str(folder)], capsys)
    assert_one_line_error(code, err, f"{called}; --csv writes a table there: name it FILE.csv")
    assert target.read_bytes() == before


def test_an_older_table_is_replaced(trained, tmp_path, capsys):
    run_dir, folder = trained
    table = tmp_path / "sorted.csv"
    table.write_text("path,predicted\nold.png,red\n" * 200)  # beyond the 4096 bytes looked at
    code, _, err = run_cli(["classify", str(run_dir), str(folder), "--csv", str(table)], capsys)
    assert code == 0, err
    assert len(read_csv(table)) == 30  # 18 training and 12 test images


def test_stdout_by_its_device_name_and_a_link_loop_are_refused_before_the_work(
    trained, tmp_path, capsys
):
    """/dev/stdout sent to a log file was renamed over: the log was lost."""
    run_dir, folder = trained
    code, _, err = run_cli(["classify", str(run_dir), str(folder), "--csv", "/dev/stdout"], capsys)
    assert_one_line_error(code, err, "/dev/stdout: not a regular file (a device or pipe)")
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    code, _, err = run_cli(["classify", str(run_dir), str(folder), "--csv", str(loop)], capsys)
    assert_one_line_error(code, err, "loop.csv: a link that leads round in a loop")


def test_an_empty_folder_is_refused_wherever_it_comes(trained, tmp_path, capsys):
    run_dir, _ = trained
    (tmp_path / "empty").mkdir()
    (tmp_path / "pipes").mkdir()
    os.mkfifo(tmp_path / "pipes" / "p.png")
    given = [str(tmp_path / "pipes"), str(tmp_path / "empty")]  # a problem first, then nothing
    code, _, err = run_cli(["classify", str(run_dir), *given], capsys)
    assert_one_line_error(code, err, "empty: no images in this folder")
