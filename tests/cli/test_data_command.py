"""`d2lkit data info | show`: output on real data, and one-line errors with exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli, write_tree

import d2lkit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_info_reports_where_and_what(capsys):
    code, out, _ = run_cli(["data", "info"], capsys)
    assert code == 0
    assert "SHA-256 verified" in out
    assert "(60000, 28, 28) uint8" in out and "(10000, 28, 28) uint8" in out
    assert "per class 6000-6000" in out and "per class 1000-1000" in out
    assert "t-shirt" in out and "ankle boot" in out
    # Every dataset name has its line: where it comes from.
    for name in ("fashion-mnist:", "fashion-scenes:", "synthetic-linear:", "voc:PATH"):
        assert sum(line.startswith(name) or f" {name}" in line for line in out.splitlines()) == 1


def test_show_draws_the_first_training_images_with_their_class_names(
    tmp_path, capsys, fashion, drawn_grids
):
    out_file = tmp_path / "grids" / "samples.png"
    code, out, _ = run_cli(["data", "show", "--out", str(out_file), "--count", "5"], capsys)
    assert code == 0
    assert str(out_file) in out
    assert out_file.read_bytes()[:8] == PNG_SIGNATURE
    (grid,) = drawn_grids
    assert torch.equal(grid["images"], fashion.train.images[:5])
    assert grid["titles"] == [fashion.classes[i] for i in fashion.train.labels[:5]]
    assert grid["heading"] == "Fashion-MNIST train: its first 5 of 60000 images"  # it had none


def test_show_draws_segmentation_images_beside_their_label_masks(
    tmp_path, capsys, fashion, drawn_grids
):
    """`data show fashion-scenes` was refused: only fashion-mnist and image folders were drawn."""
    from d2lkit.data.datasets import DataOptions, build_dataset
    from d2lkit.data.voc import labels_to_colors
    from d2lkit.report.masks import mask_colormap

    out_file = tmp_path / "scenes.png"
    args = ["data", "show", "fashion-scenes", "--split", "test", "--count", "3"]
    code, out, _ = run_cli([*args, "--out", str(out_file)], capsys)
    assert code == 0 and out_file.read_bytes()[:8] == PNG_SIGNATURE
    (grid,) = drawn_grids
    assert grid["titles"] == ["image 0", "its labels", "image 1", "its labels", "image 2",
                              "its labels"]  # fmt: skip
    assert grid["heading"] == "fashion-scenes test: its first 3 images and their labels"
    data = build_dataset("fashion-scenes", DataOptions(3, test_only=True))
    _, labels = next(iter(data.test))
    labels = labels[:3]
    expected = labels_to_colors(labels, mask_colormap(data.class_names)).float() / 255
    assert torch.equal(grid["images"][1::2], expected)  # each label mask in predict's colours


def test_info_without_data_is_one_line(tmp_path, isolated_home, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["data", "info", "--data-dir", str(tmp_path / "empty")], capsys)
    assert_one_line_error(code, err, "fashion-mnist not found", str(tmp_path / "empty"))


@pytest.mark.parametrize("command", [["data", "info"], ["train", "softmax", "--out", "run"]])
def test_a_data_dir_typo_is_one_line_even_when_other_data_exists(
    command, tmp_path, monkeypatch, capsys
):
    """The real data sits in its default place, yet a --data-dir that does not exist is refused
    rather than skipped: otherwise the run would use data the user did not point at."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*command, "--data-dir", "fashoin"], capsys)
    assert_one_line_error(code, err, "fashoin: no such folder", "--data-dir")
    assert not (tmp_path / "run").exists()


def test_a_partial_data_dir_or_a_missing_d2lkit_data_is_one_line(
    tmp_path, isolated_home, monkeypatch, capsys
):
    from d2lkit.data.fashion_mnist import FASHION_MNIST

    (tmp_path / "part").mkdir()
    (tmp_path / "part" / (FASHION_MNIST.train_images.stem + ".gz")).write_bytes(b"")
    code, _, err = run_cli(["data", "info", "--data-dir", str(tmp_path / "part")], capsys)
    assert_one_line_error(
        code, err, "holds 1 of the 4", f"`d2lkit data download --data-dir {tmp_path / 'part'}`"
    )
    monkeypatch.setenv("D2LKIT_DATA", str(tmp_path / "nowhere"))
    code, _, err = run_cli(["data", "info"], capsys)
    assert_one_line_error(code, err, "nowhere: no such folder (given as $D2LKIT_DATA)")


def test_corrupt_data_is_one_line(tmp_path, isolated_home, capsys):
    from d2lkit.data.fashion_mnist import FASHION_MNIST

    for file in FASHION_MNIST.files:
        (tmp_path / (file.stem + ".gz")).write_bytes(b"\x1f\x8b not really gzip")
    code, _, err = run_cli(["data", "info", "--data-dir", str(tmp_path)], capsys)
    assert_one_line_error(code, err, str(tmp_path / "train-images-idx3-ubyte.gz"), "gzip")


def test_show_names_the_file_it_wrote_when_out_has_no_suffix(tmp_path, capsys):
    code, out, _ = run_cli(
        ["data", "show", "--out", str(tmp_path / "grid"), "--count", "3"], capsys
    )
    written = tmp_path / "grid.png"  # matplotlib adds the suffix; the message must name it
    assert code == 0 and out.strip() == f"wrote {written}" and written.is_file()


@pytest.mark.parametrize(
    "out, fragment",
    [
        ("a-file/x.png", "a-file: a file stands where a folder is needed"),  # no traceback
        ("a-folder", "a-folder: a folder; pass a file name such as"),
        ("new-folder/", "new-folder: a folder; pass a file name such as"),  # not new-folder.png
        ("grid.xyz", "cannot draw a .xyz file"),
    ],
)
def test_show_refuses_an_out_it_cannot_write(out, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a-file").write_text("a file, not a folder")
    Path("a-folder").mkdir()
    code, _, err = run_cli(["data", "show", "--out", out, "--count", "3"], capsys)
    assert_one_line_error(code, err, fragment)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["data", "show", "--out", "x.png", "--count", "0"], "--count must be 1..144"),
        (["data", "show", "--out", "x.png", "--count", "100000"], "--count must be 1..144"),
        (["data", "show", "voc:/nowhere", "--out", "x.png"], "/nowhere: no such folder"),
        (["data", "show", "synthetic-linear", "--out", "x.png"], "draws fashion-mnist, image"),
        (["data", "show", "imagefolder:nowhere", "--out", "x.png"], "nowhere: no such folder"),
    ],
)
def test_show_bad_input(args, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(args, capsys)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("dataset", "extra", "fragment"),
    [
        ("imagefolder:", [], "imagefolder needs a folder"),  # `imagefolder:$UNSET`
        ("imagefolder:tree", ["--data-dir", "tree"], "--data-dir is where Fashion-MNIST is"),
    ],
)
def test_show_refuses_what_train_refuses_for_an_image_folder(
    dataset, extra, fragment, capsys, tmp_path, monkeypatch
):
    """Even where the working directory is an image folder, as train refuses them both."""
    write_tree(tmp_path, ("red", "blue"))
    write_tree(tmp_path / "tree", ("red", "blue"))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["data", "show", dataset, *extra, "--out", "x.png"], capsys)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "x.png").exists()


def test_show_of_an_image_folders_split_needs_only_that_split(tmp_path, capsys):
    """A folder of test images alone (as eval --dataset takes) was refused for its missing
    train/."""
    import shutil

    tree = write_tree(tmp_path / "tree", ("red", "blue"))
    shutil.rmtree(tree / "train")
    args = ["data", "show", f"imagefolder:{tree}", "--count", "3", "--out", str(tmp_path / "t.png")]
    code, printed, _ = run_cli([*args, "--split", "test"], capsys)
    assert code == 0 and (tmp_path / "t.png").is_file()
    code, _, err = run_cli([*args, "--split", "train"], capsys)
    assert_one_line_error(code, err, "train")
    # An image named where its folder belongs is not "no such folder".
    image = tree / "test" / "red" / "0.png"
    code, _, err = run_cli(["data", "show", f"imagefolder:{image}", "--out", "x.png"], capsys)
    assert_one_line_error(code, err, "0.png: a file, not a folder; pass imagefolder:PATH with")


def test_class_names_the_font_cannot_draw_are_one_note_not_a_warning_flood(tmp_path):
    """Run as a user runs it (pytest would catch the warnings): matplotlib warned per character
    and per layout pass, each warning showing d2lkit's source line."""
    folder = write_tree(tmp_path / "uni", ("热狗", "não-cachorro"))
    result = subprocess.run(
        [sys.executable, "-m", "d2lkit", "data", "show", f"imagefolder:{folder}", "--out", "u.png"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(Path(d2lkit.__file__).parents[1])),
        cwd=tmp_path,
    )
    assert result.returncode == 0 and (tmp_path / "u.png").is_file()
    (line,) = result.stderr.splitlines()
    assert line.startswith("d2lkit: note: u.png: the font has no glyph for 热 狗; those")


def test_entry_point_exit_code_and_no_traceback(tmp_path):
    """Through `python -m d2lkit`, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(Path(d2lkit.__file__).parents[1]))
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "d2lkit", "data", "show", "--out", "x.png", "--count", "-3"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "d2lkit: error: --count must be 1..144 (images in one figure), got -3"
    )
    assert result.stdout == ""


def test_download_into_a_data_dir_ignores_copies_elsewhere(tmp_path, monkeypatch, capsys, fashion):
    """The real data sits in its default place; `data download --data-dir X` still fills X (it
    used to answer "already present in" the other copy), and leaves a complete X alone."""
    from d2lkit.data import download, fashion_mnist

    assert fashion_mnist.locate() is not None  # another copy exists
    downloads = []

    def fake_download(directory):
        downloads.append(directory)
        shutil.copytree(fashion.root, directory)
        return directory

    monkeypatch.setattr(download, "download_to", fake_download)
    target = tmp_path / "mine"
    code, out, _ = run_cli(["data", "download", "--data-dir", str(target)], capsys)
    assert code == 0 and downloads == [target]
    assert out.strip() == f"fashion-mnist downloaded to {target}"
    code, out, _ = run_cli(["data", "download", "--data-dir", str(target)], capsys)
    assert code == 0 and downloads == [target]
    assert out.strip() == f"fashion-mnist already present in {target} (SHA-256 verified)"


HTML = b"<!DOCTYPE html><html><body>Service Unavailable</body></html>"


def serve_from(folder, monkeypatch) -> list[str]:
    """urlopen answers each mirror URL with the file of that name in `folder`; returns the URLs."""
    import io
    import urllib.request

    urls = []

    def urlopen(url, timeout):
        urls.append(url)
        payload = (folder / url.rsplit("/", 1)[1]).read_bytes()
        response = io.BytesIO(payload)
        response.headers = {"Content-Length": str(len(payload))}
        return response

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return urls


def test_download_fetches_again_a_cached_file_that_does_not_verify(
    tmp_path, isolated_home, monkeypatch, capsys, fashion
):
    """An HTML page under a final name made `data download` say "already present" and exit 0
    while `data info` failed, so `make`'s `data info || data download` went on to fail later."""
    from d2lkit.data import fashion_mnist

    cache = fashion_mnist.cache_dir()
    shutil.copytree(fashion.root, cache)
    bad = fashion_mnist.file_path(cache, fashion_mnist.FASHION_MNIST.test_labels)
    bad.write_bytes(HTML)
    urls = serve_from(fashion.root, monkeypatch)
    code, out, _ = run_cli(["data", "download"], capsys)
    assert code == 0 and out.strip() == f"fashion-mnist downloaded to {cache}"
    assert [url.rsplit("/", 1)[1] for url in urls] == ["t10k-labels-idx1-ubyte.gz"]
    code, out, _ = run_cli(["data", "info"], capsys)
    assert code == 0 and f"fashion-mnist: {cache} (SHA-256 verified" in out


@pytest.mark.parametrize("where", ["system", "env"])
def test_download_will_not_overwrite_a_bad_copy_it_does_not_own(
    where, tmp_path, isolated_home, monkeypatch, capsys
):
    from d2lkit.data import fashion_mnist

    folder = fashion_mnist.SYSTEM_DIR if where == "system" else tmp_path / "mine"
    folder.mkdir(parents=True)
    for file in fashion_mnist.FASHION_MNIST.files:
        (folder / (file.stem + ".gz")).write_bytes(HTML)
    if where == "env":
        monkeypatch.setenv("D2LKIT_DATA", str(folder))
    code, _, err = run_cli(["data", "download"], capsys)
    fix = (
        "apt-get install --reinstall dataset-fashion-mnist"
        if where == "system"
        else f"`d2lkit data download --data-dir {folder}`, or unset D2LKIT_DATA"
    )
    assert_one_line_error(
        code, err, f"{folder / 'train-images-idx3-ubyte.gz'}: not gzip but an HTML or XML page", fix
    )
    assert (folder / "train-images-idx3-ubyte.gz").read_bytes() == HTML


def test_a_data_dir_that_is_a_file_is_called_a_file(tmp_path, capsys):
    a_file = tmp_path / "fashion.zip"
    a_file.write_bytes(b"PK")
    code, _, err = run_cli(["data", "info", "--data-dir", str(a_file)], capsys)
    assert_one_line_error(code, err, "fashion.zip: not a folder (given as --data-dir)")


def test_ctrl_c_while_the_command_still_imports_is_one_line_and_exit_130(monkeypatch, capsys):
    """Importing the CLI imports torch (a second or two): a Ctrl-C then was a traceback."""
    import builtins

    from d2lkit.__main__ import entry

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "d2lkit.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert entry() == 130
    assert capsys.readouterr().err == "d2lkit: interrupted\n"


def test_show_of_a_folder_of_test_images_alone_suggests_the_test_split(
    tmp_path, capsys, monkeypatch
):
    tree = write_tree(tmp_path / "pets", ("cat", "dog"))
    shutil.rmtree(tree / "train")
    code, _, err = run_cli(["data", "show", f"imagefolder:{tree}", "--out", "x.png"], capsys)
    assert_one_line_error(code, err, "train: missing; `--split test` draws from test/ alone")
    out = tmp_path / "t.png"
    args = ["data", "show", "imagefolder:~/pets", "--split", "test", "--out", str(out)]
    monkeypatch.setenv("HOME", str(tmp_path))  # the shell leaves ~ after the colon to d2lkit
    assert run_cli(args, capsys)[0] == 0 and out.is_file()
