"""The README's "The book in d2lkit" table, and every relative link in the docs, point at things
that exist: importable APIs, registered CLI subcommands (with known model and dataset names),
guide files and headings."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
from guide_runner import GuideError, check_command, d2lkit_argv
from markdown_refs import broken_link, relative_links, section_table

from d2lkit.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TABLE_HEADING = "The book in d2lkit"
API_ROOTS = ("d2lkit", "torch", "torchvision")

# Every topic the chapter-guides issue names must have its row (matched against the first column).
REQUIRED_SECTIONS = [
    "Tensors", "Broadcasting", "Memory and in-place", "NumPy", "Devices", "Autograd",
    "`.data` vs `.detach()`", "Linear regression", "Fashion-MNIST", "Softmax regression",
    "Multilayer perceptrons", "Model selection", "Weight decay", "Dropout", "Numerical stability",
    "Models and blocks", "Parameter access", "Initialisation", "Parameter sharing", "Custom layers",
    "Saving and loading", "GPUs",
    "Convolution", "Pooling", "LeNet", "AlexNet", "VGG", "NiN", "GoogLeNet", "Batch normalisation",
    "ResNet", "DenseNet", "Gradient descent", "minibatch SGD", "Momentum", "AdaGrad", "Adam",
    "Imperative vs compiled", "Asynchronous", "Data parallelism", "Image augmentation",
    "Fine-tuning", "Semantic segmentation",
]  # fmt: skip


def table():
    return section_table(README.read_text(encoding="utf-8"), TABLE_HEADING)


def resolve_api(path: str) -> object:
    """Import the longest importable module prefix of a dotted path, then getattr the rest."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        module = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name and not module.startswith(error.name):
                raise  # the module exists but one of its own imports is missing
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(path)


def test_the_table_has_a_row_for_every_section_of_the_book():
    sections = [row.section for row in table()]
    missing = [s for s in REQUIRED_SECTIONS if not any(s.lower() in t.lower() for t in sections)]
    assert not missing, f"README table has no row for: {missing}"
    assert all(row.references and row.guide_links for row in table())


@pytest.mark.parametrize("row", table(), ids=lambda row: row.section[:40])
def test_every_reference_in_a_row_exists(row):
    parser = build_parser()
    for reference in row.references:
        words = shlex.split(reference)
        argv = d2lkit_argv(words)
        if argv is not None:
            check_command(parser, argv, f"README.md:{row.line}")
        elif reference.split(".")[0] in API_ROOTS and " " not in reference:
            try:
                resolve_api(reference)
            except (ImportError, AttributeError) as error:
                raise AssertionError(f"README.md:{row.line}: `{reference}`: {error}") from error
        else:
            raise AssertionError(
                f"README.md:{row.line}: `{reference}` is neither a d2lkit command nor an API path"
            )
    for target in row.guide_links:
        assert target.startswith("docs/"), f"README.md:{row.line}: {target} is not a guide"
        problem = broken_link(README, target)
        assert problem is None, f"README.md:{row.line}: {problem}"


@pytest.mark.parametrize(
    "document",
    [README, *sorted((ROOT / "docs").glob("*.md"))],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_relative_links_resolve(document: Path):
    problems = [
        f"{document.name}:{line}: {problem}"
        for line, target in relative_links(document.read_text(encoding="utf-8"))
        if (problem := broken_link(document, target))
    ]
    assert not problems, "\n".join(problems)


def test_every_guide_is_in_the_index():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for _, target in relative_links(index)}
    guides = {p.name for p in (ROOT / "docs").glob("*.md")} - {"README.md"}
    assert guides <= linked, f"docs/README.md does not list {sorted(guides - linked)}"
    assert "docs/README.md" in README.read_text(encoding="utf-8")


def test_a_reference_to_something_missing_fails():
    with pytest.raises(AttributeError):
        resolve_api("d2lkit.data.loader.NoSuchLoader")
    with pytest.raises(ModuleNotFoundError):
        resolve_api("nosuchpackage.thing")
    with pytest.raises(GuideError):
        check_command(build_parser(), ["no-such-command"], "README.md:1")
