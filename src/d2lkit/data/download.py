"""Fetching a dataset's IDX files from its mirrors into a folder: each file verified before it is
renamed into place, a stalled or dead mirror given up on, every attempt announced on stderr."""

from __future__ import annotations

import errno
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from d2lkit.data.fashion_mnist import FASHION_MNIST, IdxSource, copy_problem, file_path
from d2lkit.errors import DownloadFailed
from d2lkit.text import announce

# Fetches one URL into a file: `fetch_url`, or a test's stand-in that serves files from disk.
Fetch = Callable[[str, Path], None]


# The 30 s timeout is per socket read, so a server that trickles a byte every few seconds never
# times out: give up when a whole window brings less than the floor (the largest file, 26 MB, is
# then still at most an hour and a half away).
SLOW_FLOOR_BYTES_PER_S, SLOW_WINDOW_S = 5_000, 60


def fetch_url(url: str, dest: Path, clock: Callable[[], float] = time.monotonic) -> None:
    """Stream `url` into `dest` with a progress bar; TimeoutError when it stays too slow."""
    with urllib.request.urlopen(url, timeout=30) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        window_start, window_bytes = clock(), 0
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1]) as bar:
            while chunk := response.read1(1 << 16):  # read1: what arrived, not a full 64 KiB
                out.write(chunk)
                bar.update(len(chunk))
                window_bytes += len(chunk)
                if clock() - window_start >= SLOW_WINDOW_S:
                    if window_bytes < SLOW_FLOOR_BYTES_PER_S * SLOW_WINDOW_S:
                        raise TimeoutError(
                            f"slower than {SLOW_FLOOR_BYTES_PER_S // 1000} kB/s for"
                            f" {SLOW_WINDOW_S} s, given up"
                        )
                    window_start, window_bytes = clock(), 0


def describe_fetch_error(err: Exception) -> str:
    """A failed fetch in a few words: `HTTP 404`, `timed out`, `Connection refused`."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code}"
    if isinstance(err, urllib.error.URLError):
        if not isinstance(err.reason, Exception):
            return str(err.reason)
        err = err.reason
    if isinstance(err, http.client.IncompleteRead):
        return f"connection closed after {len(err.partial)} bytes"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def download_to(
    directory: Path, source: IdxSource = FASHION_MNIST, fetch: Fetch = fetch_url
) -> Path:
    """Download every file that `directory` lacks or whose copy does not verify, trying each
    mirror in turn, the one that delivered the last file first (a dead or stalled mirror is
    waited on once, not once per file); raise `DownloadFailed` when no mirror delivers one.

    Each file goes to a temporary file in the same folder and is renamed into place only after
    its decompressed checksum verified, so an interrupted download never looks complete. A line
    names each file, mirror and folder before connecting: a stalled mirror is not silence.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mirrors = list(source.mirrors)
    for number, file in enumerate(source.files, start=1):
        present = file_path(directory, file)
        why = present and copy_problem(present, file)
        if present is not None and why is None:
            continue
        final = directory / (file.stem + ".gz")
        failures: list[str] = []
        for mirror in list(mirrors):
            url = mirror + file.stem + ".gz"
            host = urllib.parse.urlsplit(mirror).netloc
            reason = f"{present.name}: {why}; " if why else ""
            if failures:
                reason = f"{failures[-1]}; "
            announce(f"{reason}downloading {url} into {directory} ({number}/{len(source.files)})")
            fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{file.stem}.", suffix=".part")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                fetch(url, tmp)
                # The temporary name does not end in .gz, so say that its bytes are gzip.
                problem = copy_problem(tmp, file, compressed=True)
                if problem is None:
                    os.replace(tmp, final)
                    if present is not None and present != final:
                        present.unlink()  # a bad raw copy, which the new .gz would hide
                    mirrors.remove(mirror)
                    mirrors.insert(0, mirror)
                    break
                failures.append(f"{host} sent a bad file ({problem})")
            except (OSError, urllib.error.URLError, http.client.HTTPException) as err:
                if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # the disk, not the network: the CLI says so (exit 1)
                failures.append(f"{host}: {describe_fetch_error(err)}")
            finally:
                tmp.unlink(missing_ok=True)
        else:
            raise DownloadFailed(
                f"could not download {file.stem}.gz from any mirror ({'; '.join(failures)});"
                f" check the network and try again (files already verified in {directory} are"
                " kept), or copy the four files there by hand"
            )
    return directory
