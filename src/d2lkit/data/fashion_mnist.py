"""Fashion-MNIST: find it on disk, verify it, download it if absent (download.py), parse it.

Look-up order (DESIGN.md §3): `--data-dir`, `$D2LKIT_DATA`, `~/.cache/d2lkit/fashion-mnist`,
`/usr/share/datasets/fashion-mnist` (Debian's `dataset-fashion-mnist`). Both `.gz` and raw IDX
files are accepted; the SHA-256 checked is that of the *decompressed* bytes, because Debian
recompresses the `.gz` files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from d2lkit.data.idx import parse_idx, read_bytes
from d2lkit.errors import D2lkitError


@dataclass(frozen=True)
class IdxFile:
    stem: str  # file name without ".gz"
    sha256: str  # of the decompressed bytes
    ndim: int  # 3 for images, 1 for labels


@dataclass(frozen=True)
class IdxSource:
    """A dataset made of four IDX files, declared as data (subclasses only change data)."""

    name: str
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


# Checksums of the decompressed files, computed from Debian's dataset-fashion-mnist
# 0.0~git20200523.55506a9-1 (zalandoresearch/fashion-mnist at commit 55506a9).
FASHION_MNIST = IdxSource(
    name="fashion-mnist",
    train_images=IdxFile(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        3,
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        1,
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        3,
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        1,
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    classes=(
        "t-shirt", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ),
)  # fmt: skip

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass
class ImageSplit:
    images: torch.Tensor  # (N, H, W) uint8
    labels: torch.Tensor  # (N,) int64


@dataclass
class LoadedIdxDataset:
    train: ImageSplit
    test: ImageSplit
    classes: tuple[str, ...]
    root: Path


def cache_dir(source: IdxSource = FASHION_MNIST) -> Path:
    return Path.home() / ".cache" / "d2lkit" / source.name


def named_roots(data_dir: str | Path | None) -> list[tuple[Path, str]]:
    """The folders the user named, each with how it was named: `--data-dir`, `$D2LKIT_DATA`."""
    named = []
    if data_dir is not None:
        named.append((Path(data_dir), "--data-dir"))
    if os.environ.get("D2LKIT_DATA"):
        named.append((Path(os.environ["D2LKIT_DATA"]), "$D2LKIT_DATA"))
    return named


def search_roots(data_dir: str | Path | None, source: IdxSource = FASHION_MNIST) -> list[Path]:
    """Where the files are looked for, in order."""
    roots = [root for root, _ in named_roots(data_dir)]
    roots.append(cache_dir(source))
    if source is FASHION_MNIST:
        roots.append(SYSTEM_DIR)
    return roots


def file_path(directory: Path, file: IdxFile) -> Path | None:
    """The `.gz` or raw version of `file` inside `directory`, whichever exists."""
    for name in (file.stem + ".gz", file.stem):
        if (directory / name).is_file():
            return directory / name
    return None


def missing_files(directory: Path, source: IdxSource = FASHION_MNIST) -> list[IdxFile]:
    return [f for f in source.files if file_path(directory, f) is None]


def locate_in(root: Path, source: IdxSource = FASHION_MNIST) -> Path | None:
    """`root` or its sub-folder named after the dataset, whichever holds all the source's files."""
    for directory in (root, root / source.name):
        if not missing_files(directory, source):
            return directory
    return None


def locate(data_dir: str | Path | None = None, source: IdxSource = FASHION_MNIST) -> Path | None:
    """The first folder of the search that holds all of the source's files, or None."""
    check_data_dir(data_dir, source)
    for root in search_roots(data_dir, source):
        found = locate_in(root, source)
        if found is not None:
            return found
    return None


def read_file(directory: Path, file: IdxFile, verify: bool = True) -> torch.Tensor:
    path, data = verified_bytes(directory, file, verify)
    return parse_idx(data, path, file.ndim)


def verified_bytes(directory: Path, file: IdxFile, verify: bool = True) -> tuple[Path, bytes]:
    """The path and decompressed bytes of `file`'s copy in `directory`; one line, saying how to
    fetch it again, when it is missing, unreadable or (with `verify`) fails its SHA-256."""
    path = file_path(directory, file)
    if path is None:
        raise D2lkitError(f"{directory / file.stem}.gz: missing; run `d2lkit data download`")
    data, problem = read_copy(path, file)
    if problem is not None and (verify or data is None):
        raise D2lkitError(f"{path}: {problem}; {repair_advice(directory)}")
    return path, data


def repair_advice(directory: Path) -> str:
    """How a bad copy in `directory` is fetched again: `data download` repairs the cache, and a
    folder it is pointed at; the system copy is the package manager's."""
    if directory.is_relative_to(SYSTEM_DIR):
        return "reinstall it: sudo apt-get install --reinstall dataset-fashion-mnist"
    if directory.is_relative_to(cache_dir()):
        return "run `d2lkit data download` to fetch it again"
    return f"run `d2lkit data download --data-dir {directory}` to fetch it again"


def _split(
    images: torch.Tensor, labels: torch.Tensor, img_path: Path, lbl_path: Path
) -> ImageSplit:
    if images.shape[0] != labels.shape[0]:
        raise D2lkitError(
            f"{img_path}: holds {images.shape[0]} images but {lbl_path} holds"
            f" {labels.shape[0]} labels; the two files do not belong together"
        )
    return ImageSplit(images, labels.long())


def load(
    data_dir: str | Path | None = None,
    source: IdxSource = FASHION_MNIST,
    download: bool = True,
    verify: bool = True,
) -> LoadedIdxDataset:
    """Load the whole dataset as uint8 tensors, downloading it into the cache if it is absent."""
    from d2lkit.data.download import download_to  # download.py builds on this module

    directory = locate(data_dir, source)
    if directory is None:
        if not download:
            raise D2lkitError(missing_message(data_dir, source))
        directory = download_to(cache_dir(source), source)
    tensors = [read_file(directory, f, verify) for f in source.files]
    paths = [file_path(directory, f) for f in source.files]
    train = _split(tensors[0], tensors[1], paths[0], paths[1])
    test = _split(tensors[2], tensors[3], paths[2], paths[3])
    return LoadedIdxDataset(train, test, source.classes, directory)


def check_data_dir(data_dir: str | Path | None, source: IdxSource = FASHION_MNIST) -> None:
    """A folder the user named (`--data-dir`, `$D2LKIT_DATA`) that does not exist is a typo, and
    one that holds some of the files but not all is a mistake, not a request to look elsewhere:
    falling through to another copy would train on data the user did not point at. (An empty
    folder still falls through, as `d2lkit data download --data-dir` may fill it.)"""
    for root, how in named_roots(data_dir):
        if how == "--data-dir":
            fix = f"pass the folder that holds the {source.name} files, or leave --data-dir out"
        else:
            fix = f"point D2LKIT_DATA at the folder that holds the {source.name} files, or unset it"
        if not root.is_dir():
            what = "not a folder" if root.exists() else "no such folder"
            raise D2lkitError(
                f"{root}: {what} (given as {how}); {fix} to use the other places d2lkit looks"
            )
        if locate_in(root, source) is not None:
            return  # the search stops at this copy: a folder named after it does not matter
        for directory in (root, root / source.name):
            missing = missing_files(directory, source)
            if len(missing) < len(source.files):
                raise D2lkitError(
                    f"{directory}: holds {len(source.files) - len(missing)} of the"
                    f" {len(source.files)} {source.name} files (given as {how}), missing"
                    f" {', '.join(f.stem for f in missing)} (.gz or raw); run `d2lkit data"
                    f" download --data-dir {directory}` to fetch them, or {fix}"
                )


def missing_message(data_dir: str | Path | None, source: IdxSource = FASHION_MNIST) -> str:
    looked = ", ".join(str(d) for d in search_roots(data_dir, source))
    return (
        f"{source.name} not found (looked in {looked}); run `d2lkit data download`, install the"
        " Debian package dataset-fashion-mnist, or pass --data-dir"
    )


def read_copy(
    path: Path, file: IdxFile, compressed: bool | None = None
) -> tuple[bytes | None, str | None]:
    """The decompressed bytes of `path` (None when they cannot be had) and why they are not a
    good copy of `file`, in a few words (None when their SHA-256 verifies). Without advice, so
    that loading and downloading can each give their own."""
    try:
        data = read_bytes(path, compressed)
    except D2lkitError:
        if not os.access(path, os.R_OK):
            raise  # unreadable, not corrupt: read_bytes' message says so
        raw = path.read_bytes()[:64]
        if raw.lstrip()[:1] == b"<":  # what a captive portal or a mirror's error page sends
            return None, "not gzip but an HTML or XML page"
        return None, "truncated or corrupt gzip" if raw[:2] == b"\x1f\x8b" else "not a gzip file"
    if not data:
        return data, "empty"
    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        return data, f"SHA-256 {digest[:12]}..., expected {file.sha256[:12]}..."
    return data, None


def copy_problem(path: Path, file: IdxFile, compressed: bool | None = None) -> str | None:
    """Why `path` is not a good copy of `file`, or None when it verifies (`read_copy`)."""
    return read_copy(path, file, compressed)[1]
