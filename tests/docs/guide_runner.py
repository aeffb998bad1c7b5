"""Run the code in the chapter guides (docs/*.md) so that they cannot rot.

A guide's fenced ```python blocks run in order in one namespace, so a later block can use the
names an earlier one defined. A block fenced ```python no-run is only compiled (its syntax is
checked): it is meant for things that cannot run on this machine, such as several GPUs.
Shell blocks (```bash) are not run, but every `d2lkit ...` command line in them must parse with
the real command-line parser, so a renamed flag or subcommand breaks the suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

NO_RUN = "no-run"
GUIDE_MODULE = "__guide__"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
# An opening or closing fence: up to 3 spaces, then ``` or ~~~ (3 or more), then the info string.
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class GuideError(Exception):
    """A guide is broken: a block raised or does not compile, or a command does not parse."""


@dataclass(frozen=True)
class CodeBlock:
    language: str  # first word of the info string, lower-cased ("python", "bash", "")
    options: tuple[str, ...]  # the remaining words, e.g. ("no-run",)
    code: str
    line: int  # 1-based line number of the opening fence in the guide

    @property
    def is_python(self) -> bool:
        return self.language == "python"

    @property
    def runs(self) -> bool:
        return self.is_python and NO_RUN not in self.options


@dataclass(frozen=True)
class GuideRun:
    ran: int  # python blocks executed
    compiled_only: int  # no-run python blocks, compiled but not executed


def read_blocks(text: str, guide: str) -> list[CodeBlock]:
    """Every fenced code block of a Markdown text, in order."""
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        opening = FENCE.match(lines[number])
        number += 1
        if opening is None:
            continue
        fence, info = opening["fence"], opening["info"].split()
        start, body = number, []
        while number < len(lines):
            closing = FENCE.match(lines[number])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[number])
            number += 1
        else:
            raise GuideError(f"{guide}: the code block opened at line {start} is never closed")
        number += 1
        language = info[0].lower() if info else ""
        blocks.append(CodeBlock(language, tuple(info[1:]), "\n".join(body) + "\n", start))
    return blocks


def _failing_line(error: BaseException, filename: str) -> int | None:
    """The guide line where `error` was raised (the innermost frame inside the guide)."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


def _compile(block: CodeBlock, filename: str, guide: str):
    # Padding with blank lines makes tracebacks and error line numbers point into the guide.
    source = "\n" * block.line + block.code
    try:
        return compile(source, filename, "exec")
    except SyntaxError as error:
        raise GuideError(
            f"{guide}: the python block at line {block.line} does not compile"
            f" (line {error.lineno}): {error.msg}"
        ) from error


def run_guide(path: Path, guide: str | None = None) -> GuideRun:
    """Run the python blocks of one guide in order, in one namespace.

    Raises GuideError naming the guide, the block's line and the failing line.
    """
    guide = guide or path.name
    blocks = read_blocks(path.read_text(encoding="utf-8"), guide)
    # The blocks run as the body of a real (temporary) module, so what they define can be
    # pickled by reference, as it can in a script.
    module = types.ModuleType(GUIDE_MODULE)
    module.__file__ = str(path.resolve())
    previous = sys.modules.get(GUIDE_MODULE)
    sys.modules[GUIDE_MODULE] = module
    try:
        return _run_blocks(blocks, str(path.resolve()), guide, module.__dict__)
    finally:
        if previous is None:
            del sys.modules[GUIDE_MODULE]
        else:
            sys.modules[GUIDE_MODULE] = previous


def _run_blocks(blocks: list[CodeBlock], filename: str, guide: str, namespace: dict) -> GuideRun:
    ran = compiled_only = 0
    for block in blocks:
        if not block.is_python:
            continue
        code = _compile(block, filename, guide)
        if not block.runs:
            compiled_only += 1
            continue
        try:
            exec(code, namespace)
        except Exception as error:
            where = _failing_line(error, filename)
            at = f" at line {where}" if where is not None else ""
            raise GuideError(
                f"{guide}: the python block at line {block.line} failed{at}:"
                f" {type(error).__name__}: {error}"
            ) from error
        ran += 1
    return GuideRun(ran, compiled_only)


def command_lines(blocks: list[CodeBlock]) -> list[tuple[int, list[str]]]:
    """(guide line, argv after `d2lkit`) for every d2lkit command in the shell blocks."""
    commands = []
    for block in blocks:
        if block.language not in SHELL_LANGUAGES:
            continue
        # Join `\` continuations into one logical line, remembering where each one starts.
        joined: list[tuple[int, str]] = []
        pending, first = "", 0
        for offset, text in enumerate(block.code.splitlines()):
            if not pending:
                first = block.line + 1 + offset
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            joined.append((first, pending + text))
            pending = ""
        for line, text in joined:
            words = shlex.split(text, comments=True)
            if words[:1] == ["$"]:
                words = words[1:]
            while words and ENV_ASSIGNMENT.match(words[0]):  # `D2LKIT_DATA=/data d2lkit ...`
                words = words[1:]
            argv = d2lkit_argv(words)
            if argv is not None:
                commands.append((line, argv))
    return commands


def d2lkit_argv(words: list[str]) -> list[str] | None:
    """The arguments given to d2lkit by a shell command, or None when it does not run d2lkit.

    Understands `d2lkit ...`, `python -m d2lkit ...` and `torchrun [flags] -m d2lkit ...`.
    """
    if words[:1] == ["d2lkit"]:
        return words[1:]
    for position in range(len(words) - 1):
        if words[position] == "-m" and words[position + 1] == "d2lkit":
            return words[position + 2 :]
    return None


def check_command(parser: argparse.ArgumentParser, argv: list[str], where: str) -> None:
    """Parse `argv` like `d2lkit` would (no handler runs) and check the model and dataset names it
    gives; raise GuideError if argparse refuses it or a name is unknown."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(argv)
    except SystemExit as exit_:
        if exit_.code not in (0, None):  # `--help` exits 0 and is a fine thing to show
            message = errors.getvalue().strip().splitlines()
            reason = message[-1] if message else f"exit code {exit_.code}"
            raise GuideError(
                f"{where}: `d2lkit {shlex.join(argv)}` does not parse: {reason}"
            ) from None
    unknown = unknown_names(argv)
    if unknown:
        raise GuideError(f"{where}: `d2lkit {shlex.join(argv)}` names {unknown}")


def unknown_names(argv: list[str]) -> str | None:
    """A model, dataset or recipe that a parsed command names but d2lkit does not know, or None."""
    from d2lkit.data.datasets import dataset_names
    from d2lkit.models.registry import list_models

    model = None
    if argv[:1] == ["train"] and len(argv) > 1 and not argv[1].startswith("-"):
        model = argv[1]
    elif argv[:2] == ["models", "summary"] and len(argv) > 2:
        model = argv[2]
    if model is not None and model not in list_models():
        return f"the unknown model {model!r}"
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--dataset" and value.partition(":")[0] not in dataset_names():
            return f"the unknown dataset {value!r}"
        if flag == "--recipe" or (argv[:1] == ["reproduce"] and flag == "--only"):
            # Only reached once `--recipe` / `reproduce` parse, i.e. once the recipes exist.
            from d2lkit.recipes import list_recipes

            unknown = [name for name in value.split(",") if name not in list_recipes()]
            if unknown:
                return f"the unknown recipes {unknown}"
    return None
