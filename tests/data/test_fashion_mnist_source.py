"""Fashion-MNIST's source on generated fixtures: verification, look-up order, missing files."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from idx_fixtures import (
    TEST_COUNT,
    TRAIN_COUNT,
    idx_bytes,
    tiny_arrays,
    tiny_source,
    write_dataset,
    write_idx,
)

from d2lkit.data import fashion_mnist
from d2lkit.errors import D2lkitError, DownloadFailed


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_load_verifies_and_returns_the_written_tensors(tmp_path, isolated_home, gz):
    arrays = tiny_arrays()
    write_dataset(tmp_path / "data", arrays, gz=gz)
    data = fashion_mnist.load(tmp_path / "data", tiny_source(arrays), download=False)
    assert data.root == tmp_path / "data"
    assert data.train.images.shape == (TRAIN_COUNT, 4, 4)
    assert data.test.images.shape == (TEST_COUNT, 4, 4)
    assert data.train.images.dtype == torch.uint8
    assert data.train.labels.dtype == torch.int64
    assert torch.equal(data.train.images, torch.from_numpy(arrays["train-images-idx3-ubyte"]))
    assert data.test.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert data.classes == ("zero", "one", "two")


def test_checksum_is_of_the_decompressed_bytes(tmp_path, isolated_home):
    """A recompressed .gz (as Debian ships) still verifies: only the content counts."""
    arrays = tiny_arrays()
    write_dataset(tmp_path / "data", arrays, gz=True)
    path = tmp_path / "data" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=7))
    data = fashion_mnist.load(tmp_path / "data", tiny_source(arrays), download=False)
    assert data.train.images.shape[0] == TRAIN_COUNT


def test_wrong_checksum_names_the_file_and_the_fix(tmp_path, isolated_home):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    other = dict(arrays, **{"t10k-images-idx3-ubyte": arrays["t10k-images-idx3-ubyte"] ^ 1})
    write_dataset(tmp_path / "data", other)  # well-formed, but not the expected content
    with pytest.raises(D2lkitError) as err:
        fashion_mnist.load(tmp_path / "data", source, download=False)
    message = str(err.value)
    assert str(tmp_path / "data" / "t10k-images-idx3-ubyte.gz") in message
    assert "SHA-256" in message
    assert source.test_images.sha256[:12] in message
    # Deleting the file left a partial --data-dir, now refused: download repairs it in place.
    assert f"d2lkit data download --data-dir {tmp_path / 'data'}` to fetch it again" in message
    # verify=False is the explicit way past the check.
    data = fashion_mnist.load(tmp_path / "data", source, download=False, verify=False)
    assert torch.equal(data.test.images, torch.from_numpy(other["t10k-images-idx3-ubyte"]))


def test_image_and_label_counts_must_agree(tmp_path, isolated_home):
    arrays = tiny_arrays()
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:-1]  # one label short
    write_dataset(tmp_path / "data", arrays)
    with pytest.raises(D2lkitError) as err:
        fashion_mnist.load(tmp_path / "data", tiny_source(arrays), download=False)
    message = str(err.value)
    assert f"{TRAIN_COUNT} images" in message and f"{TRAIN_COUNT - 1} labels" in message
    assert str(tmp_path / "data" / "train-images-idx3-ubyte") in message
    assert "train-labels-idx1-ubyte" in message


def test_images_file_with_label_layout_is_refused(tmp_path, isolated_home):
    arrays = tiny_arrays()
    wrong = dict(arrays, **{"train-images-idx3-ubyte": np.zeros(TRAIN_COUNT, np.uint8)})  # 1-d
    write_dataset(tmp_path / "data", wrong)
    with pytest.raises(D2lkitError, match="has 1 dimensions, expected 3"):
        fashion_mnist.load(tmp_path / "data", tiny_source(arrays), download=False, verify=False)


def test_missing_dataset_lists_where_it_looked(tmp_path, isolated_home):
    source = tiny_source(tiny_arrays())
    (tmp_path / "nowhere").mkdir()  # exists but holds nothing: the look-up goes on
    with pytest.raises(D2lkitError) as err:
        fashion_mnist.load(tmp_path / "nowhere", source, download=False)
    message = str(err.value)
    assert "tiny not found" in message
    assert str(tmp_path / "nowhere") in message
    assert str(isolated_home / ".cache" / "d2lkit" / "tiny") in message
    assert "d2lkit data download" in message and "--data-dir" in message


def test_a_data_dir_that_does_not_exist_is_refused_not_skipped(tmp_path, isolated_home):
    """A typo in --data-dir must not silently train on another copy found further down."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    write_dataset(isolated_home / ".cache" / "d2lkit" / "tiny", arrays)
    assert fashion_mnist.load(None, source, download=False).train.images.shape[0] > 0
    with pytest.raises(D2lkitError, match="no such folder") as err:
        fashion_mnist.load(tmp_path / "typo", source, download=False)
    assert str(tmp_path / "typo") in str(err.value) and "--data-dir" in str(err.value)


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_a_data_dir_missing_one_file_is_refused_not_skipped(tmp_path, isolated_home, nested):
    """A --data-dir with some of the files is almost surely a mistake: it used to be skipped
    silently and the run trained on another copy (here the cache's)."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    write_dataset(isolated_home / ".cache" / "d2lkit" / "tiny", arrays)
    folder = tmp_path / "data" / "tiny" if nested else tmp_path / "data"
    write_dataset(folder, arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    for call in (fashion_mnist.locate, fashion_mnist.load):
        with pytest.raises(D2lkitError) as err:
            call(tmp_path / "data", source)
        message = str(err.value)
        assert message.startswith(f"{folder}: holds 3 of the 4 tiny files (given as --data-dir)")
        assert "missing t10k-labels-idx1-ubyte (.gz or raw)" in message
        assert f"`d2lkit data download --data-dir {folder}`" in message


def test_d2lkit_data_that_does_not_exist_or_is_partial_is_refused_not_skipped(
    tmp_path, isolated_home, monkeypatch
):
    """$D2LKIT_DATA follows --data-dir's rule: a typo or a partial copy is an error naming the
    variable, not a silent fall-through to the cache; an empty folder still falls through."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    cache = write_dataset(isolated_home / ".cache" / "d2lkit" / "tiny", arrays)
    monkeypatch.setenv("D2LKIT_DATA", str(tmp_path / "typo"))
    with pytest.raises(D2lkitError) as err:
        fashion_mnist.load(None, source, download=False)
    assert str(err.value).startswith(f"{tmp_path / 'typo'}: no such folder (given as $D2LKIT_DATA)")
    assert "unset it" in str(err.value)
    (tmp_path / "typo").mkdir()
    assert fashion_mnist.locate(None, source) == cache  # empty: falls through
    write_idx(tmp_path / "typo" / "train-images-idx3-ubyte", b"", gz=True)
    with pytest.raises(
        D2lkitError, match=r"holds 1 of the 4 tiny files \(given as \$D2LKIT_DATA\)"
    ):
        fashion_mnist.locate(None, source)


def test_the_search_stops_at_the_first_full_copy_before_checking_later_folders(
    tmp_path, isolated_home, monkeypatch
):
    """A typo in $D2LKIT_DATA stopped a run given a good --data-dir, which is searched first; a
    partial folder stopped one whose fashion-mnist/ sub-folder holds every file."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    good = write_dataset(tmp_path / "good", arrays)
    monkeypatch.setenv("D2LKIT_DATA", str(tmp_path / "typo"))
    assert fashion_mnist.locate(good, source) == good
    nested = write_dataset(tmp_path / "outer" / "tiny", arrays)
    write_idx(tmp_path / "outer" / "train-images-idx3-ubyte", b"", gz=True)  # a stray file
    assert fashion_mnist.locate(tmp_path / "outer", source) == nested


def test_read_file_names_a_missing_file(tmp_path):
    source = tiny_source(tiny_arrays())
    with pytest.raises(D2lkitError, match="missing") as err:
        fashion_mnist.read_file(tmp_path, source.train_labels)
    assert str(tmp_path / "train-labels-idx1-ubyte") in str(err.value)


def test_absent_dataset_is_downloaded_into_the_cache(tmp_path, isolated_home, monkeypatch):
    """With nothing on disk, load() goes to the (here unreachable) mirrors of the cache folder."""
    source = tiny_source(tiny_arrays())

    def unreachable(url, timeout):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(DownloadFailed, match="could not download") as err:
        fashion_mnist.load(None, source)
    message = str(err.value)
    assert str(isolated_home / ".cache" / "d2lkit" / "tiny") in message
    assert "(mirror-a.invalid: no route to host; mirror-b.invalid: no route to host)" in message
    assert list((isolated_home / ".cache" / "d2lkit" / "tiny").iterdir()) == []


# -- look-up order: --data-dir, $D2LKIT_DATA, ~/.cache/d2lkit/fashion-mnist, the system folder ----


def fake_fashion_dir(directory):
    """Empty files with Fashion-MNIST's names: enough for `locate`, which checks presence only."""
    directory.mkdir(parents=True)
    for file in fashion_mnist.FASHION_MNIST.files:
        (directory / (file.stem + ".gz")).write_bytes(b"")
    return directory


def test_lookup_order(tmp_path, isolated_home, monkeypatch):
    explicit = fake_fashion_dir(tmp_path / "explicit")
    env = fake_fashion_dir(tmp_path / "env")
    cache = fake_fashion_dir(isolated_home / ".cache" / "d2lkit" / "fashion-mnist")
    system = fake_fashion_dir(fashion_mnist.SYSTEM_DIR)
    monkeypatch.setenv("D2LKIT_DATA", str(env))

    assert fashion_mnist.locate(explicit) == explicit
    assert fashion_mnist.locate(None) == env
    (tmp_path / "empty").mkdir()
    assert fashion_mnist.locate(tmp_path / "empty") == env  # an empty --data-dir falls through
    monkeypatch.delenv("D2LKIT_DATA")
    assert fashion_mnist.locate(None) == cache
    for file in cache.iterdir():
        file.unlink()
    assert fashion_mnist.locate(None) == system
    for file in system.iterdir():
        file.unlink()
    assert fashion_mnist.locate(None) is None


def test_data_dir_may_hold_a_folder_named_after_the_dataset(tmp_path, isolated_home):
    nested = fake_fashion_dir(tmp_path / "datasets" / "fashion-mnist")
    assert fashion_mnist.locate(tmp_path / "datasets") == nested


def test_raw_files_are_found_too(tmp_path, isolated_home):
    arrays = tiny_arrays()
    write_dataset(tmp_path / "data", arrays, gz=False)
    assert fashion_mnist.locate(tmp_path / "data", tiny_source(arrays)) == tmp_path / "data"
    path = fashion_mnist.file_path(tmp_path / "data", tiny_source(arrays).train_images)
    assert path.name == "train-images-idx3-ubyte"
    assert path.read_bytes() == idx_bytes(arrays["train-images-idx3-ubyte"])
