"""Downloads with a mocked fetch: mirrors in turn, verification before the rename, no debris."""

from __future__ import annotations

import errno
import gzip
import http.client
import urllib.error
from pathlib import Path

import pytest
import torch
from idx_fixtures import idx_bytes, tiny_arrays, tiny_source, write_dataset

from d2lkit.data import download, fashion_mnist
from d2lkit.errors import DownloadFailed


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
    directory = download.download_to(tmp_path / "cache", source, fetch=fetch)
    assert files_in(directory) == sorted(f.stem + ".gz" for f in source.files)
    assert fetch.calls[:2] == [
        MIRROR_A + "train-images-idx3-ubyte.gz",
        MIRROR_B + "train-images-idx3-ubyte.gz",
    ]
    # The dead mirror is tried once: the other files go to the mirror that delivered.
    assert fetch.calls[2:] == [MIRROR_B + f.stem + ".gz" for f in source.files[1:]]
    data = fashion_mnist.load(directory, source, download=False)
    assert torch.equal(data.train.images, torch.from_numpy(arrays["train-images-idx3-ubyte"]))


def test_corrupt_mirror_is_rejected_and_the_next_one_used(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    fetch = FakeMirrors(arrays, {MIRROR_A: "corrupt", MIRROR_B: "good"})
    directory = download.download_to(tmp_path / "cache", source, fetch=fetch)
    assert len(fetch.calls) == 5  # the corrupt mirror once, then the good one for each file
    fashion_mnist.load(directory, source, download=False)  # verifies every file


def test_every_mirror_bad_leaves_nothing_under_the_final_name(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    fetch = FakeMirrors(arrays, {MIRROR_A: "corrupt", MIRROR_B: "fail"})
    with pytest.raises(DownloadFailed) as err:
        download.download_to(tmp_path / "cache", source, fetch=fetch)
    assert str(err.value).startswith(
        "could not download train-images-idx3-ubyte.gz from any mirror (mirror-a.invalid sent"
        " a bad file (SHA-256 "
    )
    assert "mirror-b.invalid: connection refused)" in str(err.value)  # why each mirror failed
    assert str(tmp_path / "cache") in str(err.value)
    assert files_in(tmp_path / "cache") == []  # no partial or temporary file stays behind


def test_interrupted_fetch_leaves_no_file(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)

    def half_then_fail(url: str, dest: Path) -> None:
        dest.write_bytes(gzip.compress(idx_bytes(arrays["train-images-idx3-ubyte"]))[:20])
        raise ConnectionResetError("reset by peer")

    with pytest.raises(DownloadFailed, match="reset by peer"):
        download.download_to(tmp_path / "cache", source, fetch=half_then_fail)
    assert files_in(tmp_path / "cache") == []
    assert fashion_mnist.locate(tmp_path / "cache", source) is None


def test_each_fetch_is_announced_before_connecting(tmp_path, capsys):
    """A stalled mirror was 60 s of silence, and train downloaded without saying so."""
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    serve = FakeMirrors(arrays, {MIRROR_A: "fail", MIRROR_B: "good"})
    said_before = []

    def fetch(url: str, dest: Path) -> None:
        said_before.append(capsys.readouterr().err)
        serve(url, dest)

    download.download_to(tmp_path / "cache", source, fetch=fetch)
    cache = tmp_path / "cache"
    assert said_before[:2] == [
        f"d2lkit: downloading {MIRROR_A}train-images-idx3-ubyte.gz into {cache} (1/4)\n",
        "d2lkit: mirror-a.invalid: connection refused; downloading"
        f" {MIRROR_B}train-images-idx3-ubyte.gz into {cache} (1/4)\n",
    ]


@pytest.mark.parametrize(
    "failure, summary",
    [
        (urllib.error.HTTPError("u", 404, "Not Found", {}, None), "HTTP 404"),
        (urllib.error.URLError(TimeoutError("timed out")), "timed out"),
        (http.client.IncompleteRead(b"abc", 5), "connection closed after 3 bytes"),
        ("html", "sent a bad file (not gzip but an HTML or XML page)"),
    ],
    ids=["http", "timeout", "cut-short", "html"],
)
def test_a_failed_download_is_one_short_line_with_no_stale_advice(tmp_path, failure, summary):
    """Per mirror a few words; it used to pass on advice to delete a .part file already removed
    and to run `d2lkit data download`, even to someone running it."""
    source = tiny_source(tiny_arrays())

    def fetch(url: str, dest: Path) -> None:
        if failure == "html":
            dest.write_bytes(b"<html><body>Too Many Requests</body></html>")
            return
        raise failure

    with pytest.raises(DownloadFailed) as err:
        download.download_to(tmp_path / "cache", source, fetch=fetch)
    message = str(err.value)
    assert f"(mirror-a.invalid{'' if failure == 'html' else ':'} {summary};" in message
    assert "\n" not in message and ".part" not in message and "d2lkit data download" not in message
    assert "delete" not in message


def test_a_full_disk_is_not_called_a_network_failure(tmp_path):
    source = tiny_source(tiny_arrays())

    def fetch(url: str, dest: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dest))

    with pytest.raises(OSError) as err:
        download.download_to(tmp_path / "cache", source, fetch=fetch)
    assert err.type is OSError and err.value.errno == errno.ENOSPC
    assert files_in(tmp_path / "cache") == []


def test_download_command_with_every_mirror_down_is_exit_1(tmp_path, monkeypatch, capsys):
    """The work failed (README: 1), not the input (2); the last stderr line says why."""
    import urllib.request

    from d2lkit.cli import main

    def unreachable(url, timeout):
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    assert main(["data", "download", "--data-dir", str(tmp_path / "d")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("d2lkit: downloading http://fashion-mnist.s3-website")
    assert lines[-1] == (
        "d2lkit: failed: could not download train-images-idx3-ubyte.gz from any mirror"
        " (fashion-mnist.s3-website.eu-central-1.amazonaws.com: Network is unreachable;"
        " raw.githubusercontent.com: Network is unreachable); check the network and try again"
        f" (files already verified in {tmp_path / 'd'} are kept), or copy the four files there"
        " by hand"
    )


def test_files_already_present_are_not_fetched_again(tmp_path):
    arrays = tiny_arrays()
    source = tiny_source(arrays)
    first = FakeMirrors(arrays, {MIRROR_A: "good", MIRROR_B: "good"})
    download.download_to(tmp_path / "cache", source, fetch=first)
    assert len(first.calls) == 4  # the first mirror served every file
    again = FakeMirrors(arrays, {MIRROR_A: "fail", MIRROR_B: "fail"})
    download.download_to(tmp_path / "cache", source, fetch=again)
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
    assert download.download_to(cache, source, fetch=fetch) == cache
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
    download.fetch_url("http://mirror.invalid/file.gz", tmp_path / "file.gz")
    assert (tmp_path / "file.gz").read_bytes() == payload


def test_fetch_url_gives_up_on_a_server_that_trickles(tmp_path, monkeypatch):
    """A byte every 5 s never hit the 30 s per-read timeout: the download never ended."""
    import urllib.request

    now = [0.0]

    class Trickle:
        headers = {"Content-Length": "26421880"}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read1(self, size):
            now[0] += 5.0
            return b"x"

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Trickle())
    with pytest.raises(TimeoutError, match="slower than 5 kB/s for 60 s, given up"):
        download.fetch_url("http://mirror.invalid/f.gz", tmp_path / "f", clock=lambda: now[0])
    assert now[0] == 60.0
    assert download.describe_fetch_error(TimeoutError("slower than 5 kB/s")) == (
        "slower than 5 kB/s"
    )


def test_ctrl_c_during_the_download_command_says_what_is_kept_and_how_to_finish(
    tmp_path, monkeypatch, capsys
):
    from d2lkit.cli import main

    def interrupted(directory, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(download, "download_to", interrupted)
    assert main(["data", "download", "--data-dir", str(tmp_path)]) == 130
    assert capsys.readouterr().err == (
        "d2lkit: interrupted; files already verified are kept, the one in progress is not; run"
        " the same command again to finish\n"
    )
