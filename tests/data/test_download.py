"""Downloads with a mocked fetch: mirrors in turn, verification before the rename, no debris."""

from __future__ import annotations

import gzip
import urllib.error
from pathlib import Path

import pytest
import torch
from idx_fixtures import idx_bytes, tiny_arrays, tiny_source, write_dataset

from d2lkit.data import fashion_mnist
from d2lkit.errors import D2lkitError


class FakeMirrors:
    """A `fetch` that serves each mirror by a rule: "fail", "corrupt" or "good"."""

    def __init__(self, arrays, rules: dict[str, str]) -> None:
        self.arrays = arrays
        self.rules = rules
        self.calls: list[str] = []

    def __call__(self, url: str, dest: Path) -> None:
        self.calls.append(url)
        mirror, name = url.rsplit("/", 1)
        rule = self.rules[mirror + "/"]
        if rule == "fail":
            raise urllib.error.URLError("connection refused")
        data = idx_bytes(self.arrays[name.removesuffix(".gz")])
        if rule == "corrupt":
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        dest.write_bytes(gzip.compress(data))


MIRROR_A, MIRROR_B = "http://mirror-a.invalid/", "http://mirror-b.invalid/"


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_first_mirror_fails_second_succeeds(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    fetch = FakeMirrors(arrays, {MIRROR_A: "fail", MIRROR_B: "good"})
    directory = fashion_mnist.download_to(tmp_path / "cache", source, fetch=fetch)
    assert files_in(directory) == sorted(f.stem + ".gz" for f in source.files)
    assert fetch.calls[:2] == [
        MIRROR_A + "train-images-idx3-ubyte.gz",
        MIRROR_B + "train-images-idx3-ubyte.gz",
    ]
    assert len(fetch.calls) == 8  # both mirrors for each of the four files
    data = fashion_mnist.load(directory, source, download=False)
    assert torch.equal(data.train.images, torch.from_numpy(arrays["train-images-idx3-ubyte"]))


def test_corrupt_mirror_is_rejected_and_the_next_one_used(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    fetch = FakeMirrors(arrays, {MIRROR_A: "corrupt", MIRROR_B: "good"})
    directory = fashion_mnist.download_to(tmp_path / "cache", source, fetch=fetch)
    assert len(fetch.calls) == 8
    fashion_mnist.load(directory, source, download=False)  # verifies every file


def test_every_mirror_bad_leaves_nothing_under_the_final_name(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    fetch = FakeMirrors(arrays, {MIRROR_A: "corrupt", MIRROR_B: "fail"})
    with pytest.raises(D2lkitError) as err:
        fashion_mnist.download_to(tmp_path / "cache", source, fetch=fetch)
    message = str(err.value)
    assert str(tmp_path / "cache" / "train-images-idx3-ubyte.gz") in message
    assert "SHA-256" in message and "connection refused" in message  # why each mirror failed
    assert files_in(tmp_path / "cache") == []  # no partial or temporary file stays behind


def test_interrupted_fetch_leaves_no_file(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)

    def half_then_fail(url: str, dest: Path) -> None:
        dest.write_bytes(gzip.compress(idx_bytes(arrays["train-images-idx3-ubyte"]))[:20])
        raise ConnectionResetError("reset by peer")

    with pytest.raises(D2lkitError, match="reset by peer"):
        fashion_mnist.download_to(tmp_path / "cache", source, fetch=half_then_fail)
    assert files_in(tmp_path / "cache") == []
    assert fashion_mnist.locate(tmp_path / "cache", source) is None


def test_files_already_present_are_not_fetched_again(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    first = FakeMirrors(arrays, {MIRROR_A: "good", MIRROR_B: "good"})
    fashion_mnist.download_to(tmp_path / "cache", source, fetch=first)
    assert len(first.calls) == 4  # the first mirror served every file
    again = FakeMirrors(arrays, {MIRROR_A: "fail", MIRROR_B: "fail"})
    fashion_mnist.download_to(tmp_path / "cache", source, fetch=again)
    assert again.calls == []


@pytest.mark.parametrize("damage", ["html", "truncated", "raw-html"])
def test_a_present_file_that_does_not_verify_is_fetched_again(tmp_path, damage):
    """An HTML page or a truncated copy under a final name used to be kept as good."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    cache = write_dataset(tmp_path / "cache", arrays, gz=damage != "raw-html")
    bad = next(cache.glob("t10k-images-idx3-ubyte*"))
    good = bad.read_bytes()
    bad.write_bytes(b"<!DOCTYPE html><p>rate limited</p>" if "html" in damage else good[:-9])
    fetch = FakeMirrors(arrays, {MIRROR_A: "good", MIRROR_B: "good"})
    assert fashion_mnist.download_to(cache, source, fetch=fetch) == cache
    assert fetch.calls == [MIRROR_A + "t10k-images-idx3-ubyte.gz"]  # the three good ones stay
    assert (cache / "t10k-images-idx3-ubyte.gz").is_file()
    assert not (cache / "t10k-images-idx3-ubyte").exists()  # a bad raw copy would shadow nothing
    fashion_mnist.load(cache, source, download=False)  # verifies every file


def test_fetch_url_streams_into_the_file(tmp_path, monkeypatch):
    """The real fetch, with urlopen replaced by an in-memory response (no network)."""
    import io
    import urllib.request

    payload = b"x" * 200_000

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(payload))
    fashion_mnist.fetch_url("http://mirror.invalid/file.gz", tmp_path / "file.gz")
    assert (tmp_path / "file.gz").read_bytes() == payload


def test_ctrl_c_during_the_download_command_says_what_is_kept_and_how_to_finish(
    tmp_path, monkeypatch, capsys
):
    from d2lkit.cli import main

    def interrupted(directory, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fashion_mnist, "download_to", interrupted)
    assert main(["data", "download", "--data-dir", str(tmp_path)]) == 130
    assert capsys.readouterr().err == (
        "d2lkit: interrupted; files already verified are kept, the one in progress is not; run"
        " the same command again to finish\n"
    )
