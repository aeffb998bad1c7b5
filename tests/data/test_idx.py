"""The strict IDX reader: every malformed file is a D2lkitError naming the file."""

from __future__ import annotations

import ast
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from idx_fixtures import idx_bytes, write_idx

import d2lkit.data
from d2lkit.data.idx import parse_idx, read_bytes
from d2lkit.errors import D2lkitError

IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_valid_file_parses_to_the_written_array(tmp_path, gz):
    path = write_idx(tmp_path / "images-idx3-ubyte", idx_bytes(IMAGES), gz)
    tensor = parse_idx(read_bytes(path), path, 3)
    assert tensor.dtype == torch.uint8
    assert torch.equal(tensor, torch.from_numpy(IMAGES))


def test_truncated_gz_names_the_file(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    whole = gzip.compress(idx_bytes(IMAGES))
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(D2lkitError, match="truncated") as err:
        read_bytes(path)
    assert str(path) in str(err.value)
    assert "corrupt or truncated gzip file" in str(err.value)  # advice is the caller's


def test_gz_suffix_on_non_gzip_bytes_is_an_error(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(IMAGES))
    with pytest.raises(D2lkitError, match="corrupt or truncated gzip") as err:
        read_bytes(path)
    assert str(path) in str(err.value)


def test_unreadable_path_is_an_error(tmp_path):
    with pytest.raises(D2lkitError, match="cannot read") as err:
        read_bytes(tmp_path)  # a folder, not a file
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize(
    "header",
    [b"\x01\x00\x08\x03", b"\x00\x00\x0d\x03", b"", b"\x00\x00"],
    ids=["nonzero-first-byte", "float-type", "empty", "short"],
)
def test_bad_magic(tmp_path, header):
    path = tmp_path / "x-idx3-ubyte"
    data = header + idx_bytes(IMAGES)[len(header) :] if len(header) == 4 else header
    with pytest.raises(D2lkitError, match="bad magic number") as err:
        parse_idx(data, path, 3)
    assert str(path) in str(err.value)


def test_wrong_number_of_dimensions(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    with pytest.raises(D2lkitError, match="has 3 dimensions, expected 1") as err:
        parse_idx(idx_bytes(IMAGES), path, 1)
    assert str(path) in str(err.value)


def test_header_cut_short(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    with pytest.raises(D2lkitError, match="header cut short"):
        parse_idx(idx_bytes(IMAGES)[:9], path, 3)


@pytest.mark.parametrize(
    "change", [-1, +1, -IMAGES.size], ids=["one-short", "one-extra", "no-body"]
)
def test_sizes_must_match_byte_length(tmp_path, change):
    path = tmp_path / "x-idx3-ubyte"
    data = idx_bytes(IMAGES)
    data = data[:change] if change < 0 else data + b"\x00" * change
    with pytest.raises(D2lkitError, match=r"shape \(2, 3, 4\) needs 40 bytes") as err:
        parse_idx(data, path, 3)
    assert str(path) in str(err.value)


def test_data_layer_uses_no_assert_for_checks():
    """`python -O` strips `assert`; every check in the data layer must be a real error."""
    package = Path(d2lkit.data.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert not asserts, f"{module.name} uses assert on lines {asserts}"
