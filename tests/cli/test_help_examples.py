"""Every command's --help says what it does and ends with examples that the parser accepts."""

from __future__ import annotations

import argparse
import shlex

import pytest

from d2lkit.cli import build_parser
from d2lkit.cli.help import EXAMPLES


def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                found += every_parser(subparser)
    return found


PARSERS = {parser.prog: parser for parser in every_parser(build_parser())}


def test_every_command_has_examples_and_no_example_names_a_command_that_is_gone():
    assert set(EXAMPLES) == set(PARSERS)


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_help_says_what_the_command_does_and_shows_its_examples(prog):
    text = PARSERS[prog].format_help()
    description = PARSERS[prog].description
    assert description and " ".join(description.split()[:4]) in " ".join(text.split())
    assert "%%" not in text
    listed = "\n".join(f"  {example}" for example in EXAMPLES[prog])
    assert f"Examples:\n{listed}\n" in text  # each on its own line, as typed


@pytest.mark.parametrize(
    "example", [(prog, example) for prog, examples in EXAMPLES.items() for example in examples]
)
def test_every_example_parses_as_the_command_it_illustrates(example):
    prog, line = example
    words = shlex.split(line)
    assert words[0] == "d2lkit"
    args = build_parser().parse_args(words[1:])
    # An example under a group ("d2lkit data") may show one of its actions.
    assert args.command_prog == prog or args.command_prog.startswith(f"{prog} ")
